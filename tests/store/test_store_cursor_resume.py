"""Sync cursors keep an unfinished backfill's ``resume`` position (core schema 2); a store written by
core schema 1 is upgraded in place, its cursors kept."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from crm_bridge.ports import Entity, RecordPage, SyncCursor
from crm_bridge.store import open_store
from crm_bridge.store.migrate import versions

PORTAL = "bitrix24:example"
AT = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def test_a_resume_position_is_stored_with_the_cursor_and_cleared_by_the_finished_one(store_url: str) -> None:
    with open_store(store_url) as store:
        store.save_page(PORTAL, RecordPage(Entity.LEAD, (), SyncCursor(AT, "", resume="5050")))
        assert store.get_cursor(PORTAL, Entity.LEAD) == SyncCursor(AT, "", "5050")
        store.save_page(PORTAL, RecordPage(Entity.LEAD, (), SyncCursor(AT)))
        assert store.get_cursor(PORTAL, Entity.LEAD) == SyncCursor(AT, "", "")


def test_a_store_of_core_schema_1_gets_the_resume_column_and_keeps_its_cursors(store_url: str) -> None:
    with open_store(store_url) as store, store.engine.begin() as conn:  # rewind to schema 1
        conn.execute(text("ALTER TABLE sync_cursors DROP COLUMN resume"))
        conn.execute(text("UPDATE schema_version SET version = 1 WHERE component = 'core'"))
        conn.execute(
            text(
                "INSERT INTO sync_cursors (portal, entity, modified_at, last_id) "
                "VALUES (:p, 'lead', :at, '37')"
            ),
            {"p": PORTAL, "at": AT.replace(tzinfo=None) if "sqlite" in store_url else AT},
        )

    with open_store(store_url) as store:
        core = next(m for m in store.migrations if m.component == "core")
        assert (core.before, core.after) == (1, 4) and versions(store.engine)["core"] == 4
        kept = store.get_cursor(PORTAL, Entity.LEAD)
        assert kept is not None and (kept.last_id, kept.resume) == ("37", "")
