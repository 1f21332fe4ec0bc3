"""Mutation testing with mutmut (configured in pyproject.toml, [tool.mutmut]) and the score table.

    .venv/bin/python scripts/mutation.py [domain config services bitrix24 amocrm hubspot ...]
        [--max-children N] [--again | --unrun | --report]

Each target (default: all six) runs in a fresh scratch copy of the worktree under
$TMPDIR/crm-bridge-mutation/, its [tool.mutmut] narrowed to the target's package and the tests that
state its behaviour; the worktree is never touched except for the target's ledger.

The ledger, tests/mutation_ledger/<target>.json (committed), keeps the outcomes from run to run, so a
run of many hours can be done a session at a time: per source file, per mutated function (mutmut's
mangled name, ``x_func`` or ``xǁClassǁmethod``), the 12-character hash mutmut takes of the function's
original source (its AST) and one letter per mutant number (see ``LETTER``). Before a run the copy's
mutmut state (``mutants/<file>.meta``) is seeded from it with the killed and timed-out mutants, so
mutmut itself skips those whose function is unchanged and re-tests the rest: survivors (a new test may
kill them), mutants with no test, mutants not run yet, and every mutant of a function whose hash
changed. mutmut writes each mutant's outcome to its .meta file as soon as it has it; the ledger is
merged from those files every minute during the run, at its end and when it is stopped (Ctrl-C,
SIGTERM), so a stopped run keeps what it finished. A ledger written by another mutmut version is
ignored (its mutant numbering may differ).

Then one table, a line per target, from the ledger (merged with a copy still there): mutants, not run
yet, killed, survived, timeouts, no tests, score (killed + timeouts over every mutant that ran; a
mutant no test reaches counts against the score), the survivors listed as equivalent in
tests/mutation_equivalents.md and the score with those left out. Survivors not in that list are printed
by name (`mutmut show NAME` in the target's copy shows the diff), and so are entries of the list that
no longer survive (stale: mutant names carry a number per function, so an edited function renumbers
them). Not part of CI: the whole run takes many hours on two cores.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EQUIVALENTS = ROOT / "tests" / "mutation_equivalents.md"
LEDGERS = ROOT / "tests" / "mutation_ledger"
ADAPTERS = ("bitrix24", "amocrm", "hubspot")  # adapters/<crm>/crm_bridge_<crm>, emulator excluded
TARGETS: dict[str, tuple[list[str], list[str]]] = {  # name -> (files to mutate, tests to run)
    "domain": (["crm_bridge/domain/*"], ["tests/domain"]),
    "config": (["crm_bridge/config/*"], ["tests/config", "tests/cli"]),
    # the services' tests, and those that reach them through the web app, the bot, the daemon and the
    # events endpoint (the bot's conversation, the portal, events and metrics are driven from there);
    # the schema fuzzing (hypothesis over every endpoint) would make each survivor cost minutes, and
    # tests/reliability drives the CLI in child processes (which run no mutant) from benchmarks/
    "services": (
        ["crm_bridge/services/*"],
        [
            "tests/services",
            "tests/daemon",
            "tests/web",
            "tests/events",
            "tests/security",
            "--ignore=tests/web/test_web_fuzz.py",
        ],
    ),
    # the adapters' own tests and the shared contract suite; the CLI end-to-end and SIGKILL tests run
    # the CLI in child processes, which import the worktree's code (no mutant) and fail mutmut's
    # trampoline, as tests/reliability would for the services. An adapter's package is mutated at the
    # copy's top level (see ``_lift``): mutmut names a mutant by its file's path from there, and the
    # tests import ``crm_bridge_<crm>``, not ``adapters.<crm>.crm_bridge_<crm>``
    **{
        crm: (
            [f"crm_bridge_{crm}/*"],
            [
                f"tests/adapters/{crm}",
                "tests/contract",
                f"--ignore=tests/adapters/{crm}/test_{crm}_cli_e2e.py",
                f"--ignore=tests/adapters/{crm}/test_{crm}_sigkill.py",
            ],
        )
        for crm in ADAPTERS
    },
}
SKIP = shutil.ignore_patterns(".venv", ".git", "mutants", "__pycache__", "*.egg-info", ".mypy_cache")


# --- the ledger -------------------------------------------------------------------------------------
# One letter per mutant outcome; mutmut's exit codes (mutmut/stats.py, status_by_exit_code) to letters.
LETTER = {1: "k", 3: "k", 37: "k", 36: "t", 24: "t", -24: "t", 152: "t", 255: "t", 0: "s", 5: "n", 33: "n"}
LETTER.update({34: "-", 35: "?", -11: "x", -9: "x"})  # skipped, suspicious, segfault (or killed by a stop)
NOT_RUN = "."  # no outcome yet (mutmut's None; 2: the check was interrupted)
STATUS = {
    "k": "killed",
    "t": "timeout",
    "s": "survived",
    "n": "no tests",
    "-": "skipped",
    "?": "suspicious",
    "x": "segfault",
    NOT_RUN: "not checked",
}
CODE = {"k": 1, "t": 36, "s": 0, "n": 33, "-": 34, "?": 35, "x": -11}  # a letter back to an exit code
KEPT = {"k", "t"}  # seeded into a new run: not tested again while the function is unchanged
FORMAT = (
    "files: source file -> mutated function (mutmut's mangled name) -> [hash of the function's original "
    "source (mutmut's), one letter per mutant number from 1: k killed, t timeout, s survived, "
    "n no tests, - skipped, ? suspicious, x segfault, . not run yet]; written by scripts/mutation.py"
)

Functions = dict[str, tuple[str, str]]  # mangled function name -> (hash, outcome letters)
Ledger = dict[str, Functions]  # source file (relative to the worktree) -> its functions


def letter(exit_code: int | None) -> str:
    if exit_code is None or exit_code == 2:
        return NOT_RUN
    return LETTER.get(exit_code, "?")


def module_of(source_file: str) -> str:
    """The module part of mutmut's mutant names for a source file (mutmut's ``get_mutant_name``)."""
    module = source_file.removesuffix(".py").replace("/", ".")
    return module.removeprefix("src.")


def mutant_name(source_file: str, function: str, number: int) -> str:
    return f"{module_of(source_file)}.{function}__mutmut_{number}".replace(".__init__.", ".")


def mutmut_version() -> str:
    try:
        return metadata.version("mutmut")
    except metadata.PackageNotFoundError:
        return "unknown"


def load_ledger(path: Path, version: str) -> Ledger:
    """A target's ledger; empty when there is none or another mutmut version wrote it."""
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("mutmut") != version:
        print(f"{path.name}: written by mutmut {data.get('mutmut')}, not {version}: starting afresh")
        return {}
    return {
        file: {function: (entry[0], entry[1]) for function, entry in functions.items()}
        for file, functions in data["files"].items()
    }


