"""``crm-bridge demo`` as a new user runs it (the README's first command): a subprocess of the console
script in an empty directory — no config, no network — printing what happened."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from crm_bridge.demo_network import MANAGERS

pytestmark = pytest.mark.slow


def test_the_demo_runs_end_to_end_in_an_empty_directory_and_names_funnels_managers_and_files(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("B24_", "CRM_BRIDGE"))}
    env["COLUMNS"] = "200"
    done = subprocess.run(
        [sys.executable, "-c", "from crm_bridge.cli import main; main()", "demo", "--out", "out"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    out = done.stdout
    for funnel in ("Привлечение партнёров", "Обработка партнёрских лидов", "Повторные сделки"):
        assert funnel in out
    for manager in MANAGERS:
        assert manager["name"] in out
    assert "Изменения уровней" in out and "» выполнены: " in out  # a change, with its reason in the locale
    assert "Показатели отдела" in out
    config = tmp_path / "out" / "config.yaml"
    assert f"Конфигурация: {config}" in out
    assert config.is_file() and (tmp_path / "out" / "crm_bridge_demo.db").is_file()
    report = tmp_path / "out" / "reports" / "partner-report-"
    assert f"Отчёт (откройте в браузере): {report}" in out
    html = next((tmp_path / "out" / "reports").glob("partner-report-*.html")).read_text(encoding="utf-8")
    assert "<svg" in html
    assert "Вознаграждения за " in out and "рейтинг: 1. " in out
    assert "error" not in done.stderr.lower()
