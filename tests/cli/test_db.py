"""``crm-bridge db current`` / ``db upgrade``: the store's revision and what is pending; an empty store
created, a store of the release before Alembic adopted with its rows, a second upgrade a no-op; on
SQLite and PostgreSQL (``store_url``)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from crm_bridge.cli import main
from crm_bridge.store.db import make_engine
from crm_bridge.store.migrate import current, head

sys.path.insert(0, str(Path(__file__).parents[1] / "store"))
from legacy_store import build_legacy_store  # noqa: E402  (test equipment beside the store tests)

CONFIG = """
crm:
  kind: bitrix24
  bitrix24:
    webhook_url: ${B24_WEBHOOK_URL}
state:
  url: ${CRM_BRIDGE_STATE_URL}
"""


@pytest.fixture
def config(write_config: Callable[..., Path], store_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("B24_WEBHOOK_URL", "https://example.bitrix24.ru/rest/1/secret/")
    monkeypatch.setenv("CRM_BRIDGE_STATE_URL", store_url)
    return write_config(CONFIG)


def db(config: Path, verb: str) -> int:
    return main(["--config", str(config), "db", verb])


def test_an_empty_store_is_created_by_db_upgrade_and_then_up_to_date(
    config: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert db(config, "current") == 0
    before = capsys.readouterr().out
    assert "revision:   none (empty)" in before and f"{head()} (applied by `crm-bridge db upgrade`" in before
    assert db(config, "upgrade") == 0
    assert f"upgraded from empty to {head()}" in capsys.readouterr().out
    assert db(config, "upgrade") == 0
    assert "nothing to do" in capsys.readouterr().out
    assert db(config, "current") == 0
    assert "pending:    none: the store is up to date" in capsys.readouterr().out


def test_db_upgrade_adopts_a_store_of_the_release_before_alembic(
    config: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    build_legacy_store(store_url, core=2, engine=1)
    engine = make_engine(store_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO rate_buckets (key, level, updated) VALUES ('kept', 1.5, 2.0)"))
    engine.dispose()

    assert db(config, "current") == 0
    assert "none (created before Alembic: core 2, engine 1)" in capsys.readouterr().out
    assert db(config, "upgrade") == 0
    assert f"adopted a store created before Alembic (core 2, engine 1) at revision {head()}" in (
        capsys.readouterr().out
    )

    engine = make_engine(store_url)
    try:
        assert current(engine) == head()
        assert "schema_version" not in inspect(engine).get_table_names()
        with engine.connect() as conn:
            assert conn.execute(text("SELECT level FROM rate_buckets WHERE key = 'kept'")).scalar() == 1.5
    finally:
        engine.dispose()


def test_an_unreachable_store_is_exit_1_with_the_reason(
    write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("B24_WEBHOOK_URL", "https://example.bitrix24.ru/rest/1/secret/")
    monkeypatch.setenv(
        "CRM_BRIDGE_STATE_URL", "postgresql+psycopg://u:s3cret@127.0.0.1:9/x?connect_timeout=2"
    )
    assert db(write_config(CONFIG), "upgrade") == 1
    err = capsys.readouterr().err
    assert "upgrading postgresql+psycopg://u:***@127.0.0.1:9/x" in err and "s3cret" not in err
