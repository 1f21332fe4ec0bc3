"""Revision 0002 (the partner portal's tables) on a store at 0001, the first Alembic release: opening it
adds the tables and keeps every row, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import inspect, select

from crm_bridge.store import open_store, schema
from crm_bridge.store.db import make_engine, write_transaction
from crm_bridge.store.migrate import current, head, upgrade


def test_a_store_at_0001_gets_the_portal_tables_on_open_and_keeps_its_rows(store_url: str) -> None:
    engine = make_engine(store_url)
    try:
        upgrade(engine, "0001")
        with write_transaction(engine) as conn:
            conn.execute(
                schema.audit_log.insert().values(
                    portal="p", event="kept", details={"a": 1}, at=datetime(2026, 12, 1, tzinfo=UTC)
                )
            )
        assert current(engine) == "0001" and "portal_sessions" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()

    with open_store(store_url) as store:
        assert store.migration is not None and (store.migration.before, store.migration.after) == (
            "0001",
            head(),
        )
        assert {"portal_invitations", "portal_sessions"} <= set(inspect(store.engine).get_table_names())
        with store.engine.connect() as conn:
            assert [row.event for row in conn.execute(select(schema.audit_log))] == ["kept"]
