"""scripts/provision.sh as an admin or a CI pipeline runs it against the Bitrix24 sandbox: the checks
and the plan come first, nothing is written without a yes, --yes applies, a re-run writes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from crm_bridge.sandbox.server import Sandbox

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "provision.sh"

pytestmark = pytest.mark.slow

CONFIG = """
locale: en
crm:
  kind: bitrix24
  bitrix24:
    webhook_url: ${B24_WEBHOOK_URL}
    rate_limit: {burst: 10000, per_second: 10000}
state:
  url: sqlite:///STATE
"""


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox("bitrix24") as sb:
        yield sb


@pytest.fixture
def config(tmp_path: Path, sandbox: Sandbox) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG.replace("STATE", str(tmp_path / "state.db")), encoding="utf-8")
    (tmp_path / ".env").write_text(f"B24_WEBHOOK_URL={sandbox.config_snippet()['env']['B24_WEBHOOK_URL']}\n")
    return path


def run(config: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
        "COLUMNS": "160",
    }
    return subprocess.run(
        ["bash", str(SCRIPT), "--config", str(config), *args],
        cwd=config.parent,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )


def written(sandbox: Sandbox) -> int:
    return sum(
        1 for entry in sandbox.requests() if any(w in str(entry) for w in (".add", ".update", ".delete"))
    )


def test_without_a_terminal_or_yes_it_shows_the_plan_and_writes_nothing(
    config: Path, sandbox: Sandbox
) -> None:
    result = run(config, stdin="")

    assert result.returncode == 2, result.stdout + result.stderr
    assert "1/4 validate" in result.stdout and "2/4 doctor" in result.stdout
    assert "Provisioning plan (dry run: nothing written)" in result.stdout
    assert "pass --yes" in result.stderr
    assert written(sandbox) == 0


def test_with_yes_it_applies_and_a_second_run_changes_nothing(config: Path, sandbox: Sandbox) -> None:
    first = run(config, "--yes")
    second = run(config, "--yes")

    assert first.returncode == 0, first.stdout + first.stderr
    assert "4/4 provision" in first.stdout and "Done" in first.stdout
    assert second.returncode == 0, second.stdout + second.stderr
    assert "Everything is up to date" in second.stdout


def test_a_bad_config_stops_it_at_validate_with_the_configs_exit_status(tmp_path: Path) -> None:
    bad = tmp_path / "config.yaml"
    bad.write_text("crm: {kind: bitrix24}\n", encoding="utf-8")

    result = run(bad, "--yes")

    assert result.returncode == 2
    assert "crm.bitrix24 section is missing" in result.stderr
    assert "2/4 doctor" not in result.stdout


def test_an_unknown_option_is_a_usage_error() -> None:
    result = subprocess.run(["bash", str(SCRIPT), "--force"], capture_output=True, text=True, check=False)

    assert result.returncode == 2
    assert "unknown option --force" in result.stderr
