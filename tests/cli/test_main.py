"""The command line's contract with its users: help, exit codes, and errors as one line each."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path

import click
import pytest

import crm_bridge.cli as cli_module
from crm_bridge.cli import main
from crm_bridge.errors import AuthError, RateLimited, StateError

WEBHOOK = "https://example.bitrix24.ru/rest/1/s3cr3tw3bh00k/"


@pytest.fixture
def verb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Callable[[], object]], None]]:
    """Install a throwaway verb ``probe`` whose body is the given function (as another module would)."""

    def install(body: Callable[[], object]) -> None:
        @click.command("probe")
        @click.pass_obj
        def command(obj: object) -> object:
            import logging

            logging.getLogger("crm_bridge.probe").warning("probe running with %s", WEBHOOK)
            return body()

        module = types.ModuleType("crm_bridge.cli.probe")
        module.command = command  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "crm_bridge.cli.probe", module)
        monkeypatch.setattr(cli_module, "VERBS", (*cli_module.VERBS, "probe"))

    yield install


def test_help_lists_the_verbs_and_the_global_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0

    out = capsys.readouterr().out
    assert "Usage: crm-bridge" in out
    for text in ("--config", "CRM_BRIDGE_CONFIG", "--log-format", "--verbose"):
        assert text in out
    listed = [line.split()[0] for line in out.split("Commands:")[1].splitlines() if line.startswith("  ")]
    assert listed[:2] == ["validate", "funnels"]


def test_an_unknown_verb_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["provison"]) == 2

    assert "No such command 'provison'" in capsys.readouterr().err


def test_a_bad_config_exits_2_with_one_line_per_problem_and_no_traceback(
    write_config: Callable[..., Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("B24_WEBHOOK_URL", raising=False)
    path = write_config("crm: {kind: bitrix24, bitrix24: {webhook_url: '${B24_WEBHOOK_URL}'}}\nlocale: de\n")

    code = main(["--config", str(path), "validate"])

    err = capsys.readouterr().err
    assert code == 2
    assert err.splitlines() == [
        "error: crm.bitrix24.webhook_url: environment variable B24_WEBHOOK_URL is not set",
        "error: locale: must be one of 'ru' or 'en' (got 'de')",
    ]


def test_a_missing_config_file_names_the_file_and_the_way_to_choose_another(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CRM_BRIDGE_CONFIG", raising=False)

    assert main(["validate"]) == 2

    assert capsys.readouterr().err.strip() == (
        "error: config.yaml: config file not found (pass --config PATH or set CRM_BRIDGE_CONFIG)"
    )


def test_the_config_path_can_come_from_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM_BRIDGE_CONFIG", str(tmp_path / "elsewhere.yaml"))

    assert main(["validate"]) == 2

    assert "elsewhere.yaml: config file not found" in capsys.readouterr().err


def test_a_crm_auth_failure_exits_1_naming_what_to_fix(
    verb: Callable[[Callable[[], object]], None], capsys: pytest.CaptureFixture[str]
) -> None:
    def body() -> None:
        raise AuthError("invalid token", crm="bitrix24", config_key="crm.bitrix24.webhook_url")

    verb(body)

    assert main(["probe"]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        "error: bitrix24 rejected the credentials: invalid token (check crm.bitrix24.webhook_url)"
    )


def test_a_rate_limit_says_when_to_try_again(
    verb: Callable[[Callable[[], object]], None], capsys: pytest.CaptureFixture[str]
) -> None:
    def body() -> None:
        raise RateLimited("QUERY_LIMIT_EXCEEDED", crm="bitrix24", retry_after=30)

    verb(body)

    assert main(["probe"]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        "error: bitrix24 is unavailable or throttling: QUERY_LIMIT_EXCEEDED; try again in 30s"
        " — rerun `crm-bridge probe`: work already done is kept and not repeated"
    )


def test_a_state_store_failure_is_one_line(
    verb: Callable[[Callable[[], object]], None], capsys: pytest.CaptureFixture[str]
) -> None:
    def body() -> None:
        raise StateError("database is locked")

    verb(body)

    assert main(["probe"]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        "error: state store: database is locked"
        " — rerun `crm-bridge probe`: work already done is kept and not repeated"
    )


def test_a_bug_is_one_internal_error_line_without_traceback(
    verb: Callable[[Callable[[], object]], None], capsys: pytest.CaptureFixture[str]
) -> None:
    def body() -> None:
        raise ZeroDivisionError("division by zero")

    verb(body)

    assert main(["probe"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.splitlines()[-1] == (
        "error: internal error: ZeroDivisionError: division by zero (run with -v for the traceback)"
    )


def test_with_verbose_a_bug_shows_its_traceback(
    verb: Callable[[Callable[[], object]], None], capsys: pytest.CaptureFixture[str]
) -> None:
    def body() -> None:
        raise ZeroDivisionError("division by zero")

    verb(body)

    assert main(["-v", "probe"]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert err.splitlines()[-1] == "error: internal error: ZeroDivisionError: division by zero"


def test_the_console_script_exits_with_the_status_code(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from crm_bridge.cli import main; main()",
            "--config",
            "absent.yaml",
            "validate",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 2
    assert result.stderr.startswith("error: absent.yaml: config file not found")
    assert "Traceback" not in result.stderr


def test_json_log_lines_are_one_object_each(
    write_config: Callable[..., Path],
    verb: Callable[[Callable[[], object]], None],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("B24_WEBHOOK_URL", WEBHOOK)
    path = write_config()

    def body() -> int:
        from crm_bridge.cli.output import CliContext

        click.get_current_context().find_object(CliContext).settings()  # type: ignore[union-attr]
        import logging

        logging.getLogger("crm_bridge.probe").warning("loaded, %d managers", 0)
        return 0

    verb(body)

    assert main(["--config", str(path), "--log-format", "json", "probe"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    assert {"ts", "level", "logger", "message"} <= set(lines[-1])
    assert lines[-1]["message"] == "loaded, 0 managers" and lines[-1]["level"] == "warning"


def test_a_broken_verb_module_does_not_break_help_or_other_verbs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli_module, "VERBS", (*cli_module.VERBS, "broken_probe"))

    class BrokenModule:  # a verb module whose import fails on a missing dependency
        @staticmethod
        def find_spec(name: str, path: object = None, target: object = None) -> None:
            if name == "crm_bridge.cli.broken_probe":
                raise ModuleNotFoundError("No module named 'somelib'", name="somelib")

    monkeypatch.setattr(sys, "meta_path", [BrokenModule, *sys.meta_path])

    assert main(["--help"]) == 0  # the listing imports no verb module, so it cannot be broken by one
    out = capsys.readouterr().out
    assert "validate" in out and "broken_probe" in out
    assert main(["validate", "--help"]) == 0
    capsys.readouterr()
    assert main(["broken_probe", "--anything"]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        "error: internal error: ModuleNotFoundError: No module named 'somelib'"
        " (run with -v for the traceback)"
    )


def test_log_lines_and_error_messages_never_carry_the_webhook_secret(
    write_config: Callable[..., Path],
    verb: Callable[[Callable[[], object]], None],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("B24_WEBHOOK_URL", WEBHOOK)
    path = write_config()

    def body() -> None:
        from crm_bridge.cli.output import CliContext

        click.get_current_context().find_object(CliContext).settings()  # type: ignore[union-attr]
        import logging

        logging.getLogger("crm_bridge.probe").warning("calling %s for manager@example.ru", WEBHOOK)
        raise RuntimeError(f"unexpected answer from {WEBHOOK}")

    verb(body)

    assert main(["--config", str(path), "probe"]) == 1
    err = capsys.readouterr().err
    assert "calling" in err and "internal error: RuntimeError" in err
    assert "s3cr3tw3bh00k" not in err and "manager@example.ru" not in err
