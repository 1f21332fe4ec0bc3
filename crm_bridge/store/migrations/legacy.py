"""Adopting a state store created before Alembic: the hand-written versioning kept one row per schema
component in ``schema_version`` (core 1..3, engine 1..2). Such a store is brought to core 3 / engine 2
with that versioning's own steps (frozen here, as they were), stamped at Alembic revision ``0001``
(which is exactly core 3 + engine 2) and ``schema_version`` is dropped -- all in the caller's
transaction, so a failure leaves the store as it was."""

from __future__ import annotations

from sqlalchemy import Column, Connection, Float, Index, Integer, MetaData, String, Table, inspect, text

from crm_bridge.errors import StateError

BASELINE = "0001"  # the Alembic revision equal to core 3 + engine 2
LEGACY_TABLE = "schema_version"
CORE_LAST, ENGINE_LAST = 3, 2

# core 2 added this table (as it was then)
_frozen = MetaData()
_budget_spend = Table(
    "budget_spend",
    _frozen,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(200), nullable=False),
    Column("at", Float, nullable=False),
    Column("amount", Float, nullable=False),
    Index("ix_budget_spend_key_at", "key", "at"),
)


def has_legacy_versions(conn: Connection) -> bool:
    return LEGACY_TABLE in inspect(conn).get_table_names()


def legacy_versions(conn: Connection) -> dict[str, int]:
    rows = conn.execute(text(f"SELECT component, version FROM {LEGACY_TABLE}")).all()  # noqa: S608 (a constant)
    return {str(name): int(version) for name, version in rows}


def bring_to_baseline(conn: Connection) -> dict[str, int]:
    """Upgrade a pre-Alembic store to core 3 / engine 2 and drop ``schema_version``; returns the
    versions it had. Raises StateError for versions this code does not know."""
    found = legacy_versions(conn)
    core, engine = found.get("core"), found.get("engine")
    if core is None or engine is None:
        raise StateError(
            f"the state store has a {LEGACY_TABLE} table without the core and engine components "
            f"({found}): it was not written by crm-bridge; point state.url at another database"
        )
    if core > CORE_LAST or engine > ENGINE_LAST:
        raise StateError(
            f"the state store's schema (core {core}, engine {engine}) is newer than this crm-bridge "
            "knows: upgrade crm-bridge or point state.url at another database"
        )
    if core < 2:
        _budget_spend.create(conn, checkfirst=True)
    if core < 3 and "resume" not in {c["name"] for c in inspect(conn).get_columns("sync_cursors")}:
        conn.execute(text("ALTER TABLE sync_cursors ADD COLUMN resume VARCHAR(200) NOT NULL DEFAULT ''"))
    if engine < 2:
        _engine_2(conn)
    conn.execute(text(f"DROP TABLE {LEGACY_TABLE}"))
    return found


def _engine_2(conn: Connection) -> None:
    """tier_pending.status 24 long (PostgreSQL refused "awaiting_approval"); open moves doubled by
    concurrent writers closed but the newest; then the unique index on open moves."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("ALTER TABLE engine_tier_pending ALTER COLUMN status TYPE VARCHAR(24)"))
    rows = conn.execute(
        text(
            "SELECT id, portal, partner_id FROM engine_tier_pending "
            "WHERE status IN ('grace', 'awaiting_approval') ORDER BY id"
        )
    ).all()
    newest = {(r.portal, r.partner_id): r.id for r in rows}
    for r in rows:
        if newest[(r.portal, r.partner_id)] != r.id:
            conn.execute(
                text(
                    "UPDATE engine_tier_pending SET status = 'cancelled', decided_by = 'migration' "
                    "WHERE id = :id"
                ),
                {"id": r.id},
            )
    conn.execute(
        text(
            "CREATE UNIQUE INDEX ux_engine_tier_pending_open ON engine_tier_pending (portal, partner_id) "
            "WHERE status IN ('grace', 'awaiting_approval')"
        )
    )
