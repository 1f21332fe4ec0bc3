"""The people of the config against the Bitrix24 sandbox's users, through the CLI: ``doctor`` names
each configured id the CRM does not have or has deactivated (with its config key) and offers the
active users; ``crm-bridge users`` lists them; an undeliverable notification channel is a warning."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from crm_bridge.cli import main
from crm_bridge.sandbox.server import Sandbox

CONFIG = """
locale: en
crm:
  kind: bitrix24
  bitrix24:
    webhook_url: ${B24_WEBHOOK_URL}
    rate_limit: {burst: 10000, per_second: 10000}
state:
  url: sqlite:///STATE
head: {name: Анна Админова, crm_user_id: 1}
managers:
  - {key: ivan, name: Иван Петров, crm_user_id: 2}
  - {key: oleg, name: Олег Новиков, crm_user_id: 23}
  - {key: vera, name: Вера Ушедшая, crm_user_id: 9, active: false}
curators:
  - {key: boris, name: Борис Бывший, crm_user_id: 9}
notifications:
  channels:
    email:
      enabled: true
      smtp_host: smtp.example.ru
      sender: crm-bridge@example.ru
"""


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox("bitrix24") as sb:
        sb.emulator.seed({"users": [{"ID": 9, "NAME": "Борис", "LAST_NAME": "Бывший", "ACTIVE": False}]})
        yield sb


@pytest.fixture
def config(tmp_path: Path, sandbox: Sandbox) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(textwrap.dedent(CONFIG).replace("STATE", str(tmp_path / "state.db")), encoding="utf-8")
    (tmp_path / ".env").write_text(f"B24_WEBHOOK_URL={sandbox.config_snippet()['env']['B24_WEBHOOK_URL']}\n")
    return path


def cli(config: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["--config", str(config), *args])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_doctor_names_each_missing_or_deactivated_person_by_config_key_and_offers_the_active_users(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    assert cli(config, capsys, "provision")[0] == 0

    code, out = cli(config, capsys, "doctor")

    assert code == 1
    lines = out.splitlines()
    missing = next(line for line in lines if "managers[1].crm_user_id" in line)
    assert "FAIL" in missing and "manager oleg (Олег Новиков): the CRM has no user with id 23" in missing
    gone = next(line for line in lines if "curators[0].crm_user_id" in line)
    assert "curator boris (Борис Бывший): CRM user 9 (Борис Бывший) is deactivated" in gone
    assert not any("managers[2]" in line or "managers[0]" in line or "head.crm" in line for line in lines)
    assert "Active CRM users to pick from" in out
    offered = out[out.index("Active CRM users to pick from") :]
    assert "petrov@example.ru" in offered and "manager ivan" in offered and "Бывший" not in offered
    email = next(line for line in lines if "notifications email" in line)
    assert "warning" in email and "'smtp.example.ru' is a placeholder" in email


def test_users_lists_id_name_email_active_and_the_config_roles(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    code, out = cli(config, capsys, "users")

    assert code == 0, out
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if line.count("│") >= 5}
    assert {"1", "2", "3", "9"} <= set(rows)
    assert "Анна Админова" in rows["1"] and "admin@example.ru" in rows["1"] and "head" in rows["1"]
    assert "yes" in rows["2"] and "manager ivan" in rows["2"]
    assert " no " in rows["9"] and "curator boris" in rows["9"]
    code, active = cli(config, capsys, "users", "--active")
    assert code == 0 and "Бывший" not in active
