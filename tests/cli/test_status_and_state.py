"""``crm-bridge status`` (replicas, job holders, last runs, cursor lag, outbox depth, rate budget) and
``crm-bridge state backup`` / ``state restore`` on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crm_bridge.bootstrap import portal_id
from crm_bridge.cli import main
from crm_bridge.config import load_settings
from crm_bridge.daemon.replica import SqliteDaemonGuard
from crm_bridge.ports import Bucket, Entity, RecordPage, SyncCursor
from crm_bridge.store import open_store
from crm_bridge.store.leases import LeaseRepository

CONFIG = """
crm:
  kind: bitrix24
  bitrix24:
    webhook_url: ${{B24_WEBHOOK_URL}}
state:
  url: {url}
schedule:
  lease: 30s
"""
ENV = {"B24_WEBHOOK_URL": "https://example.bitrix24.ru/rest/1/s3cr3tw3bh00k/"}


def run(config: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["--config", str(config), *args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize(("mode", "bot_jobs"), [("polling", ["bot", "bot_updates"]), ("webhook", ["bot"])])
def test_status_lists_the_partner_bots_jobs_only_when_the_daemon_runs_them(
    tmp_path: Path,
    write_config: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
    mode: str,
    bot_jobs: list[str],
) -> None:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    bot = (
        "bot:\n  enabled: true\n  token: ${{PARTNER_BOT_TOKEN}}\n"
        f"  mode: {mode}\n  webhook_secret: ${{{{PARTNER_BOT_WEBHOOK_SECRET}}}}\n"
    )
    env = {**ENV, "PARTNER_BOT_TOKEN": "123:abc", "PARTNER_BOT_WEBHOOK_SECRET": "s3cret"}
    config = write_config((CONFIG + bot).format(url=url), env=env)
    code, out, _ = run(config, capsys, "status", "--json")
    jobs = [j["job"] for j in json.loads(out)["jobs"]]
    assert code == 0
    assert jobs == ["sync", "distribute", "escalate", "tiers", "lifecycle", "notify", *bot_jobs]


def test_status_shows_who_holds_which_job_the_cursor_lag_the_outbox_and_the_budget(
    store_url: str, write_config: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(CONFIG.format(url=store_url), env=ENV)
    settings = load_settings(config)
    portal = portal_id(settings.crm, settings.state.portal)
    code, out, _ = run(config, capsys, "status", "--json")
    fresh = json.loads(out)
    assert code == 0 and fresh["replicas"] == [] and fresh["sync_cursors"] == []
    assert {j["job"]: j["holder"] for j in fresh["jobs"]} == dict.fromkeys(
        ["sync", "distribute", "escalate", "tiers", "lifecycle", "notify"]
    )  # the partner bot's jobs only with bot.enabled
    with open_store(store_url) as store:
        repo = LeaseRepository(store.engine, portal)
        repo.register("hostA:11:aa", "hostA", 11)
        repo.claim("hostA:11:aa", ["sync", "distribute"], ttl=20)
        repo.started("hostA:11:aa", "sync")
        repo.finished("hostA:11:aa", "sync", False, "TransientError: Bitrix24 is down")
        old = datetime(2026, 1, 1, tzinfo=UTC)
        store.save_page(portal, RecordPage(Entity.LEAD, [], SyncCursor(old)))
        store.enqueue(portal, "notify", "k1", {"text": "hi"}, now=old)
        store.bucket.take_all([Bucket("example.bitrix24.ru", 50, 2)], datetime.now(UTC).timestamp())
    code, out, _ = run(config, capsys, "status", "--json")
    data = json.loads(out)
    jobs = {j["job"]: j for j in data["jobs"]}
    assert [(r["id"], r["state"], r["holds"]) for r in data["replicas"]] == [
        ("hostA:11:aa", "running", ["distribute", "sync"])
    ]
    assert jobs["sync"]["holder"] == "hostA:11:aa" and jobs["tiers"]["holder"] is None
    assert (jobs["sync"]["last_ok"], jobs["sync"]["last_error"], jobs["sync"]["runs"]) == (
        False,
        "TransientError: Bitrix24 is down",
        1,
    )
    assert data["sync_cursors"][0]["entity"] == "lead" and data["sync_cursors"][0]["lag_seconds"] > 86_400
    assert (data["outbox"]["pending"], data["outbox"]["due"], data["outbox"]["by_kind"][0]["kind"]) == (
        1,
        1,
        "notify",
    )
    assert [b["key"] for b in data["rate_budget"]["buckets"]] == ["example.bitrix24.ru"]
    code, out, _ = run(config, capsys, "status")
    assert code == 0
    for shown in ("hostA:11:aa", "running", "failed", "down", "nobody", "1 pending", "Sync cursors"):
        assert shown in out, shown
    assert "s3cr3tw3bh00k" not in out


def test_a_backup_taken_while_running_restores_the_state_it_had(
    store_url: str, write_config: Callable[..., Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = write_config(CONFIG.format(url=store_url), env=ENV)
    with open_store(store_url) as store:
        store.kv("ns").set("cursor", {"at": 1})
    code, out, err = run(config, capsys, "state", "backup", "--out", str(tmp_path / "backups"))
    assert code == 0, err
    backups = list((tmp_path / "backups").iterdir())
    assert len(backups) == 1 and backups[0].stat().st_mode & 0o077 == 0 and str(backups[0]) in out
    with open_store(store_url) as store:
        store.kv("ns").set("cursor", {"at": 2})
    code, out, err = run(config, capsys, "state", "restore", "--yes", str(backups[0]))
    assert code == 0, err
    with open_store(store_url) as store:
        assert store.kv("ns").get("cursor") == {"at": 1}


def test_a_restore_is_refused_while_a_daemon_runs_on_the_sqlite_file_and_for_a_file_that_is_no_backup(
    write_config: Callable[..., Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    state = tmp_path / "state.db"
    config = write_config(CONFIG.format(url=f"sqlite:///{state}"), env=ENV)
    code, _, err = run(config, capsys, "state", "backup")
    assert code == 2 and "there is no state file" in err
    open_store(f"sqlite:///{state}").close()
    assert run(config, capsys, "state", "backup", "--out", str(tmp_path / "b.sqlite3"))[0] == 0
    guard = SqliteDaemonGuard(state.resolve())
    guard.acquire()
    try:
        code, _, err = run(config, capsys, "state", "restore", "--yes", str(tmp_path / "b.sqlite3"))
    finally:
        guard.release()
    assert code == 2 and err.startswith("error: state.url: another crm-bridge daemon (pid ")
    (tmp_path / "notes.txt").write_text("hello")
    code, _, err = run(config, capsys, "state", "restore", "--yes", str(tmp_path / "notes.txt"))
    assert code == 2 and "not a SQLite backup of crm-bridge" in err


def test_the_backup_script_keeps_the_newest_backups_and_the_restore_script_needs_a_file(
    write_config: Callable[..., Path], tmp_path: Path
) -> None:
    import subprocess

    root = Path(__file__).resolve().parents[2]
    state = tmp_path / "state.db"
    config = write_config(CONFIG.format(url=f"sqlite:///{state}"), env=ENV)
    open_store(f"sqlite:///{state}").close()
    backup = [
        str(root / "scripts" / "backup.sh"),
        "--config",
        str(config),
        "--dir",
        str(tmp_path / "b"),
        "--keep",
        "2",
    ]
    # two backups from earlier runs (names carry the UTC second they were taken: a name sort is a time
    # sort), so one run of the script makes a third and must remove the oldest, with no real waiting
    folder = tmp_path / "b"
    folder.mkdir()
    oldest, older = (folder / f"crm-bridge-state-2020010{day}T020000Z.sqlite3" for day in (1, 2))
    for old in (oldest, older):
        old.write_bytes(b"an earlier backup")
    done = subprocess.run(["bash", *backup], capture_output=True, text=True, check=False)  # noqa: S603
    assert done.returncode == 0, done.stderr
    kept = sorted(path.name for path in folder.iterdir())
    assert len(kept) == 2 and kept[0] == older.name and kept[1].startswith("crm-bridge-state-")
    assert f"removed old backup {oldest}" in done.stdout and not oldest.exists()
    restore = subprocess.run(  # noqa: S603
        ["bash", str(root / "scripts" / "restore.sh"), "--config", str(config)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert restore.returncode == 2 and "name the backup file" in restore.stderr
