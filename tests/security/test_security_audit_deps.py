"""The CI supply-chain step (scripts/audit_deps.py) with pip-audit's answers replayed: a known
vulnerability fails unless allow-listed with a reason and an unexpired date, and an unreachable
vulnerability database is reported as SKIPPED rather than passing as "no known vulnerabilities"."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "audit_deps.py"
TODAY = date(2026, 12, 6)


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("audit_deps", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["audit_deps"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


class FakePipAudit:
    """Answers like pip-audit would: the probe and jinja2 2.10 are vulnerable when the database answers."""

    def __init__(self, reachable: bool) -> None:
        self.reachable = reachable

    def __call__(self, cmd: Sequence[str]) -> subprocess.CompletedProcess[str]:
        if "freeze" in cmd:
            return subprocess.CompletedProcess(cmd, 0, "jinja2==2.10\nrequests==2.32.3\n-e file:///x\n", "")
        reqs = Path(cmd[cmd.index("-r") + 1]).read_text()
        ignored = {c.split("=", 1)[1] for c in cmd if c.startswith("--ignore-vuln=")}
        deps = []
        for line in reqs.split():
            name, version = line.split("==")
            vulns = []
            if self.reachable and (name, version) in {("requests", "2.19.1"), ("jinja2", "2.10")}:
                vulns = [{"id": f"PYSEC-{name}", "fix_versions": []}]
            deps.append(
                {"name": name, "version": version, "vulns": [v for v in vulns if v["id"] not in ignored]}
            )
        return subprocess.CompletedProcess(cmd, 0, json.dumps({"dependencies": deps, "fixes": []}), "")


def allowlist(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "allow.toml"
    path.write_text(body)
    return path


def test_a_known_vulnerability_fails_the_build(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = load().main(FakePipAudit(True), TODAY, allowlist(tmp_path, ""))
    assert code == 1 and "jinja2 2.10: PYSEC-jinja2" in capsys.readouterr().out


def test_an_allow_listed_vulnerability_with_reason_and_future_expiry_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = '[[ignore]]\nid = "PYSEC-jinja2"\npackage = "jinja2"\nreason = "unused"\nexpires = 2027-01-31\n'
    assert load().main(FakePipAudit(True), TODAY, allowlist(tmp_path, body)) == 0
    assert "allowed until 2027-01-31: PYSEC-jinja2" in capsys.readouterr().out


@pytest.mark.parametrize(
    "body",
    [
        '[[ignore]]\nid = "PYSEC-jinja2"\npackage = "jinja2"\nreason = "old"\nexpires = 2026-12-01\n',
        '[[ignore]]\nid = "PYSEC-jinja2"\npackage = "jinja2"\nexpires = 2027-12-01\n',
    ],
    ids=["expired", "no reason"],
)
def test_an_expired_or_unexplained_entry_fails(tmp_path: Path, body: str) -> None:
    assert load().main(FakePipAudit(True), TODAY, allowlist(tmp_path, body)) == 1


def test_an_unreachable_database_is_a_loud_skip_not_a_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert load().main(FakePipAudit(False), TODAY, allowlist(tmp_path, "")) == 0
    assert "SKIPPED" in capsys.readouterr().out
