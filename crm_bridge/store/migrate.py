"""Versioned DDL: each schema component (a MetaData with a version and upgrade steps) is created on an
empty database and upgraded step by step on an older one; ``schema_version`` remembers where each is."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    insert,
    inspect,
    select,
    text,
    update,
)

from crm_bridge.errors import StateError
from crm_bridge.store import engine_schema, schema
from crm_bridge.store.db import write_transaction
from crm_bridge.store.types import UtcDateTime

_versions_metadata = MetaData()
schema_version = Table(
    "schema_version",
    _versions_metadata,
    Column("component", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("migrated_at", UtcDateTime, nullable=False),
)

Upgrade = Callable[[Connection], None]


@dataclass(frozen=True)
class Component:
    """A named group of tables. ``upgrades[n]`` turns version ``n - 1`` into ``n`` (ALTER TABLE…, data
    moves); a fresh database gets ``metadata.create_all`` at ``version`` directly, so ``metadata`` must
    always describe the latest version."""

    name: str
    metadata: MetaData
    version: int
    upgrades: Mapping[int, Upgrade] = field(default_factory=dict)


def _core_3(conn: Connection) -> None:
    """sync_cursors.resume: where a backfill that stopped midway goes on from (a store that has the
    column already, from a development build that numbered this step 2, is left as it is)."""
    if "resume" in {c["name"] for c in inspect(conn).get_columns("sync_cursors")}:
        return
    conn.execute(text("ALTER TABLE sync_cursors ADD COLUMN resume VARCHAR(200) NOT NULL DEFAULT ''"))


def _core_4(conn: Connection) -> None:
    """job_leases and replicas: daemon replicas sharing one store (``crm_bridge.store.leases``)."""
    schema.job_leases.create(conn, checkfirst=True)
    schema.replicas.create(conn, checkfirst=True)


CORE = Component(
    "core",
    schema.metadata,
    schema.CORE_VERSION,
    upgrades={2: lambda conn: schema.budget_spend.create(conn, checkfirst=True), 3: _core_3, 4: _core_4},
)


def _engine_v2(conn: Connection) -> None:
    """tier_pending: ``status`` 24 characters long (PostgreSQL refused "awaiting_approval"); open moves
    doubled by concurrent writers closed but the newest; then the unique index on open moves."""
    t = engine_schema.tier_pending
    if conn.dialect.name == "postgresql":
        conn.execute(text("ALTER TABLE engine_tier_pending ALTER COLUMN status TYPE VARCHAR(24)"))
    open_rows = conn.execute(
        select(t.c.id, t.c.portal, t.c.partner_id)
        .where(t.c.status.in_(engine_schema.TIER_OPEN))
        .order_by(t.c.id)
    ).all()
    newest = {(r.portal, r.partner_id): r.id for r in open_rows}
    stale = [r.id for r in open_rows if newest[(r.portal, r.partner_id)] != r.id]
    if stale:
        conn.execute(update(t).where(t.c.id.in_(stale)).values(status="cancelled", decided_by="migration"))
    engine_schema.tier_pending_open.create(conn)


ENGINE = Component(
    "engine", engine_schema.metadata, engine_schema.ENGINE_SCHEMA_VERSION, upgrades={2: _engine_v2}
)
DEFAULT_COMPONENTS: tuple[Component, ...] = (CORE, ENGINE)

_PG_MIGRATION_LOCK = 0x63726D62  # "crmb": one migrating process at a time on PostgreSQL


@dataclass(frozen=True, slots=True)
class Migration:
    """What ``migrate`` did to one component: ``before`` None = created from scratch."""

    component: str
    before: int | None
    after: int

    @property
    def changed(self) -> bool:
        return self.before != self.after


def migrate(engine: Engine, components: Sequence[Component] = DEFAULT_COMPONENTS) -> list[Migration]:
    """Bring every component to its version in one transaction (all or nothing). Raises StateError
    when the database was written by a newer crm-bridge or an upgrade step is missing."""
    done: list[Migration] = []
    with write_transaction(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
        _versions_metadata.create_all(conn)
        for component in components:
            done.append(_migrate_one(conn, component))
    return done


def _migrate_one(conn: Connection, component: Component) -> Migration:
    now = datetime.now(UTC)
    current = conn.execute(
        select(schema_version.c.version).where(schema_version.c.component == component.name)
    ).scalar_one_or_none()
    if current is None:
        component.metadata.create_all(conn)
        conn.execute(
            insert(schema_version).values(
                component=component.name, version=component.version, migrated_at=now
            )
        )
        return Migration(component.name, None, component.version)
    if current > component.version:
        raise StateError(
            f"the state store's {component.name} schema is version {current}, newer than this crm-bridge "
            f"knows ({component.version}): upgrade crm-bridge or point state.url at another database"
        )
    for version in range(current + 1, component.version + 1):
        step = component.upgrades.get(version)
        if step is None:
            raise StateError(f"no upgrade step of the {component.name} schema to version {version}")
        step(conn)
    if current != component.version:
        conn.execute(
            update(schema_version)
            .where(schema_version.c.component == component.name)
            .values(version=component.version, migrated_at=now)
        )
    return Migration(component.name, current, component.version)


def versions(engine: Engine) -> dict[str, int]:
    """The schema version of each component recorded in the database."""
    with engine.connect() as conn:
        rows = conn.execute(select(schema_version.c.component, schema_version.c.version)).all()
    return {name: version for name, version in rows}
