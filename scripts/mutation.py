"""Mutation testing with mutmut (configured in pyproject.toml, [tool.mutmut]) and the score table.

    .venv/bin/python scripts/mutation.py [domain config services bitrix24 ...] [--max-children N]

Each target (default: all four) runs in a scratch copy of the worktree under $TMPDIR/crm-bridge-mutation/,
its [tool.mutmut] narrowed to the target's package and the tests that state its behaviour; the worktree
is never touched. Then one line per target: mutants, killed, survived, timeouts, no tests, score
(killed + timeouts over every mutant that ran). Survivors: `mutmut results` / `mutmut show NAME` in the
target's copy (printed at the end). Not part of CI: the whole run takes hours on two cores.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
B24 = "adapters/bitrix24/crm_bridge_bitrix24"
TARGETS: dict[str, tuple[list[str], list[str]]] = {  # name -> (files to mutate, tests to run)
    "domain": (["crm_bridge/domain/*"], ["tests/domain"]),
    "config": (["crm_bridge/config/*"], ["tests/config", "tests/cli"]),
    "services": (["crm_bridge/services/*"], ["tests/services", "tests/daemon"]),
    "bitrix24": ([f"{B24}/*"], ["tests/adapters/bitrix24", "tests/contract"]),
}
SKIP = shutil.ignore_patterns(".venv", ".git", "mutants", "__pycache__", "*.egg-info", ".mypy_cache")


def _narrowed(pyproject: str, only: list[str], tests: list[str]) -> str:
    """The [tool.mutmut] section with ``only_mutate`` and the test selection of one target."""

    def listed(values: list[str]) -> str:
        return "[" + ", ".join(json.dumps(v) for v in values) + "]"

    text = re.sub(r"(?ms)^only_mutate = \[.*?^\]", f"only_mutate = {listed(only)}", pyproject)
    return re.sub(
        r"(?m)^pytest_add_cli_args_test_selection = .*$",
        f"pytest_add_cli_args_test_selection = {listed(tests)}",
        text,
    )


def run_target(name: str, work: Path, max_children: int) -> dict[str, int]:
    only, tests = TARGETS[name]
    copy = work / name
    if copy.exists():
        shutil.rmtree(copy)
    shutil.copytree(ROOT, copy, ignore=SKIP, symlinks=True)
    pyproject = copy / "pyproject.toml"
    pyproject.write_text(_narrowed(pyproject.read_text(encoding="utf-8"), only, tests), encoding="utf-8")
    mutmut = str(Path(sys.executable).with_name("mutmut"))
    env = dict(os.environ)
    if name == "bitrix24":  # installed editable from the worktree: the mutated copy must come first
        env["PYTHONPATH"] = str(copy / "mutants" / "adapters" / "bitrix24")
    env.pop("CRM_BRIDGE_TEST_PG_URL", None)  # SQLite only: PostgreSQL doubles the time, kills nothing new
    subprocess.run([mutmut, "run", "--max-children", str(max_children)], cwd=copy, env=env, check=False)
    subprocess.run([mutmut, "export-cicd-stats"], cwd=copy, env=env, check=True)
    stats: dict[str, int] = json.loads((copy / "mutants" / "mutmut-cicd-stats.json").read_text())
    return stats


def score(stats: dict[str, int]) -> float | None:
    ran = stats["killed"] + stats["survived"] + stats["timeout"] + stats.get("suspicious", 0)
    return 100.0 * (stats["killed"] + stats["timeout"]) / ran if ran else None


def table(rows: dict[str, dict[str, int]]) -> str:
    columns = ("mutants", "killed", "survived", "timeout", "no tests", "score")
    lines = [f"{'package':<10} " + " ".join(f"{c:>9}" for c in columns)]
    for name, s in rows.items():
        value = score(s)
        shown = f"{value:6.1f}%" if value is not None else "    n/a"
        values = (s["total"], s["killed"], s["survived"], s["timeout"], s["no_tests"])
        lines.append(f"{name:<10} " + " ".join(f"{v:>9}" for v in values) + f" {shown:>9}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("targets", nargs="*", help=f"any of {', '.join(TARGETS)} (default: all)")
    parser.add_argument("--max-children", type=int, default=2)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "crm-bridge-mutation")
    args = parser.parse_args()
    unknown = [t for t in args.targets if t not in TARGETS]
    if unknown:
        parser.error(f"unknown target(s) {', '.join(unknown)}; known: {', '.join(TARGETS)}")
    rows = {name: run_target(name, args.work, args.max_children) for name in args.targets or list(TARGETS)}
    print(table(rows))
    print(f"survivors: cd {args.work}/<package> && {Path(sys.executable).with_name('mutmut')} results")


if __name__ == "__main__":
    main()
