"""This daemon as one replica among several on one store: a keeper thread that claims and renews the
job leases (``crm_bridge.store.leases``) so each scheduled job runs on one replica at a time, and on
SQLite a guard that refuses a second daemon on the same file (SQLite is the single-process store)."""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

from crm_bridge.errors import ConfigError, StateError
from crm_bridge.security.files import create_private
from crm_bridge.store.leases import LeaseRepository

log = logging.getLogger("crm_bridge.daemon.replica")

DEFAULT_LEASE = 30.0  # seconds: a dead replica's jobs move to another one within this time
# A lease is written for TTL_SHARE of the lease period and renewed every RENEW_SHARE of it, so a renewal
# can fail three times in a row without losing the job, and a dead holder's job is taken within
# TTL_SHARE + RENEW_SHARE (5/6) of the period.
TTL_SHARE = 2 / 3
RENEW_SHARE = 1 / 6


def replica_id() -> str:
    """``<host>:<pid>:<random>``: readable in ``crm-bridge status``, unique across restarts."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class JobLeases:
    """The jobs this replica holds. ``holds(job)`` is answered from memory: True until the local
    deadline of the last successful claim, which ends before the database expiry another replica waits
    for, so two replicas never both believe they hold a job. ``on_acquired(job)`` is called when a job
    moves to this replica (from the keeper thread)."""

    def __init__(
        self,
        repo: LeaseRepository,
        jobs: Sequence[str],
        *,
        lease: float = DEFAULT_LEASE,
        replica: str | None = None,
        guard: SqliteDaemonGuard | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.repo = repo
        self.jobs = list(jobs)
        self.lease = lease
        self.id = replica or replica_id()
        self.guard = guard
        self.on_acquired: Callable[[str], None] = lambda job: None
        self._monotonic = monotonic
        self._held: dict[str, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def ttl(self) -> float:
        return self.lease * TTL_SHARE

    def start(self) -> None:
        """Register, make the first claim (before any job is scheduled), then keep renewing."""
        self.repo.register(self.id, socket.gethostname(), os.getpid())
        if self.guard is not None:  # the only daemon on this SQLite file: a killed one's leases are void
            self.repo.release_all()
        self.tick(notify=False)
        self._thread = threading.Thread(target=self._keep, name="crm-bridge-leases", daemon=True)
        self._thread.start()
        log.info("replica %s holds: %s", self.id, ", ".join(self.held()) or "no job yet")

    def _keep(self) -> None:
        while not self._stop.wait(self.lease * RENEW_SHARE):
            self.tick()

    def tick(self, *, notify: bool = True) -> None:
        """One claim: renew what this replica holds, take what is free or expired."""
        began = self._monotonic()
        try:
            held, _ = self.repo.claim(self.id, self.jobs, ttl=self.ttl)
        except StateError as exc:  # the jobs held so far run out at their local deadline
            log.warning("replica %s could not renew its job leases: %s", self.id, exc)
            return
        deadline = began + self.ttl
        with self._lock:
            before = {job for job, until in self._held.items() if until > began}
            self._held = {job: deadline for job in held}
        for job in sorted(before - held):
            log.warning("replica %s lost job %s to another replica", self.id, job)
        for job in sorted(held - before):
            log.info("replica %s took job %s", self.id, job)
            if notify:
                self.on_acquired(job)

    def holds(self, job: str) -> bool:
        with self._lock:
            return self._held.get(job, 0.0) > self._monotonic()

    def held(self) -> list[str]:
        return [job for job in self.jobs if self.holds(job)]

    def run_started(self, job: str) -> None:
        self._record(lambda: self.repo.started(self.id, job))

    def run_finished(self, job: str, ok: bool, error: str | None) -> None:
        self._record(lambda: self.repo.finished(self.id, job, ok, error))

    def _record(self, write: Callable[[], None]) -> None:
        try:
            write()
        except StateError as exc:  # the job's own outcome matters more than its bookkeeping
            log.warning("replica %s could not record a job run: %s", self.id, exc)

    def stop(self) -> None:
        """Stop renewing and hand the leases back, so another replica takes the jobs at once."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        with self._lock:
            self._held = {}
        try:
            self.repo.release(self.id)
            self.repo.unregister(self.id)
        except StateError as exc:
            log.warning(
                "replica %s could not hand its leases back (they expire on their own): %s", self.id, exc
            )
        if self.guard is not None:
            self.guard.release()


class SqliteDaemonGuard:
    """An exclusive ``flock`` on ``<state file>.daemon.lock``, held for the daemon's life; the kernel
    frees it when the process ends however it ends (SIGKILL included), so a restart is never refused
    by a dead daemon's leftovers."""

    def __init__(self, database: Path) -> None:
        self.database = database
        self.path = database.with_name(database.name + ".daemon.lock")
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        """Raises ConfigError (exit 2) naming the running daemon when another one holds the file."""
        import fcntl

        create_private(self.path)
        handle = self.path.open("r+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            other = handle.read().strip() or "unknown"
            handle.close()
            raise ConfigError(
                f"state.url: another crm-bridge daemon ({other}) already runs on {self.database}; "
                "a SQLite state file serves one daemon — stop that one, or set state.url to PostgreSQL "
                "to run several replicas"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing the descriptor drops the flock
            self._file = None


def job_leases(
    engine_url_database: str | None,
    dialect: str,
    repo: LeaseRepository,
    jobs: Sequence[str],
    *,
    lease: float,
) -> JobLeases:
    """The leases of a daemon about to start; on a SQLite file, the single-daemon guard taken first
    (raises ConfigError when another daemon runs on it)."""
    guard = None
    if dialect == "sqlite" and engine_url_database not in (None, "", ":memory:"):
        guard = SqliteDaemonGuard(Path(str(engine_url_database)).resolve())
        guard.acquire()
    return JobLeases(repo, jobs, lease=lease, guard=guard)
