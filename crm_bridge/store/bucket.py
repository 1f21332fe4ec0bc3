"""Request budgets shared by every process on one state store (``ports.BucketStore``): each ``take`` /
``take_all`` is an atomic read-modify-write (row locks on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite);
and the ``ports.SpendLedger`` of amounts spent in sliding windows (a CRM's server time per method)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence

from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from crm_bridge.budgets import Bucket, admit
from crm_bridge.store.db import state_errors, write_transaction
from crm_bridge.store.schema import budget_spend, rate_buckets
from crm_bridge.store.upsert import insert_missing


def leak(level: float, updated: float, now: float, drain_per_second: float) -> float:
    """The bucket's level at ``now`` after draining since ``updated`` (a clock going backwards
    drains nothing)."""
    return Bucket("", 1.0, drain_per_second).current(level, updated, now)[0]


def _locked_rows(conn: Connection, keys: Sequence[str]) -> dict[str, tuple[float, float]]:
    """``(level, updated)`` of each bucket in ``keys`` (sorted), a row made for a new one, the rows
    locked in key order (so concurrent callers never deadlock) until the transaction ends."""
    t = rate_buckets
    conn.execute(insert_missing(conn, t, ["key"]), [{"key": k, "level": 0.0, "updated": 0.0} for k in keys])
    rows = conn.execute(
        select(t.c.key, t.c.level, t.c.updated).where(t.c.key.in_(keys)).order_by(t.c.key).with_for_update()
    ).all()
    return {str(key): (float(level), float(updated)) for key, level, updated in rows}


class SqlBucketStore:
    """Implements ``crm_bridge.ports.BucketStore`` on the ``rate_buckets`` table."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def take(self, key: str, *, capacity: float, drain_per_second: float, now: float) -> float:
        """Add one request to bucket ``key`` if it fits and return 0.0; otherwise change nothing and
        return the seconds to wait. ``now`` is Unix time from the caller's clock."""
        return self.take_all([Bucket(key, capacity, drain_per_second)], now)

    # RateLimiter hands ``clock`` to a store that reads the time once it holds the rows' lock
    reads_clock_under_lock = True

    def take_all(
        self, buckets: Sequence[Bucket], now: float, *, clock: Callable[[], float] | None = None
    ) -> float:
        """One request into every bucket if it fits in all (0.0), else nothing and the longest wait.
        Rows are locked in key order, so concurrent callers never deadlock. ``clock``: the time is
        read again once the rows are locked, so a caller that waited for another process's
        transaction is not granted at the (earlier) time it asked — that would let two requests
        leave closer together than the bucket allows."""
        if not buckets:
            return 0.0
        t = rate_buckets
        ordered = sorted({b.key: b for b in buckets}.values(), key=lambda b: b.key)
        keys = [b.key for b in ordered]
        with state_errors(f"rate buckets {', '.join(keys)}"), write_transaction(self._engine) as conn:
            stored = _locked_rows(conn, keys)
            if clock is not None:
                now = max(now, clock())
            # rolling windows: the times of the recent requests in the ledger table, read under the
            # lock of the bucket's row (so two processes never both take the last place)
            s = budget_spend
            logs = {
                b.key: list(
                    conn.execute(
                        select(s.c.at).where(s.c.key == b.key, s.c.at > now - b.window).order_by(s.c.at)
                    ).scalars()
                )
                for b in ordered
                if b.rolling
            }
            wait, admitted = admit(ordered, stored, now, logs)
            if wait == 0.0:
                for key, (level, updated) in sorted(admitted.items()):
                    conn.execute(update(t).where(t.c.key == key).values(level=level, updated=updated))
                for b in ordered:
                    if b.rolling:
                        conn.execute(delete(s).where(s.c.key == b.key, s.c.at <= now - b.window))
                        conn.execute(insert(s).values(key=b.key, at=now, amount=1.0))
        return wait

    def take_each(self, buckets: Sequence[Bucket], now: float) -> list[float]:
        """One request into each of ``buckets`` in turn (a key may come again), each only if it fits:
        0.0 for a request taken, else the seconds until it would fit. One transaction for them all
        (requests that arrived together are counted with one commit)."""
        if not buckets:
            return []
        t = rate_buckets
        keys = sorted({b.key for b in buckets})
        waits: list[float] = []
        with state_errors(f"rate buckets ({len(keys)})"), write_transaction(self._engine) as conn:
            stored = _locked_rows(conn, keys)
            states = dict(stored)
            for b in buckets:
                wait, admitted = admit([b], states, now)
                states.update(admitted)
                waits.append(wait)
            for key, state in states.items():
                if state != stored[key]:
                    conn.execute(update(t).where(t.c.key == key).values(level=state[0], updated=state[1]))
        return waits

    def levels(self, keys: Sequence[tuple[str, float]], *, now: float) -> list[float]:
        """``level`` of each (key, drain per second), in one read."""
        t = rate_buckets
        with state_errors("rate buckets"), self._engine.connect() as conn:
            rows = conn.execute(
                select(t.c.key, t.c.level, t.c.updated).where(t.c.key.in_([k for k, _ in keys]))
            ).all()
        stored = {str(key): (float(level), float(updated)) for key, level, updated in rows}
        return [leak(*stored[key], now, drain) if key in stored else 0.0 for key, drain in keys]

    def level(self, key: str, *, drain_per_second: float, now: float) -> float:
        """How full bucket ``key`` is at ``now`` (0 when never used)."""
        t = rate_buckets
        with state_errors(f"rate bucket {key}"), self._engine.connect() as conn:
            row = conn.execute(select(t.c.level, t.c.updated).where(t.c.key == key)).first()
        return 0.0 if row is None else leak(row[0], row[1], now, drain_per_second)


class SqlSpendLedger:
    """Implements ``crm_bridge.ports.SpendLedger`` on the ``budget_spend`` table."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def spend(self, entries: Sequence[tuple[str, float, float]], *, forget_before: float) -> None:
        if not entries:
            return
        t = budget_spend
        keys = sorted({key for key, _, _ in entries})
        with state_errors("recording spent budget"), write_transaction(self._engine) as conn:
            conn.execute(delete(t).where(t.c.key.in_(keys), t.c.at < forget_before))
            conn.execute(insert(t), [{"key": k, "at": at, "amount": amount} for k, at, amount in entries])

    def spent(self, keys: Sequence[str], *, since: float) -> dict[str, list[tuple[float, float]]]:
        found: dict[str, list[tuple[float, float]]] = defaultdict(list)
        if not keys:
            return found
        t = budget_spend
        query = (
            select(t.c.key, t.c.at, t.c.amount)
            .where(t.c.key.in_(sorted(set(keys))), t.c.at > since)
            .order_by(t.c.id)
        )
        with state_errors("reading spent budget"), self._engine.connect() as conn:
            for key, at, amount in conn.execute(query):
                found[key].append((at, amount))
        return dict(found)

    def totals(self, keys: Sequence[str], *, since: float) -> dict[str, float]:
        if not keys:
            return {}
        t = budget_spend
        query = (
            select(t.c.key, func.sum(t.c.amount))
            .where(t.c.key.in_(sorted(set(keys))), t.c.at > since)
            .group_by(t.c.key)
        )
        with state_errors("reading spent budget"), self._engine.connect() as conn:
            return {key: float(total) for key, total in conn.execute(query)}
