"""``validate`` and ``funnels`` as an operator runs them: a real subprocess of the console script."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENV = {
    "B24_WEBHOOK_URL": "https://example.bitrix24.ru/rest/1/s3cr3tw3bh00k/",
    "TELEGRAM_BOT_TOKEN": "123456:ABC-token",
    "SMTP_PASSWORD": "smtp-password",
    "CRM_BRIDGE_STATE_URL": "postgresql+psycopg://bridge:pg-pass-42@db.example.ru/bridge",
}


def crm_bridge(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ENV and k != "CRM_BRIDGE_CONFIG"}
    base["COLUMNS"] = "200"
    return subprocess.run(
        [sys.executable, "-c", "from crm_bridge.cli import main; main()", *args],
        cwd=cwd,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "config.example.yaml", tmp_path / "config.yaml")
    return tmp_path


def test_validate_prints_a_summary_with_the_password_masked(workdir: Path) -> None:
    result = crm_bridge("validate", cwd=workdir, env=ENV)

    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "bitrix24 (bitrix24:example.bitrix24.ru)" in out
    assert "postgresql+psycopg://bridge:***@db.example.ru/bridge" in out
    assert "4 funnels, 23 stages" in out
    assert "Анна Смирнова" in out and "Светлана Орлова" in out
    assert "Бронзовый → Серебряный → Золотой → Платиновый" in out
    assert "sync every 5m" in out and "tiers cron 0 3 * * *" in out
    assert "OK: config.yaml is valid." in out
    for secret in ("pg-pass-42", "s3cr3t", "ABC-token", "smtp-password"):
        assert secret not in out + result.stderr


def test_validate_of_the_example_without_its_variables_names_each_one_and_exits_2(workdir: Path) -> None:
    result = crm_bridge("validate", cwd=workdir)

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: crm.bitrix24.webhook_url: environment variable B24_WEBHOOK_URL is not set",
        "error: notifications.channels.telegram.bot_token: "
        "environment variable TELEGRAM_BOT_TOKEN is not set",
        "error: notifications.channels.email.password: environment variable SMTP_PASSWORD is not set",
    ]


def test_validate_reads_secrets_from_dotenv_next_to_the_config(workdir: Path) -> None:
    config_dir = workdir / "etc"
    config_dir.mkdir()
    (workdir / "config.yaml").rename(config_dir / "config.yaml")
    (config_dir / ".env").write_text("".join(f"{k}={v}\n" for k, v in ENV.items()))

    result = crm_bridge("--config", "etc/config.yaml", "validate", cwd=workdir)

    assert result.returncode == 0, result.stderr


def test_funnels_prints_every_stage_in_the_configured_locale(workdir: Path) -> None:
    result = crm_bridge("funnels", cwd=workdir, env=ENV)

    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Обработка партнёрских лидов (leads)" in out
    assert "Квалификация (BANT)" in out and "Пилотный проект" in out
    assert out.index("Персональное предложение и переговоры") < out.index("Пилотный проект")
    assert "Повторные продажи (repeat)" in out and "Анализ клиентской базы" in out
    assert "Пользовательские поля" in out and "gold (Золотой)" in out


def test_funnels_can_be_shown_in_another_locale(workdir: Path) -> None:
    result = crm_bridge("funnels", "--locale", "en", cwd=workdir, env=ENV)

    assert result.returncode == 0, result.stderr
    assert "Partner lead processing (leads)" in result.stdout
    assert "Qualification (BANT)" in result.stdout and "Pilot project" in result.stdout
    assert "Custom fields" in result.stdout and "gold (Gold)" in result.stdout


def test_an_unknown_locale_option_is_a_usage_error(workdir: Path) -> None:
    result = crm_bridge("funnels", "--locale", "de", cwd=workdir, env=ENV)

    assert result.returncode == 2
    assert "Invalid value for '--locale'" in result.stderr
