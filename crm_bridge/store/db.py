"""Engines for the state store (SQLite file in WAL mode, in-memory SQLite, PostgreSQL) and the write
transaction every repository uses: ``BEGIN IMMEDIATE`` on SQLite so read-modify-write never deadlocks."""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.pool import QueuePool

from crm_bridge.errors import StateError
from crm_bridge.redaction import redact
from crm_bridge.security.files import create_private

BUSY_TIMEOUT_MS = 30_000  # wait this long for another process's write transaction on SQLite
_IMMEDIATE = "crm_bridge_immediate"
POOL_SIZE, POOL_OVERFLOW = 24, 40  # SQLite file: connections kept, and opened beyond them at most
# One SQLite file has one writer at a time. Threads of one process queue for it on a lock of their own:
# SQLite's busy handler would make them poll with sleeps growing to 100 ms, so under a burst of writers
# (the intake API's 50 partners beside the intake writer) a write waited far longer than the writes
# before it took. Other processes still wait in the busy handler (busy_timeout).
_WRITERS: weakref.WeakKeyDictionary[Engine, threading.RLock] = weakref.WeakKeyDictionary()


def safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable state.url>"


def make_engine(url: str) -> Engine:
    """An engine for ``url``. SQLite: WAL, busy_timeout, foreign keys; ``sqlite://`` (in memory) is one
    connection that threads take turns on. Raises StateError for an unusable URL."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StateError(f"state.url: not a database URL ({exc.__class__.__name__})") from exc
    try:
        if parsed.get_backend_name() == "sqlite":
            in_memory = parsed.database in (None, "", ":memory:")
            db = Path(str(parsed.database))
            if not in_memory and not str(db).startswith("file:") and db.parent.is_dir():
                # customers' PII and (encrypted) tokens: owner-only; SQLite gives -wal/-shm the same mode.
                # A missing folder stays an error (a typo in state.url), so only the file is created.
                create_private(db)
            return _sqlite_engine(url, in_memory=in_memory)
        return create_engine(url, pool_pre_ping=True)
    except (NoSuchModuleError, ImportError) as exc:
        raise StateError(
            f"state.url: no database driver for {parsed.drivername!r} "
            "(PostgreSQL needs `pip install crm-bridge[postgres]`)"
        ) from exc


def _sqlite_engine(url: str, *, in_memory: bool) -> Engine:
    kwargs: dict[str, Any] = {
        "connect_args": {"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        # the daemon's web threads (40) read at once: connections are kept, not opened (and set up)
        # again for each request beyond a small pool
        "pool_size": POOL_SIZE,
        "max_overflow": POOL_OVERFLOW,
    }
    if in_memory:
        # One database = one connection; a pool of exactly that connection makes threads take turns
        # (each repository call checks it out for one short transaction).
        raw = sqlite3.connect(":memory:", check_same_thread=False)
        kwargs = {"creator": lambda: raw, "poolclass": QueuePool, "pool_size": 1, "max_overflow": 0}
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's implicit BEGIN is deferred and
        # not emitted before DDL): https://docs.sqlalchemy.org/en/20/dialects/sqlite.html#pysqlite-serializable
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(_IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    _WRITERS[engine] = threading.RLock()
    return engine


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that will write: committed on exit, rolled back on error. On SQLite it takes the
    write lock up front (``BEGIN IMMEDIATE``), waiting up to the busy timeout for other writers; the
    threads of this process take turns on a lock first (see ``_WRITERS``)."""
    turn = _WRITERS.get(engine)
    if turn is None:
        with engine.connect() as conn:
            conn.execution_options(**{_IMMEDIATE: True})
            with conn.begin():
                yield conn
        return
    with turn, engine.connect() as conn:
        conn.execution_options(**{_IMMEDIATE: True})
        with conn.begin():
            yield conn


@contextmanager
def state_errors(what: str) -> Iterator[None]:
    """Turn database failures into StateError naming ``what`` failed (never the URL or the values)."""
    try:
        yield
    except StateError:
        raise
    except SQLAlchemyError as exc:
        orig = getattr(exc, "orig", None)
        reason = type(orig if orig is not None else exc).__name__
        detail = redact(str(orig if orig is not None else exc).splitlines()[0][:200])
        raise StateError(f"state store: {what} failed ({reason}: {detail})") from exc
