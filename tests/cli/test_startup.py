"""The command line answers at once: ``--help`` lists the verbs without importing them, and the verbs
that only read the config (``validate``, ``funnels``) start without the database, HTTP, plotting or web
libraries. Checked with ``python -X importtime`` in a fresh interpreter (what an admin runs), never by
timing: the start-up time itself is measured by ``benchmarks/bench_startup.py``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from crm_bridge.cli import VERBS, help_locale, main
from crm_bridge.texts import LOCALES, words

ROOT = Path(__file__).resolve().parents[2]

# Top-level packages no start-up path below may import.
PLOTTING = {"matplotlib"}
DATABASE = {"sqlalchemy", "psycopg", "psycopg2", "alembic"}
HTTP = {"requests", "urllib3", "httpx", "fastapi", "starlette", "uvicorn", "aiohttp"}
DAEMON_AND_WEB = {"apscheduler", "asyncio", "jinja2", "prometheus_client", "tenacity", "openpyxl"}
SECRETS = {"cryptography"}  # the state store's secrets: reading a config does not need them
FORBIDDEN = PLOTTING | DATABASE | HTTP | DAEMON_AND_WEB | SECRETS

# What config.example.yaml reads from the environment.
SECRETS_ENV = {
    "B24_WEBHOOK_URL": "https://example.bitrix24.ru/rest/1/s3cr3t/",
    "TELEGRAM_BOT_TOKEN": "1:x",
    "SMTP_PASSWORD": "x",
}


def imported_modules(*args: str, cwd: Path) -> tuple[int, set[str]]:
    """Run ``python -X importtime -m crm_bridge ARGS`` and return its status and every module it imported."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "crm_bridge", *args],
        cwd=cwd,
        env={**os.environ, **SECRETS_ENV},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    modules = {
        line.rsplit("|", 1)[1].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:") and "imported package" not in line
    }
    return result.returncode, modules


def offending(modules: set[str], forbidden: set[str]) -> list[str]:
    """The modules of ``modules`` that are, or live under, one of ``forbidden``."""
    return sorted(m for m in modules if any(m == f or m.startswith(f + ".") for f in forbidden))


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "config.example.yaml", tmp_path / "config.yaml")
    return tmp_path


def test_help_imports_no_verb_and_no_plotting_database_or_http_library(tmp_path: Path) -> None:
    status, modules = imported_modules("--help", cwd=tmp_path)

    assert status == 0
    assert "click" in modules  # the listing did run in this interpreter
    assert offending(modules, FORBIDDEN) == []
    # the verb list comes from the static table: no verb module, no config (pydantic, YAML), no adapter
    verbs = {f"crm_bridge.cli.{verb}" for verb in VERBS}
    assert sorted(modules & verbs) == []
    assert offending(modules, {"pydantic", "yaml", "crm_bridge.config", "crm_bridge_bitrix24"}) == []


@pytest.mark.parametrize("verb", ["validate", "funnels"])
def test_config_verbs_load_the_config_but_no_database_http_or_web_library(
    config_dir: Path, verb: str
) -> None:
    status, modules = imported_modules(verb, cwd=config_dir)

    assert status == 0
    # what they need: the config (pydantic, YAML, .env) and the installed adapters' declarations
    assert {"pydantic", "yaml", "dotenv", "crm_bridge.config", "crm_bridge_bitrix24.plugin"} <= modules
    assert offending(modules, FORBIDDEN) == []
    # an adapter's declaration is enough: the adapter itself (client, transport, HTTP layer) is not loaded
    assert offending(modules, {"crm_bridge.http", "crm_bridge.store", "crm_bridge.services"}) == []
    adapters = [m for m in modules if m.startswith("crm_bridge_") and m.endswith((".adapter", ".client"))]
    assert adapters == []


def test_every_listed_verb_has_its_module_and_a_one_line_help_in_both_languages() -> None:
    import importlib

    import click

    for locale in LOCALES:
        assert set(words("verbs", locale)) == set(VERBS)
        assert all(line and "\n" not in line for line in words("verbs", locale).values())
    for verb in VERBS:
        command = importlib.import_module(f"crm_bridge.cli.{verb}").command
        assert isinstance(command, click.Command) and command.name == verb


def test_help_lists_the_verbs_in_russian_when_the_environment_is_russian(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    monkeypatch.setenv("LANG", "ru_RU.UTF-8")

    assert main(["--help"]) == 0

    listed = capsys.readouterr().out.split("Commands:")[1]
    assert "validate   Проверить файл конфигурации" in listed
    assert help_locale({"LC_ALL": "en_US.UTF-8", "LANG": "ru_RU.UTF-8"}) == "en"  # LC_ALL wins, as in gettext
    assert help_locale({}) == "en"


def test_a_verbs_own_help_loads_no_database_http_or_plotting_library() -> None:
    # importing a verb's module is all `crm-bridge <verb> --help` does before printing; only `demo`, which
    # runs the whole product against a sandbox in one command, imports its world up front
    verbs = [f"crm_bridge.cli.{verb}" for verb in VERBS if verb != "demo"]
    code = f"import sys\nfor name in {verbs!r}:\n    __import__(name)\nprint(' '.join(sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )

    assert offending(set(result.stdout.split()), PLOTTING | DATABASE | HTTP) == []


@pytest.mark.parametrize("verb", [verb for verb in VERBS if verb != "demo"])
def test_a_verbs_own_help_reads_no_config_model(verb: str) -> None:
    # `crm-bridge doctor --help` (or any verb's) prints before a config is read: the config's models
    # (pydantic, the sections, the adapters' declarations) are imported when the verb runs, not before
    code = f"import sys\nimport crm_bridge.cli.{verb}\nprint(' '.join(sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )

    modules = set(result.stdout.split())
    assert f"crm_bridge.cli.{verb}" in modules
    assert offending(modules, {"pydantic", "crm_bridge.config", "crm_bridge.bootstrap"}) == []


def test_the_collector_runs_again_once_a_verb_has_loaded(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # the cyclic collector is paused while a verb's modules load and the config is read, never after
    import gc

    monkeypatch.chdir(config_dir)
    for name, value in SECRETS_ENV.items():
        monkeypatch.setenv(name, value)

    assert main(["validate"]) == 0
    assert gc.isenabled()
    assert main(["--config", "missing.yaml", "funnels"]) == 2  # a config error on the way
    assert gc.isenabled()
    assert "config file not found" in capsys.readouterr().err


@pytest.mark.parametrize("verb", ["validate", "funnels"])
def test_config_verbs_leave_the_json_library_to_json_logging(config_dir: Path, verb: str) -> None:
    # json is imported when a JSON log line is written (logging.format: json), not by every verb's start-up
    status, modules = imported_modules(verb, cwd=config_dir)

    assert status == 0
    assert offending(modules, {"json"}) == []


def test_a_verb_run_from_another_program_leaves_that_programs_objects_to_the_collector(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # crm-bridge's own process freezes what loading made (gc.freeze); a program calling main() keeps its
    # objects collectable
    import gc

    monkeypatch.chdir(config_dir)
    for name, value in SECRETS_ENV.items():
        monkeypatch.setenv(name, value)
    frozen = gc.get_freeze_count()

    assert main(["validate"]) == 0
    assert main(["funnels"]) == 0
    assert gc.get_freeze_count() == frozen
    assert gc.isenabled()
