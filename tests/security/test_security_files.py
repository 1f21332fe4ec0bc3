"""Files at rest: whatever the umask, the SQLite store (with -wal/-shm), the rejects file, reports
and the folders crm-bridge creates for them are owner-only; ``doctor`` warns about a config, .env or
store other users can read, naming the file and the chmod that fixes it."""

from __future__ import annotations

import os
import stat
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from crm_bridge.cli import main
from crm_bridge.sandbox.server import Sandbox
from crm_bridge.store import open_store

CONFIG = """
locale: en
timezone: Europe/Moscow
crm:
  kind: bitrix24
  bitrix24:
    webhook_url: ${{B24_WEBHOOK_URL}}
    rate_limit: {{burst: 10000, per_second: 10000}}
state:
  url: sqlite:///{db}
logging:
  file: {log}
head: {{name: Anna, crm_user_id: 1}}
managers:
  - {{key: ivan, name: Ivan, crm_user_id: 2}}
curators:
  - {{key: anna, name: Anna, crm_user_id: 1}}
rewards:
  currency: RUB
  rule_sets:
    - effective_from: "2026-01-01"
      commission: {{by_tier: {{bronze: 5, silver: 7, gold: 10, platinum: 12}}}}
"""


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(params=[0o022, 0o000], ids=["umask-022", "umask-000"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


@pytest.fixture
def config(tmp_path: Path) -> Iterator[Path]:
    with Sandbox("bitrix24") as sb:
        path = tmp_path / "config.yaml"
        (tmp_path / "data").mkdir()
        path.write_text(
            textwrap.dedent(
                CONFIG.format(db=tmp_path / "data" / "state.db", log=tmp_path / "logs" / "crm.log")
            ),
            encoding="utf-8",
        )
        (tmp_path / ".env").write_text(f"B24_WEBHOOK_URL={sb.config_snippet()['env']['B24_WEBHOOK_URL']}\n")
        yield path


def cli(config: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["--config", str(config), *args])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_store_rejects_and_reports_are_owner_only_whatever_the_umask(
    umask: int, config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(config, capsys, "provision")[0] == 0
    assert cli(config, capsys, "sync", "--once")[0] == 0
    leads = tmp_path / "in" / "leads.csv"
    leads.parent.mkdir()
    leads.write_text(
        "partner_id;customer_name;email;phone;tax_id;amount;comment\n999;ООО Ромашка;a@b.ru;;;;\n",
        encoding="utf-8",
    )
    code, out = cli(config, capsys, "intake", "import", str(leads))
    assert code == 1 and "rejects" in out
    report = tmp_path / "out" / "monthly" / "report.csv"
    assert (
        cli(config, capsys, "report", "--period", "2026-11", "--format", "csv", "--out", str(report))[0] == 0
    )
    board = tmp_path / "out" / "rewards" / "board.csv"
    code, out = cli(
        config,
        capsys,
        "rewards",
        "--period",
        "2026-Q4",
        "--format",
        "csv",
        "--leaderboard",
        "--out",
        str(board),
    )
    assert code == 0, out

    created = [tmp_path / "data" / "state.db", tmp_path / "in" / "leads.rejects.csv", report, board]
    created.append(tmp_path / "logs" / "crm.log")
    assert {p.name: oct(mode(p)) for p in created} == {p.name: "0o600" for p in created}
    folders = [tmp_path / "out", report.parent, board.parent, tmp_path / "logs"]
    assert {p.name: oct(mode(p)) for p in folders} == {p.name: "0o700" for p in folders}


def test_the_store_its_wal_and_shm_files_are_owner_only_while_it_is_open(umask: int, tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    with open_store(f"sqlite:///{db}") as store:
        store.kv("test").set("k", {"v": 1})
        files = [db, db.with_name("state.db-wal"), db.with_name("state.db-shm")]
        assert {p.name: oct(mode(p)) for p in files} == {p.name: "0o600" for p in files}


def test_doctor_names_each_file_others_can_read_and_the_chmod_that_fixes_it(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "400")
    cli(config, capsys, "provision")
    env = tmp_path / ".env"
    db = tmp_path / "data" / "state.db"
    for path in (config, env, db):
        path.chmod(0o644)

    code, out = cli(config, capsys, "doctor")

    assert code == 0, out  # a warning, not a failed check
    for path in (config, env, db):
        assert f"{path} is readable by others: chmod 600 {path}" in out
    for path in (config, env, db):
        path.chmod(0o600)
    code, out = cli(config, capsys, "doctor")
    assert code == 0 and "readable by others" not in out


def test_the_demo_folder_its_config_store_and_reports_are_owner_only_and_it_gets_its_own_secret_key(
    umask: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cryptography.fernet import Fernet

    from crm_bridge.services.demo.run import run_demo

    monkeypatch.delenv("CRM_BRIDGE_SECRET_KEY")
    out = tmp_path / "demo"
    with Sandbox("bitrix24") as sb:
        result = run_demo(out, sb, per_type=1, months=1, fresh_leads=1)

    files = [out / "config.yaml", out / ".env", out / "crm_bridge_demo.db", *result.reports]
    assert {p.name: oct(mode(p)) for p in files} == {p.name: "0o600" for p in files}
    assert [oct(mode(p)) for p in (out, out / "reports")] == ["0o700", "0o700"]
    key = (out / ".env").read_text().split("CRM_BRIDGE_SECRET_KEY=")[1].strip()
    Fernet(key)  # a usable key for the tokens an OAuth sandbox hands out


def test_doctor_says_whether_the_secret_key_decrypts_the_stored_secrets(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from crm_bridge.security.secrets import generate_key

    monkeypatch.setenv("COLUMNS", "400")
    with open_store(f"sqlite:///{tmp_path / 'data' / 'state.db'}") as store:
        store.kv("adapter:x").set("oauth_tokens", {"access_token": "a", "refresh_token": "r"})
    cli(config, capsys, "provision")

    code, out = cli(config, capsys, "doctor")
    assert code == 0 and "1 secret(s) encrypted; the key decrypts them" in out

    monkeypatch.setenv("CRM_BRIDGE_SECRET_KEY", generate_key())
    code, out = cli(config, capsys, "doctor")
    assert (
        code == 1 and "CRM_BRIDGE_SECRET_KEY cannot decrypt the stored secret adapter:x/oauth_tokens" in out
    )