def save_ledger(path: Path, ledger: Ledger, version: str) -> None:
    """Written whole to a temporary file then renamed over the ledger: a stop never leaves half a file.
    One line per function, sorted, so a commit's diff shows which functions moved."""
    lines = [
        "{",
        f'"format": {json.dumps(FORMAT, ensure_ascii=False)},',
        f'"mutmut": {json.dumps(version)},',
        '"files": {',
    ]
    files = sorted(f for f in ledger if ledger[f])
    for i, file in enumerate(files):
        entries = [
            f"  {json.dumps(function, ensure_ascii=False)}: {json.dumps(list(ledger[file][function]))}"
            for function in sorted(ledger[file])
        ]
        lines.append(f" {json.dumps(file)}: {{")
        lines.append(",\n".join(entries))
        lines.append(" }" + ("," if i < len(files) - 1 else ""))
    lines += ["}", "}"]
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # one per writer: --report may run too
    scratch.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(scratch, path)


def read_copy(copy: Path) -> Ledger:
    """What mutmut recorded in a copy (``mutants/<file>.meta``: the function hashes and each mutant's
    exit code, written as each mutant finishes). A file caught mid-write is left out this time."""
    found: Ledger = {}
    mutants = copy / "mutants"
    if not mutants.is_dir():
        return found
    for meta in sorted(mutants.rglob("*.py.meta")):
        file = meta.relative_to(mutants).as_posix().removesuffix(".meta")
        try:
            data = json.loads(meta.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        codes: dict[str, dict[int, int | None]] = {}
        for key, code in data.get("exit_code_by_key", {}).items():
            head, _, number = key.rpartition("__mutmut_")
            codes.setdefault(head, {})[int(number)] = code
        functions: Functions = {}
        for function, digest in data.get("hash_by_function_name", {}).items():
            head = mutant_name(file, function, 0).rpartition("__mutmut_")[0]
            numbered = codes.get(head)
            if numbered:
                letters = [NOT_RUN] * max(numbered)
                for number, code in numbered.items():
                    letters[number - 1] = letter(code)
                functions[function] = (digest, "".join(letters))
        found[file] = functions
    return found


def merge(ledger: Ledger, copy: Ledger) -> Ledger:
    """The ledger updated with a copy's outcomes. A file the copy knows is described by the copy
    (functions gone from the source leave the ledger); a function whose hash is unchanged keeps the
    ledger's outcome for each mutant the copy has not run (yet); a changed function starts afresh."""
    merged = dict(ledger)
    for file, functions in copy.items():
        before = ledger.get(file, {})
        now: Functions = {}
        for function, (digest, letters) in functions.items():
            old = before.get(function)
            if old is not None and old[0] == digest and len(old[1]) == len(letters):
                letters = "".join(o if n == NOT_RUN else n for n, o in zip(letters, old[1], strict=True))
            now[function] = (digest, letters)
        merged[file] = now
    return merged


def seed(copy: Path, ledger: Ledger, keep: set[str]) -> None:
    """Give mutmut the ledger's outcomes ``keep`` (letters) in the copy's ``mutants/<file>.meta``:
    mutmut keeps a recorded outcome for a function whose hash is unchanged and does not run it again."""
    for file, functions in ledger.items():
        if not (copy / file).is_file():
            continue
        meta = copy / "mutants" / f"{file}.meta"
        meta.parent.mkdir(parents=True, exist_ok=True)
        codes: dict[str, int | None] = {}
        for function, (_, letters) in functions.items():
            for number, outcome in enumerate(letters, start=1):
                codes[mutant_name(file, function, number)] = code_of(outcome) if outcome in keep else None
        data = {
            "exit_code_by_key": codes,
            "hash_by_function_name": {function: digest for function, (digest, _) in functions.items()},
            "type_check_error_by_key": {},
            "durations_by_key": {},
            "estimated_durations_by_key": {},
        }
        meta.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def code_of(outcome: str) -> int | None:
    """An exit code mutmut reads back as that letter's outcome."""
    return CODE.get(outcome)


def outcomes_of(ledger: Ledger) -> dict[str, str]:
    """Every mutant of a ledger and its outcome (killed, survived, timeout, no tests, not checked...)."""
    return {
        mutant_name(file, function, number): STATUS[outcome]
        for file, functions in ledger.items()
        for function, (_, letters) in functions.items()
        for number, outcome in enumerate(letters, start=1)
    }


def reported_ledger(name: str, work: Path, version: str) -> Ledger:
    """The target's ledger, merged with (and saved from) its copy when one is there: ``--report``
    during or after a run that could not save (killed outright) still keeps what it did."""
    path = LEDGERS / f"{name}.json"
    ledger = load_ledger(path, version)
    copy = work / name
    if (copy / "mutants").is_dir():
        ledger = merge(ledger, read_copy(copy))
        save_ledger(path, ledger, version)
    return ledger


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


def _lift(copy: Path, crm: str) -> None:
    """Move an adapter's package to the copy's top level (``adapters/<crm>/crm_bridge_<crm>`` →
    ``crm_bridge_<crm>``) and mutate it there: mutmut puts ``mutants/`` first on the tests' path, so
    ``import crm_bridge_<crm>`` finds the mutated package (the installed one, a finder that setuptools
    appends after the path, comes second), and its mutant names match the modules the tests import."""
    package = f"crm_bridge_{crm}"
    source = copy / "adapters" / crm / package
    for link in [p for p in source.rglob("*") if p.is_symlink()]:  # relative links (the shipped
        target = link.resolve(strict=True)  # mapping) would point elsewhere one level up: made files
        link.unlink()
        shutil.copy2(target, link)
    shutil.move(source, copy / package)
    pyproject = copy / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    text = re.sub(r"(?ms)^source_paths = \[.*?^\]", f'source_paths = ["crm_bridge", "{package}"]', text)
    # the emulator is test equipment, as in [tool.mutmut] do_not_mutate
    text = re.sub(r"(?ms)^do_not_mutate = \[.*?^\]", f'do_not_mutate = ["{package}/sandbox/*"]', text)
    pyproject.write_text(text, encoding="utf-8")


def run_target(name: str, work: Path, max_children: int, again: bool, unrun_only: bool = False) -> Ledger:
    """Mutate and test one target in a fresh copy, its ledger seeded in and merged back (every minute
    and at the end, also when stopped); ``again``: re-test only the ledger's survivors (and mutants with
    no test) that are not listed as equivalent; ``unrun_only``: test only the mutants with no outcome
    yet (and those of functions that changed), the recorded survivors kept as they are. Returns the
    target's ledger."""
    only, tests = TARGETS[name]
    copy = work / name
    version = mutmut_version()
    path = LEDGERS / f"{name}.json"
    ledger = load_ledger(path, version)
    if copy.exists():  # a copy from an earlier run this session: keep what it found first
        ledger = merge(ledger, read_copy(copy))
        save_ledger(path, ledger, version)
        shutil.rmtree(copy)
    shutil.copytree(ROOT, copy, ignore=SKIP, symlinks=True)
    pyproject = copy / "pyproject.toml"
    pyproject.write_text(_narrowed(pyproject.read_text(encoding="utf-8"), only, tests), encoding="utf-8")
    if name in ADAPTERS:
        _lift(copy, name)
    run = [str(Path(sys.executable).with_name("mutmut")), "run", "--max-children", str(max_children)]
    if again:
        equivalent = equivalents()
        left = [
            m
            for m, status in outcomes_of(ledger).items()
            if status in ("survived", "no tests") and not listed(m, equivalent)
        ]
        if not left:
            return ledger
        seed(copy, ledger, set(CODE))
        run += left
    else:
        seed(copy, ledger, KEPT | {"s"} if unrun_only else KEPT)
    env = dict(os.environ)
    env.pop("CRM_BRIDGE_TEST_PG_URL", None)  # SQLite only: PostgreSQL doubles the time, kills nothing new
    # As in an activated venv: the scripts tests/cli runs (backup.sh...) find crm-bridge on PATH, the
    # copy having no .venv of its own.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])

    def keep() -> None:
        nonlocal ledger
        ledger = merge(ledger, read_copy(copy))
        save_ledger(path, ledger, version)

    _run_keeping(run, copy, env, keep)
    return ledger


def _run_keeping(
    command: list[str], cwd: Path, env: dict[str, str], keep: Callable[[], None], every: float = 60
) -> None:
    """Run ``command``, calling ``keep`` every ``every`` seconds while it runs and once at the end,
    however it ends. Ctrl-C or SIGTERM stops it gently (SIGINT: mutmut stops its workers), keeps,
    and raises KeyboardInterrupt."""

    terminated = False

    def stop(signum: int, frame: object) -> None:
        nonlocal terminated
        terminated = True
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    # Started in the background, this script (and so mutmut) would ignore SIGINT; a handler is reset
    # to the default by exec, so mutmut turns SIGINT into its own stop (it saves what it finished).
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    process = subprocess.Popen(command, cwd=cwd, env=env)
    try:
        while True:
            try:
                process.wait(timeout=every)
                break
            except subprocess.TimeoutExpired:
                keep()
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut the keeping short
        # A Ctrl-C reached mutmut too: let it stop by itself first; a SIGTERM reached only this script.
        asks = (signal.SIGINT, signal.SIGKILL) if terminated else (None, signal.SIGINT, signal.SIGKILL)
        for ask in asks:
            if process.poll() is not None:
                break
            if ask is not None:
                process.send_signal(ask)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        keep()
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)


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
        help="re-test only the ledger's survivors and mutants with no test (not those listed as "
        "equivalent), e.g. after adding tests; the mutants not run yet stay for a plain run",
    )
    parser.add_argument(
        "--unrun",
        action="store_true",
        help="test only the mutants not run yet (and every mutant of a function that changed); the "
        "recorded survivors stay as they are until a plain run or --again",
    )
    parser.add_argument(
        "--report",
        action="store_true",
        help="run nothing: the table from the ledgers (merged with a copy still there)",
    )
    args = parser.parse_args()
    unknown = [t for t in args.targets if t not in TARGETS]
    if unknown:
        parser.error(f"unknown target(s) {', '.join(unknown)}; known: {', '.join(TARGETS)}")
    version = mutmut_version()
    ledgers: dict[str, Ledger] = {}
    stopped = False
    try:
        for name in args.targets or list(TARGETS):
            if args.report:
                ledgers[name] = reported_ledger(name, args.work, version)
            else:
                ledgers[name] = run_target(name, args.work, args.max_children, args.again, args.unrun)
    except KeyboardInterrupt:
        stopped = True
        print(f"stopped; what finished is in {LEDGERS.relative_to(ROOT)}/")
        for name in args.targets or list(TARGETS):
            if name not in ledgers and (LEDGERS / f"{name}.json").exists():
                ledgers[name] = load_ledger(LEDGERS / f"{name}.json", version)
    print(report(ledgers))
    print(f"copies: {args.work}/<package>")
    if stopped:
        sys.exit(130)


def report(ledgers: dict[str, Ledger]) -> str:
    equivalent = equivalents()
    rows: dict[str, dict[str, int]] = {}
    unexplained: list[str] = []
    for name, ledger in ledgers.items():
        found = outcomes_of(ledger)
        rows[name] = counts(found, equivalent)
        unexplained += [
            f"  {name}: {m} ({s})"
            for m, s in found.items()
            if s in ("survived", "no tests", "suspicious", "segfault") and not listed(m, equivalent)
        ]
        unexplained += [
            f"  {name}: {m} is listed as equivalent but is {found[m]} (stale entry)"
            for m in equivalent
            if m in found and found[m] not in ("survived", "no tests", "not checked")
        ]
    lines = [
        table(rows),
        "score: killed + timeout over the mutants that ran; score-eq: the same without the listed "
        "equivalents; not run: left for the next run (the ledger keeps the rest)",
        f"equivalent mutants, each with its reason: {EQUIVALENTS.relative_to(ROOT)}",
    ]
    if unexplained:
        lines.append("survivors neither killed nor listed as equivalent (mutmut show NAME in the copy):")
        lines += unexplained
    return "\n".join(lines)


if __name__ == "__main__":
    main()
