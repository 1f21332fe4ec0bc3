"""Opening the state store: schema created on an empty database, a no-op on an existing one, upgraded
step by step, refused when written by a newer crm-bridge; SQLite runs in WAL mode."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Column, Connection, Integer, MetaData, String, Table, inspect, text

from crm_bridge.errors import StateError
from crm_bridge.store import Component, open_store
from crm_bridge.store.migrate import DEFAULT_COMPONENTS, versions

NOW_TABLES = {"kv_entries", "bindings", "sync_cursors", "leads", "deals", "partners", "outbox", "audit_log"}


def test_an_empty_database_gets_every_table_and_its_version(store_url: str) -> None:
    store = open_store(store_url)
    try:
        assert all(m.before is None for m in store.migrations)
        tables = set(inspect(store.engine).get_table_names())
        assert NOW_TABLES <= tables
        assert "engine_intake_registrations" in tables
        assert versions(store.engine) == {c.name: c.version for c in DEFAULT_COMPONENTS}
    finally:
        store.close()


def test_opening_an_existing_database_again_changes_nothing(store_url: str) -> None:
    first = open_store(store_url)
    first.kv("ns").set("kept", {"a": 1})
    first.close()
    again = open_store(store_url)
    try:
        assert [m.changed for m in again.migrations] == [False] * len(DEFAULT_COMPONENTS)
        assert again.kv("ns").get("kept") == {"a": 1}
    finally:
        again.close()


def _component(version: int, upgrades: dict[int, object] | None = None) -> Component:
    md = MetaData()
    columns = [Column("id", Integer, primary_key=True), Column("name", String(20))]
    if version >= 2:
        columns.append(Column("note", String(50)))
    Table("extra_things", md, *columns)
    return Component("extra", md, version, upgrades or {})  # type: ignore[arg-type]


def _add_note(conn: Connection) -> None:
    conn.execute(text("ALTER TABLE extra_things ADD COLUMN note VARCHAR(50)"))


def test_an_older_component_is_upgraded_step_by_step_keeping_its_rows(store_url: str) -> None:
    v1 = open_store(store_url, components=[*DEFAULT_COMPONENTS, _component(1)])
    with v1.engine.begin() as conn:
        conn.execute(text("INSERT INTO extra_things (id, name) VALUES (1, 'kept')"))
    v1.close()
    v2 = open_store(store_url, components=[*DEFAULT_COMPONENTS, _component(2, {2: _add_note})])
    try:
        extra = [m for m in v2.migrations if m.component == "extra"][0]
        assert (extra.before, extra.after) == (1, 2)
        with v2.engine.connect() as conn:
            assert conn.execute(text("SELECT name, note FROM extra_things")).one() == ("kept", None)
        assert versions(v2.engine)["extra"] == 2
    finally:
        v2.close()


def test_a_missing_upgrade_step_refuses_to_open_and_leaves_the_version(store_url: str) -> None:
    open_store(store_url, components=[*DEFAULT_COMPONENTS, _component(1)]).close()
    with pytest.raises(StateError, match="no upgrade step of the extra schema to version 2"):
        open_store(store_url, components=[*DEFAULT_COMPONENTS, _component(2)])
    check = open_store(store_url)
    assert versions(check.engine)["extra"] == 1
    check.close()


def test_a_database_from_a_newer_crm_bridge_is_refused_with_advice(store_url: str) -> None:
    open_store(store_url, components=[*DEFAULT_COMPONENTS, _component(2)]).close()
    with pytest.raises(StateError, match="newer than this crm-bridge knows.*upgrade crm-bridge"):
        open_store(store_url, components=[*DEFAULT_COMPONENTS, _component(1)])


def test_sqlite_files_use_wal_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'wal.db'}")
    try:
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        store.close()


def test_an_in_memory_store_is_shared_by_its_threads() -> None:
    from concurrent.futures import ThreadPoolExecutor

    store = open_store("sqlite://")
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda i: store.kv("t").set(f"k{i}", i), range(20)))
        assert sorted(store.kv("t").keys()) == sorted(f"k{i}" for i in range(20))
    finally:
        store.close()


def test_an_unusable_url_is_a_state_error_without_the_password() -> None:
    with pytest.raises(StateError, match="state.url") as info:
        open_store("nosuchdb+driver://user:s3cret@host/db")
    assert "s3cret" not in str(info.value)


def test_an_unreachable_database_is_a_state_error_without_the_password() -> None:
    with pytest.raises(StateError) as info:
        open_store("postgresql+psycopg://user:s3cret@127.0.0.1:9/db?connect_timeout=2")
    assert "s3cret" not in str(info.value)
    assert "opening postgresql+psycopg://user:***@127.0.0.1:9/db" in str(info.value)


def test_a_directory_that_does_not_exist_is_a_state_error(tmp_path: Path) -> None:
    with pytest.raises(StateError, match="opening sqlite:///"):
        open_store(f"sqlite:///{tmp_path / 'missing' / 'state.db'}")
