"""Supply-chain check run by CI (.ci/run): pip-audit over the exact versions installed in .venv (the
locked set CI tests with: ``pip freeze``, editable crm-bridge packages excluded).

Fails (exit 1) on a known vulnerability unless .ci/pip-audit-allowlist.toml lists it with a reason and
an expiry date that has not passed; an entry without either, or expired, fails too. When pip-audit
cannot reach its vulnerability database (a probe with a version known to be vulnerable finds nothing,
or the service cannot be resolved) the audit is SKIPPED, loudly, with exit 0: an unreachable database
must not pass for "no known vulnerabilities"."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ALLOWLIST = ROOT / ".ci" / "pip-audit-allowlist.toml"
PROBE = "requests==2.19.1"  # CVE-2018-18074 / PYSEC-2018-28: every vulnerability database lists it
Runner = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]


@dataclass(frozen=True)
class Allowed:
    id: str
    package: str
    reason: str
    expires: date


def read_allowlist(text: str, today: date) -> tuple[list[Allowed], list[str]]:
    """(entries in force, problems): an entry lacking id/package/reason/expiry, or expired, is a problem."""
    entries: list[Allowed] = []
    problems: list[str] = []
    for n, raw in enumerate(tomllib.loads(text).get("ignore", []), 1):
        missing = [k for k in ("id", "package", "reason", "expires") if not raw.get(k)]
        if missing:
            problems.append(f"allowlist entry {n}: missing {', '.join(missing)}")
            continue
        expires = raw["expires"]
        if not isinstance(expires, date):
            problems.append(f"allowlist entry {n} ({raw['id']}): expires must be a date like 2027-03-01")
            continue
        if expires < today:
            problems.append(f"allowlist entry {raw['id']} ({raw['package']}) expired on {expires}: review it")
            continue
        entries.append(Allowed(str(raw["id"]), str(raw["package"]), str(raw["reason"]), expires))
    return entries, problems


def _audit(run: Runner, requirements: str, extra: Sequence[str] = ()) -> dict[str, object] | None:
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fh:
        fh.write(requirements)
    cmd = [sys.executable, "-m", "pip_audit", "--no-deps", "--disable-pip", "-r", fh.name, "-f", "json"]
    done = run([*cmd, "--progress-spinner", "off", *extra])
    Path(fh.name).unlink()
    try:
        return json.loads(done.stdout)  # type: ignore[no-any-return]
    except json.JSONDecodeError:
        return None


def vulnerabilities(report: dict[str, object]) -> list[tuple[str, str, str]]:
    """(package, version, advisory id) of every finding in a pip-audit JSON report."""
    found = []
    for dep in report.get("dependencies", []):  # type: ignore[attr-defined]
        for vuln in dep.get("vulns", []):
            found.append((dep["name"], dep.get("version", ""), vuln["id"]))
    return found


def database_reachable(run: Runner) -> bool:
    report = _audit(run, PROBE + "\n")
    return report is not None and bool(vulnerabilities(report))


def main(run: Runner | None = None, today: date | None = None, allowlist: Path = ALLOWLIST) -> int:
    def default_run(cmd: Sequence[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(cmd), capture_output=True, text=True, check=False)

    runner = run or default_run
    entries, problems = read_allowlist(allowlist.read_text(encoding="utf-8"), today or date.today())
    for problem in problems:
        print(f"pip-audit: {problem}")
    if not database_reachable(runner):
        print(
            "pip-audit: SKIPPED -- its vulnerability database (PyPI JSON API / OSV) is not reachable from "
            f"this machine (a probe with {PROBE}, known vulnerable, found nothing). Dependencies NOT audited."
        )
        return 1 if problems else 0
    frozen = runner([sys.executable, "-m", "pip", "freeze", "--exclude-editable"]).stdout
    pinned = "\n".join(line for line in frozen.splitlines() if "==" in line) + "\n"
    report = _audit(runner, pinned, [f"--ignore-vuln={e.id}" for e in entries])
    if report is None:
        print("pip-audit: no report (see its output above)")
        return 1
    found = vulnerabilities(report)
    for package, version, advisory in found:
        print(f"pip-audit: {package} {version}: {advisory} (fix it, or list it in {allowlist.name})")
    for entry in entries:
        print(f"pip-audit: allowed until {entry.expires}: {entry.id} in {entry.package} -- {entry.reason}")
    print(f"pip-audit: {len(pinned.splitlines())} pinned distribution(s) audited, {len(found)} finding(s)")
    return 1 if found or problems else 0


if __name__ == "__main__":
    sys.exit(main())
