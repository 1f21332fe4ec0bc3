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

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from crm_bridge.errors import StateError
from crm_bridge.store.db import write_transaction
from crm_bridge.store.migrations import legacy

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

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


_VERSIONS = Path(__file__).parent / "migrations" / "versions"
_REVISION = re.compile(r'^(down_revision|revision)(?:: [^=]+)? = (?:"([^"]+)"|None)', re.MULTILINE)


@lru_cache(maxsize=1)
def _head_of_files() -> str | None:
    """The head revision read from the revision files' ``revision``/``down_revision`` lines, without
    Alembic (whose import and script parsing cost every command a second on a loaded machine); None
    when the files do not say it plainly (then Alembic decides)."""
    revisions: set[str] = set()
    downs: set[str] = set()
    for path in _VERSIONS.glob("*.py"):
        for name, value in _REVISION.findall(path.read_text(encoding="utf-8")):
            if value:
                (revisions if name == "revision" else downs).add(value)
    heads = revisions - downs
    return next(iter(heads)) if len(heads) == 1 else None


def _at_head(engine: Engine) -> str | None:
    """The head when the store is already at it (read without a lock: a store at head stays there
    until a newer crm-bridge upgrades it), else None."""
    head_rev = _head_of_files()
    if head_rev is None:
        return None
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).all()
    except SQLAlchemyError:  # no version table yet: a new or pre-Alembic store
        return None
    return head_rev if [r[0] for r in rows] == [head_rev] else None


def _config(conn: Connection | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", SCRIPT_LOCATION)
    if conn is not None:
        cfg.attributes["connection"] = conn
    return cfg


@lru_cache(maxsize=1)
def _script() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config())


def head() -> str:
    """The newest revision this crm-bridge knows."""
    found = _script().get_current_head()
    if found is None:
        raise AssertionError("invariant broken: the package has no migrations")
    return found


def _revision(conn: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, target: str = "head") -> Migration:
    """Bring the schema to ``target`` in one locked transaction (all or nothing). Raises StateError
    when the database was written by a newer crm-bridge."""
    if target == "head" and (at := _at_head(engine)) is not None:
        return Migration(at, at)  # nothing to do: no lock, no Alembic
    from alembic import command

    with write_transaction(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
        before = _revision(conn)
        adopted: dict[str, int] | None = None
        if before is None and legacy.has_legacy_versions(conn):
            adopted = legacy.bring_to_baseline(conn)
            command.stamp(_config(conn), legacy.BASELINE)
            before = legacy.BASELINE
        if before is not None and before not in _known():
            raise StateError(
                f"the state store's schema is at revision {before}, which this crm-bridge does not know "
                f"(its newest is {head()}): it was written by a newer crm-bridge; upgrade crm-bridge or "
                "point state.url at another database"
            )
        if before != head() or target != "head":
            command.upgrade(_config(conn), target)
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
