"""Job leases for daemon replicas on one store: each scheduled job is held by one replica at a time, by
a row in ``job_leases`` with a holder and an expiry; a replica that stops renewing (killed, cut off) loses
its jobs when the expiry passes and another replica takes them.

Why a lease row (claimed with ``SELECT … FOR UPDATE SKIP LOCKED``) rather than advisory locks: the row
says *who* holds a job and until when, which ``crm-bridge status`` shows; it needs no connection pinned
for the life of the process (an advisory lock is freed when its session ends, so every replica would hold
one idle connection per job, and a pooled connection recycled by ``pool_pre_ping`` would drop it
silently); and the same code runs on SQLite. Expiries are in the database's clock on PostgreSQL, so
replicas on hosts with skewed clocks agree on when a lease ran out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, or_, select, text, update

from crm_bridge.store.db import state_errors, write_transaction
from crm_bridge.store.lease_schema import job_leases, replicas
from crm_bridge.store.upsert import insert_missing, upsert

ERROR_CHARS = 500  # a job's last error kept with its lease (already redacted by the runner)


@dataclass(frozen=True, slots=True)
class Lease:
    """One job's row: who holds it until when, and its last run (Unix seconds)."""

    job: str
    holder: str
    expires: float
    acquired: float
    last_holder: str
    last_started: float | None
    last_finished: float | None
    last_ok: bool | None
    last_error: str | None
    runs: int

    def held_at(self, now: float) -> bool:
        return bool(self.holder) and self.expires > now


@dataclass(frozen=True, slots=True)
class Replica:
    id: str
    host: str
    pid: int
    started: float
    seen: float
    stopped: float | None


class LeaseRepository:
    """The ``job_leases`` and ``replicas`` tables of one portal. ``clock``: Unix seconds; None = the
    database's clock (PostgreSQL ``clock_timestamp()``; the host's on SQLite, one host by definition)."""

    def __init__(self, engine: Engine, portal: str, *, clock: Callable[[], float] | None = None) -> None:
        self._engine = engine
        self.portal = portal
        self._clock = clock

    def now(self, conn: Connection | None = None) -> float:
        """The time leases are measured in (see the class docstring)."""
        if self._clock is not None:
            return self._clock()
        if self._engine.dialect.name != "postgresql":
            import time

            return time.time()
        if conn is not None:
            return float(conn.execute(text("SELECT EXTRACT(EPOCH FROM clock_timestamp())")).scalar_one())
        with state_errors("reading the database clock"), self._engine.connect() as own:
            return self.now(own)

    def claim(self, replica: str, jobs: Sequence[str], *, ttl: float) -> tuple[set[str], float]:
        """Renew the leases ``replica`` holds among ``jobs`` and take the free or expired ones, each until
        now + ``ttl``; a lease another replica is claiming at this moment (its row locked) is skipped.
        Returns (the jobs held now, the time the claim was made at). Also the replica's heartbeat."""
        t = job_leases
        held: set[str] = set()
        with state_errors("claiming job leases"), write_transaction(self._engine) as conn:
            now = self.now(conn)
            conn.execute(
                insert_missing(conn, t, ["portal", "job"]),
                [{"portal": self.portal, "job": job, "holder": "", "expires": 0.0} for job in jobs],
            )
            rows = conn.execute(
                select(t.c.job, t.c.holder, t.c.expires)
                .where(t.c.portal == self.portal, t.c.job.in_(list(jobs)))
                .order_by(t.c.job)
                .with_for_update(skip_locked=True)
            ).all()
            for job, holder, expires in rows:
                if holder != replica and holder and expires > now:
                    continue
                values: dict[str, Any] = {"holder": replica, "expires": now + ttl}
                if holder != replica:
                    values["acquired"] = now
                conn.execute(update(t).where(t.c.portal == self.portal, t.c.job == job).values(**values))
                held.add(job)
            conn.execute(update(replicas).where(replicas.c.id == replica).values(seen=now, stopped=None))
        return held, now

    def release(self, replica: str, jobs: Sequence[str] | None = None) -> None:
        """Give up ``replica``'s leases (all when ``jobs`` is None) so another replica takes them at once."""
        t = job_leases
        where = and_(t.c.portal == self.portal, t.c.holder == replica)
        if jobs is not None:
            where = and_(where, t.c.job.in_(list(jobs)))
        with state_errors("releasing job leases"), write_transaction(self._engine) as conn:
            conn.execute(update(t).where(where).values(holder="", expires=0.0))

    def release_all(self) -> None:
        """Free every lease of the portal (the one daemon of a SQLite file starting: any holder is dead)."""
        t = job_leases
        with state_errors("releasing job leases"), write_transaction(self._engine) as conn:
            conn.execute(update(t).where(t.c.portal == self.portal).values(holder="", expires=0.0))

    def started(self, replica: str, job: str) -> None:
        with state_errors(f"recording the start of job {job}"), write_transaction(self._engine) as conn:
            conn.execute(
                update(job_leases)
                .where(job_leases.c.portal == self.portal, job_leases.c.job == job)
                .values(last_started=self.now(conn), last_holder=replica, runs=job_leases.c.runs + 1)
            )

    def finished(self, replica: str, job: str, ok: bool, error: str | None) -> None:
        text_ = None if error is None else error[:ERROR_CHARS]
        with state_errors(f"recording the end of job {job}"), write_transaction(self._engine) as conn:
            conn.execute(
                update(job_leases)
                .where(job_leases.c.portal == self.portal, job_leases.c.job == job)
                .values(last_finished=self.now(conn), last_holder=replica, last_ok=ok, last_error=text_)
            )

    def leases(self) -> list[Lease]:
        t = job_leases
        with state_errors("reading job leases"), self._engine.connect() as conn:
            rows = conn.execute(select(t).where(t.c.portal == self.portal).order_by(t.c.job)).all()
        return [
            Lease(
                r.job,
                r.holder,
                r.expires,
                r.acquired,
                r.last_holder,
                r.last_started,
                r.last_finished,
                r.last_ok,
                r.last_error,
                r.runs,
            )
            for r in rows
        ]

    # replicas
    def register(self, replica: str, host: str, pid: int) -> None:
        """Record a starting replica (and forget replicas of this portal not seen for a day)."""
        r = replicas
        with state_errors("registering the replica"), write_transaction(self._engine) as conn:
            now = self.now(conn)
            conn.execute(
                delete(r).where(r.c.portal == self.portal, or_(r.c.seen < now - 86_400, r.c.id == replica))
            )
            row = {
                "id": replica,
                "portal": self.portal,
                "host": host,
                "pid": pid,
                "started": now,
                "seen": now,
            }
            conn.execute(upsert(conn, r, ["id"]), [{**row, "stopped": None}])

    def unregister(self, replica: str) -> None:
        with state_errors("recording the replica's stop"), write_transaction(self._engine) as conn:
            conn.execute(update(replicas).where(replicas.c.id == replica).values(stopped=self.now(conn)))

    def replicas(self) -> list[Replica]:
        r = replicas
        with state_errors("reading replicas"), self._engine.connect() as conn:
            rows = conn.execute(select(r).where(r.c.portal == self.portal).order_by(r.c.started)).all()
        return [Replica(x.id, x.host, x.pid, x.started, x.seen, x.stopped) for x in rows]
