"""Named cross-process locks (``ports.LockProvider``), e.g. single-flight OAuth refresh.

PostgreSQL: a session advisory lock on a 64-bit hash of the name, held on a dedicated connection (a
crashed holder's session ends and frees it). SQLite: a row in ``named_locks`` with owner and expiry,
taken in ``BEGIN IMMEDIATE`` and polled; an expired row, or one whose owner process is gone (SQLite is
a local file: every holder runs on this machine), is taken over."""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, delete, select, text

from crm_bridge.errors import StateError
from crm_bridge.store.db import state_errors, write_transaction
from crm_bridge.store.schema import named_locks
from crm_bridge.store.upsert import upsert

POLL_SECONDS = 0.05


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for ``name`` (pg_advisory_lock takes a bigint)."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big", signed=True)


class SqlLockProvider:
    """Implements ``crm_bridge.ports.LockProvider``. Not re-entrant: a second ``lock(name)`` from the
    same thread while holding it waits like any other holder would. ``ttl`` (SQLite only) bounds how
    long a crashed holder's lock survives it; keep it longer than any critical section."""

    def __init__(
        self,
        engine: Engine,
        *,
        ttl: float = 600.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._engine = engine
        self._ttl = ttl
        self._clock = clock
        self._sleep = sleep

    @contextmanager
    def lock(self, name: str, timeout: float = 30.0) -> Iterator[None]:
        """Hold lock ``name`` for the ``with`` block. Raises StateError when another holder keeps it
        longer than ``timeout`` seconds."""
        if self._engine.dialect.name == "postgresql":
            with self._advisory(name, timeout):
                yield
        else:
            owner = f"{os.getpid()}:{uuid.uuid4().hex}"
            self._acquire_row(name, owner, timeout)
            try:
                yield
            finally:
                with state_errors(f"releasing lock {name}"), write_transaction(self._engine) as conn:
                    t = named_locks
                    conn.execute(delete(t).where(t.c.name == name, t.c.owner == owner))

    def _deadline_passed(self, name: str, deadline: float) -> None:
        if self._clock() >= deadline:
            raise StateError(f"lock {name!r} is held by another crm-bridge process; gave up waiting")
        self._sleep(POLL_SECONDS)

    @contextmanager
    def _advisory(self, name: str, timeout: float) -> Iterator[None]:
        key = advisory_key(name)
        deadline = self._clock() + timeout
        with state_errors(f"lock {name}"):
            conn = self._engine.connect()
        try:
            with state_errors(f"lock {name}"):
                conn.execution_options(isolation_level="AUTOCOMMIT")
                while not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar_one():
                    self._deadline_passed(name, deadline)
            try:
                yield
            finally:
                with state_errors(f"releasing lock {name}"):
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
        finally:
            conn.close()

    def _acquire_row(self, name: str, owner: str, timeout: float) -> None:
        t = named_locks
        deadline = self._clock() + timeout
        while True:
            now = self._clock()
            with state_errors(f"lock {name}"), write_transaction(self._engine) as conn:
                held = conn.execute(select(t.c.owner, t.c.expires).where(t.c.name == name)).first()
                if held is None or held.expires <= now or not _alive(held.owner):
                    row = {"name": name, "owner": owner, "expires": now + self._ttl}
                    conn.execute(upsert(conn, t, ["name"]), [row])
                    return
            self._deadline_passed(name, deadline)


def _alive(owner: str) -> bool:
    """Whether the process that took a SQLite lock (owner ``<pid>:<token>``) still runs."""
    pid_text = owner.split(":", 1)[0]
    if ":" not in owner or not pid_text.isdigit():
        return True  # an owner from an older crm-bridge: trust the expiry
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by another user
    return True
