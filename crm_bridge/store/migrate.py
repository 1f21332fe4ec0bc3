"""Schema migrations of the state store with Alembic (revisions in ``crm_bridge/store/migrations``,
shipped inside the package). ``upgrade(engine)`` runs on every ``open_store`` and on
``crm-bridge db upgrade``; ``current(engine)`` is what ``crm-bridge db current`` shows.

Two processes starting at once: the whole upgrade runs in one transaction that first takes a lock --
``pg_advisory_xact_lock`` on PostgreSQL, ``BEGIN IMMEDIATE`` (the database's write lock, waited for up
to the busy timeout) on SQLite -- and reads the version only after it holds it. The second process
waits, then finds the store at head and does nothing. DDL is transactional on both databases, so a
failed upgrade leaves the store as it was.

A store from before Alembic (the hand-written ``schema_version`` table) is brought to the baseline
with that versioning's own steps and stamped (``migrations/legacy.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from crm_bridge.errors import StateError
from crm_bridge.store.db import write_transaction
from crm_bridge.store.migrations import legacy

SCRIPT_LOCATION = "crm_bridge.store:migrations"
_PG_MIGRATION_LOCK = 0x63726D62  # "crmb": one migrating process at a time on PostgreSQL


@dataclass(frozen=True, slots=True)
class Migration:
    """What ``upgrade`` did: ``before`` None = an empty database; ``legacy`` = the pre-Alembic
    component versions the store had (``{"core": 3, "engine": 2}``) when it was adopted."""

    before: str | None
    after: str
    legacy: dict[str, int] | None = None

    @property
    def changed(self) -> bool:
        return self.before != self.after or self.legacy is not None


def _config(conn: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", SCRIPT_LOCATION)
    if conn is not None:
        cfg.attributes["connection"] = conn
    return cfg


@lru_cache(maxsize=1)
def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def head() -> str:
    """The newest revision this crm-bridge knows."""
    found = _script().get_current_head()
    if found is None:
        raise AssertionError("invariant broken: the package has no migrations")
    return found


def _revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, target: str = "head") -> Migration:
    """Bring the schema to ``target`` in one locked transaction (all or nothing). Raises StateError
    when the database was written by a newer crm-bridge."""
    with write_transaction(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
        before = _revision(conn)
        adopted: dict[str, int] | None = None
        cfg = _config(conn)
        if before is None and legacy.has_legacy_versions(conn):
            adopted = legacy.bring_to_baseline(conn)
            command.stamp(cfg, legacy.BASELINE)
            before = legacy.BASELINE
        if before is not None and before not in _known():
            raise StateError(
                f"the state store's schema is at revision {before}, which this crm-bridge does not know "
                f"(its newest is {head()}): it was written by a newer crm-bridge; upgrade crm-bridge or "
                "point state.url at another database"
            )
        if before != head() or target != "head":
            command.upgrade(cfg, target)
        after = _revision(conn) or ""
    return Migration(before, after, adopted)


def _known() -> set[str]:
    return {rev.revision for rev in _script().walk_revisions()}


def current(engine: Engine) -> str | None:
    """The revision recorded in the database (None: empty or pre-Alembic)."""
    with engine.connect() as conn:
        return _revision(conn)


def pending(engine: Engine) -> list[str]:
    """Revisions ``upgrade`` would apply, oldest first (a pre-Alembic store: from the baseline)."""
    with engine.connect() as conn:
        at = _revision(conn)
        if at is None and legacy.has_legacy_versions(conn):
            at = legacy.BASELINE
    revisions = [r.revision for r in _script().iterate_revisions(head(), at)]
    return list(reversed(revisions))
