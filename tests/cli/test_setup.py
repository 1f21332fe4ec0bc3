"""A new admin's setup: scripts/install.sh finds a Python >= 3.11 by itself (or says which to install),
``python -m crm_bridge`` is the command, a pipe closed early (``| head``) ends quietly, and the
PostgreSQL tests skip with one line locally but fail under CI=true when no server answers."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INSTALL = ROOT / "scripts" / "install.sh"


def fake_path(tmp_path: Path, **pythons: str) -> str:
    """A PATH holding only ``dirname`` and the given names, each a link to a program."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "dirname").symlink_to(shutil.which("dirname") or "/usr/bin/dirname")
    for name, target in pythons.items():
        (bin_dir / name.replace("_", ".")).symlink_to(target)
    return str(bin_dir)


def which_python(path: str, **env: str) -> subprocess.CompletedProcess[str]:
    bash = shutil.which("bash") or "/bin/bash"
    return subprocess.run(
        [bash, str(INSTALL), "--which-python"],
        env={"PATH": path, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_install_finds_a_python_311_or_newer_under_any_name_and_skips_older_ones(tmp_path: Path) -> None:
    old = shutil.which("true") or "/bin/true"  # answers nothing sensible to the version question
    path = fake_path(tmp_path, python3_13=old, python3=sys.executable)

    found = which_python(path)

    assert (found.returncode, found.stdout.strip()) == (0, "python3")


def test_install_without_a_suitable_python_says_which_to_install_and_how_to_point_at_it(
    tmp_path: Path,
) -> None:
    none = which_python(fake_path(tmp_path))
    assert none.returncode == 2
    assert "no Python 3.11 or newer found" in none.stderr and "PYTHON=/path/to/python3.11" in none.stderr
    wrong = which_python(fake_path(tmp_path / "other"), PYTHON="/nonexistent/python")
    assert (
        wrong.returncode == 2 and "PYTHON=/nonexistent/python is not a Python 3.11 or newer" in wrong.stderr
    )
    chosen = which_python(fake_path(tmp_path / "third"), PYTHON=sys.executable)
    assert (chosen.returncode, chosen.stdout.strip()) == (0, sys.executable)


def test_python_dash_m_crm_bridge_works_like_the_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "crm_bridge", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0 and "Usage: crm-bridge" in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["funnels"],  # rich tables
        ["--help"],  # click, while the options are parsed
        ["--version"],
        ["validate", "--help"],  # click, inside a verb
    ],
)
def test_a_reader_that_stops_early_ends_the_command_quietly_with_status_0(
    tmp_path: Path, args: list[str]
) -> None:
    shutil.copy(ROOT / "config.example.yaml", tmp_path / "config.yaml")
    read_end, write_end = os.pipe()
    os.close(read_end)  # like `| head -1` that has already exited: every write fails with EPIPE
    try:
        result = subprocess.run(
            [sys.executable, "-m", "crm_bridge", *args],
            cwd=tmp_path,
            env={
                **os.environ,
                "B24_WEBHOOK_URL": "https://example.bitrix24.ru/rest/1/s3cr3t/",
                "TELEGRAM_BOT_TOKEN": "1:x",
                "SMTP_PASSWORD": "x",
            },
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    assert (result.returncode, result.stderr) == (0, "")


def _store_test(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("CI", "CRM_BRIDGE_TEST_PG_URL")}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-k",
            "postgresql",
            "tests/store/test_store_schema.py",
        ],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.slow
def test_postgresql_tests_skip_with_one_line_locally_and_fail_under_ci_when_no_server_answers(
    tmp_path: Path,
) -> None:
    nobody = {"CRM_BRIDGE_TEST_PG_URL": "postgresql+psycopg://postgres@127.0.0.1:9/none"}  # discard port

    local = _store_test(tmp_path, **nobody)
    ci = _store_test(tmp_path, CI="true", **nobody)

    assert local.returncode == 0, local.stdout
    notes = [line for line in local.stdout.splitlines() if line.startswith("PostgreSQL tests skipped:")]
    assert notes == [
        "PostgreSQL tests skipped: no PostgreSQL server answers at "
        "postgresql+psycopg://postgres@127.0.0.1:9/none (OperationalError)"
    ]
    assert ci.returncode == 1
    assert "PostgreSQL tests cannot run under CI: no PostgreSQL server answers" in ci.stdout
