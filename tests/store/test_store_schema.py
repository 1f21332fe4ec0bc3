"""Opening the state store: Alembic creates the schema on an empty database, changes nothing on one at
head, adopts a database created by the release before Alembic (core 3 / engine 2, and older) keeping
its rows, refuses one written by a newer crm-bridge, and two processes starting at once both succeed;
SQLite runs in WAL mode."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime
from pathlib import Path

import pytest
import store_workers
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from legacy_store import build_legacy_store
from sqlalchemy import inspect, text

from crm_bridge.errors import StateError
from crm_bridge.store import (
    bot_schema,
    events_schema,
    lease_schema,
    lifecycle_schema,
    open_store,
    portal_schema,
    sales_schema,
    schema,
)
from crm_bridge.store.db import make_engine
from crm_bridge.store.migrate import current, head, pending

NOW_TABLES = {"kv_entries", "bindings", "sync_cursors", "leads", "deals", "partners", "outbox", "audit_log"}
AT = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def schema_differences(url: str) -> list[object]:
    """What Alembic's autogenerate would change to make the database match today's MetaData."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            declared = [
                schema.metadata,
                sales_schema.metadata,
                portal_schema.metadata,
                lifecycle_schema.metadata,
                lease_schema.metadata,
                bot_schema.metadata,
                events_schema.metadata,
            ]
            return list(compare_metadata(ctx, declared))
    finally:
        engine.dispose()


def test_an_empty_database_gets_every_table_at_the_newest_revision(store_url: str) -> None:
    store = open_store(store_url)
    try:
        assert store.migration is not None and store.migration.before is None
        assert store.migration.after == head() == current(store.engine)
        tables = set(inspect(store.engine).get_table_names())
        assert NOW_TABLES <= tables and "engine_intake_registrations" in tables
        assert "schema_version" not in tables
    finally:
        store.close()
    assert schema_differences(store_url) == []  # the revisions build exactly what the code declares


def test_opening_an_existing_database_again_changes_nothing(store_url: str) -> None:
    first = open_store(store_url)
    first.kv("ns").set("kept", {"a": 1})
    first.close()
    again = open_store(store_url)
    try:
        assert again.migration is not None and not again.migration.changed
        assert again.kv("ns").get("kept") == {"a": 1}
        assert pending(again.engine) == []
    finally:
        again.close()


def _seed_old_rows(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO kv_entries (namespace, key, value, updated_at) VALUES ('ns', 'kept', :v, :at)"),
            {"v": '{"a":1}', "at": AT},
        )
        for n in range(2):  # two open moves of one partner: possible before engine 2
            conn.execute(
                text(
                    "INSERT INTO engine_tier_pending (portal, partner_id, to_tier, reason, status, "
                    "started_at, effective_at) VALUES ('p', '101', :t, '', 'grace', :at, :at)"
                ),
                {"t": f"t{n}", "at": AT},
            )
    engine.dispose()


@pytest.mark.parametrize(("core", "engine"), [(3, 2), (1, 1), (2, 1)])
def test_a_store_of_the_release_before_alembic_is_adopted_with_its_rows(
    store_url: str, core: int, engine: int
) -> None:
    build_legacy_store(store_url, core=core, engine=engine)
    if engine == 1:
        _seed_old_rows(store_url)
    else:
        _seed_old_rows_kv_only(store_url)
    with open_store(store_url) as store:
        assert store.migration is not None
        assert store.migration.legacy == {"core": core, "engine": engine}
        assert current(store.engine) == head()
        assert "schema_version" not in inspect(store.engine).get_table_names()
        assert store.kv("ns").get("kept") == {"a": 1}
        if engine == 1:
            with store.engine.connect() as conn:
                statuses = conn.execute(text("SELECT status FROM engine_tier_pending ORDER BY id")).scalars()
                assert list(statuses) == ["cancelled", "grace"]  # the newest open move kept
    assert schema_differences(store_url) == []  # the same schema as a store created today
    with open_store(store_url) as again:
        assert again.migration is not None and not again.migration.changed


def _seed_old_rows_kv_only(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO kv_entries (namespace, key, value, updated_at) VALUES ('ns', 'kept', :v, :at)"),
            {"v": '{"a":1}', "at": AT},
        )
    engine.dispose()


def test_a_database_from_a_newer_crm_bridge_is_refused_with_advice(store_url: str) -> None:
    open_store(store_url).close()
    engine = make_engine(store_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    engine.dispose()
    with pytest.raises(StateError, match="does not know.*newer crm-bridge; upgrade crm-bridge"):
        open_store(store_url)


def test_a_pre_alembic_store_newer_than_the_last_hand_written_versions_is_refused(store_url: str) -> None:
    build_legacy_store(store_url)
    engine = make_engine(store_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE schema_version SET version = 4 WHERE component = 'core'"))
    engine.dispose()
    with pytest.raises(StateError, match="newer than this crm-bridge knows"):
        open_store(store_url)
    engine = make_engine(store_url)
    try:  # refused without a change
        assert "schema_version" in inspect(engine).get_table_names() and current(engine) is None
    finally:
        engine.dispose()


@pytest.mark.parametrize("legacy", [False, True])
def test_processes_starting_at_once_migrate_once_and_all_open(store_url: str, legacy: bool) -> None:
    if legacy:
        build_legacy_store(store_url, core=1, engine=1)
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(3) as pool:
        revisions = pool.map(store_workers.open_and_report, [store_url] * 3)
    assert revisions == [head()] * 3
    engine = make_engine(store_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    finally:
        engine.dispose()


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
