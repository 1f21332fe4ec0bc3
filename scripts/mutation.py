"""Mutation testing with mutmut (configured in pyproject.toml, [tool.mutmut]) and the score table.

    .venv/bin/python scripts/mutation.py [domain config services bitrix24 amocrm hubspot ...]
        [--max-children N]

Each target (default: all six) runs in a scratch copy of the worktree under $TMPDIR/crm-bridge-mutation/,
its [tool.mutmut] narrowed to the target's package and the tests that state its behaviour; the worktree
is never touched. Then one table, a line per target: mutants, killed, survived, timeouts, no tests,
score (killed + timeouts over every mutant; a mutant no test reaches counts against the score), the
survivors listed as equivalent in tests/mutation_equivalents.md and the score with those left out.
Survivors not in that list are printed by name (`mutmut show NAME` in the target's copy shows the
diff), and so are entries of the list that no longer survive (stale: mutant names carry a number per
function, so an edited function renumbers them). Not part of CI: the whole run takes hours on two cores.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EQUIVALENTS = ROOT / "tests" / "mutation_equivalents.md"
ADAPTERS = ("bitrix24", "amocrm", "hubspot")  # adapters/<crm>/crm_bridge_<crm>, emulator excluded
TARGETS: dict[str, tuple[list[str], list[str]]] = {  # name -> (files to mutate, tests to run)
    "domain": (["crm_bridge/domain/*"], ["tests/domain"]),
    "config": (["crm_bridge/config/*"], ["tests/config", "tests/cli"]),
    "services": (["crm_bridge/services/*"], ["tests/services", "tests/daemon"]),
    **{
        crm: ([f"adapters/{crm}/crm_bridge_{crm}/*"], [f"tests/adapters/{crm}", "tests/contract"])
        for crm in ADAPTERS
    },
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


def run_target(name: str, work: Path, max_children: int, again: bool) -> Path:
    """Mutate and test one target in its scratch copy; ``again``: re-test only the previous survivors."""
    only, tests = TARGETS[name]
    copy = work / name
    mutmut = str(Path(sys.executable).with_name("mutmut"))
    env = dict(os.environ)
    if name in ADAPTERS:  # installed editable from the worktree: the mutated copy must come first
        env["PYTHONPATH"] = str(copy / "mutants" / "adapters" / name)
    env.pop("CRM_BRIDGE_TEST_PG_URL", None)  # SQLite only: PostgreSQL doubles the time, kills nothing new
    run = [mutmut, "run", "--max-children", str(max_children)]
    if again and (copy / "mutants").is_dir():
        # The production code is unchanged, so a killed mutant stays killed: bring the worktree's tests
        # over and re-test the mutants that survived (or had no test) last time.
        for where in (copy, copy / "mutants"):
            shutil.copytree(ROOT / "tests", where / "tests", ignore=SKIP, dirs_exist_ok=True)
        equivalent = equivalents()  # listed as equivalent: nothing a test could change
        left = [
            m
            for m, status in outcomes(copy, env).items()
            if status in ("survived", "no tests") and not listed(m, equivalent)
        ]
        if not left:
            return copy
        run += left
    else:
        if copy.exists():
            shutil.rmtree(copy)
        shutil.copytree(ROOT, copy, ignore=SKIP, symlinks=True)
        pyproject = copy / "pyproject.toml"
        narrowed = _narrowed(pyproject.read_text(encoding="utf-8"), only, tests)
        pyproject.write_text(narrowed, encoding="utf-8")
    subprocess.run(run, cwd=copy, env=env, check=False)
    return copy


def outcomes(copy: Path, env: dict[str, str] | None = None) -> dict[str, str]:
    """Every mutant of a target's copy and its outcome (killed, survived, timeout, no tests, ...)."""
    mutmut = str(Path(sys.executable).with_name("mutmut"))
    listed = subprocess.run(
        [mutmut, "results", "--all", "true"],
        cwd=copy,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return {
        m.group(1): m.group(2).strip() for m in re.finditer(r"(?m)^\s*([\w.]+__mutmut_\d+): (.+)$", listed)
    }


def equivalents() -> dict[str, str]:
    """The mutants listed as equivalent in tests/mutation_equivalents.md (``- `name`: reason``)."""
    if not EQUIVALENTS.exists():
        return {}
    text = EQUIVALENTS.read_text(encoding="utf-8")
    pattern = r"(?m)^- `([\w.]+__mutmut_(?:\d+|\*))`:? (.+)$"  # ``_*``: every mutant of that function
    return {m.group(1): m.group(2) for m in re.finditer(pattern, text)}


def listed(name: str, equivalent: dict[str, str]) -> bool:
    return name in equivalent or any(fnmatch.fnmatchcase(name, p) for p in equivalent if p.endswith("*"))


def counts(found: dict[str, str], equivalent: dict[str, str]) -> dict[str, int]:
    got = {"mutants": len(found)}
    for status in ("killed", "survived", "timeout", "no tests", "suspicious", "segfault", "skipped"):
        got[status] = sum(1 for s in found.values() if s == status)
    got["not run"] = sum(1 for s in found.values() if s == "not checked")  # a run stopped before them
    got["equivalent"] = sum(
        1 for m, s in found.items() if listed(m, equivalent) and s in ("survived", "no tests")
    )
    return got


def score(c: dict[str, int], without_equivalents: bool) -> float | None:
    """Killed (timeouts count as killed) over every mutant that ran or had no test to run (a mutant
    not run yet, in a stopped run, counts nowhere: the table shows how many)."""
    ran = c["mutants"] - c["skipped"] - c["not run"] - (c["equivalent"] if without_equivalents else 0)
    return 100.0 * (c["killed"] + c["timeout"]) / ran if ran else None


def table(rows: dict[str, dict[str, int]]) -> str:
    columns = (
        "mutants",
        "not run",
        "killed",
        "survived",
        "timeout",
        "no tests",
        "equivalent",
        "score",
        "score-eq",
    )
    lines = [f"{'package':<10} " + " ".join(f"{c:>10}" for c in columns)]
    for name, c in rows.items():
        values = [str(c[k]) for k in columns[:7]]
        for without in (False, True):
            value = score(c, without)
            values.append(f"{value:.1f}%" if value is not None else "n/a")
        lines.append(f"{name:<10} " + " ".join(f"{v:>10}" for v in values))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("targets", nargs="*", help=f"any of {', '.join(TARGETS)} (default: all)")
    parser.add_argument("--max-children", type=int, default=2)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "crm-bridge-mutation")
    parser.add_argument(
        "--again",
        action="store_true",
        help="reuse the last copy: bring the worktree's tests over and re-test only its survivors "
        "(valid while the production code is unchanged)",
    )
    parser.add_argument(
        "--report", action="store_true", help="run nothing: the table of the copies already there"
    )
    args = parser.parse_args()
    unknown = [t for t in args.targets if t not in TARGETS]
    if unknown:
        parser.error(f"unknown target(s) {', '.join(unknown)}; known: {', '.join(TARGETS)}")
    equivalent = equivalents()
    rows: dict[str, dict[str, int]] = {}
    unexplained: list[str] = []
    for name in args.targets or list(TARGETS):
        copy = args.work / name
        if not args.report:
            run_target(name, args.work, args.max_children, args.again)
        found = outcomes(copy)
        rows[name] = counts(found, equivalent)
        unexplained += [
            f"  {name}: {m} ({s})"
            for m, s in found.items()
            if s in ("survived", "no tests", "suspicious") and not listed(m, equivalent)
        ]
        unexplained += [
            f"  {name}: {m} is listed as equivalent but is {found[m]} (stale entry)"
            for m in equivalent
            if m in found and found[m] not in ("survived", "no tests")
        ]
    print(table(rows))
    print("score: killed + timeout over all mutants; score-eq: the same without the listed equivalents")
    print(f"equivalent mutants, each with its reason: {EQUIVALENTS.relative_to(ROOT)}")
    if unexplained:
        print("survivors neither killed nor listed as equivalent (mutmut show NAME in the copy):")
        print("\n".join(unexplained))
    print(f"copies: {args.work}/<package>")


if __name__ == "__main__":
    main()
