"""How fast the command line answers: each command run N times in a fresh interpreter (what an admin
types), with the median wall and CPU time, the peak resident memory of the child process and the number
of modules it imported (one more run under ``python -X importtime``), and which heavy libraries those are.

    .venv/bin/python benchmarks/bench_startup.py [N] [--src DIR]

N runs per command (default 10). The commands run in a temporary directory holding config.example.yaml
(secrets from dummy environment variables), after one untimed warm-up run each, with bytecode caching on
(PYTHONDONTWRITEBYTECODE removed), as an installed crm-bridge runs. ``--src DIR``: run the crm_bridge
and adapter sources of another checkout instead (e.g. ``git archive`` of an older commit unpacked in
DIR), to compare before and after. Wall time depends on the machine's load; CPU time (user + system)
much less so: on a busy machine compare the CPU column.

The commands with a start-up budget (issue 22: ``--help``, ``validate``, ``funnels`` and a verb's own
``--help`` answer within 0.3 s) get a verdict in the last column: the median CPU time against the
budget, and the median wall time beside it (on an idle machine wall is CPU plus a few milliseconds;
on a shared one it also holds the waits for a CPU, which the budget is not about).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]

COMMANDS: tuple[tuple[str, ...], ...] = (
    ("--help",),
    ("--version",),
    ("validate",),
    ("funnels",),
    ("status",),
    ("report", "--help"),
    ("doctor", "--help"),
    ("sync", "--help"),
    ("run", "--help"),
)

# Commands that must answer within this many seconds (issue 22), judged on the median CPU time.
BUDGET_S = 0.3
BUDGETED: frozenset[tuple[str, ...]] = frozenset(
    {("--help",), ("validate",), ("funnels",), ("doctor", "--help")}
)

# Top-level packages worth naming when a command imports them.
HEAVY = (
    "sqlalchemy",
    "alembic",
    "psycopg",
    "requests",
    "urllib3",
    "httpx",
    "fastapi",
    "starlette",
    "uvicorn",
    "jinja2",
    "matplotlib",
    "prometheus_client",
    "tenacity",
    "apscheduler",
    "openpyxl",
    "cryptography",
    "pydantic",
    "yaml",
)

SECRETS_ENV = {
    "B24_WEBHOOK_URL": "https://example.bitrix24.ru/rest/1/s3cr3t/",
    "TELEGRAM_BOT_TOKEN": "1:x",
    "SMTP_PASSWORD": "x",
}


@dataclass
class Run:
    wall: float  # seconds
    cpu: float  # seconds, user + system of the child
    max_rss: int  # KiB (ru_maxrss on Linux), the child's peak resident set
    status: int


def child_env(src: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(SECRETS_ENV)
    if src is not None:
        paths = [str(src), *(str(p) for p in sorted((src / "adapters").glob("*")) if p.is_dir())]
        env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


# Measures one command from a small process: Linux carries a process's peak RSS across fork and exec,
# so a child forked straight from this benchmark (rich loaded) would report at least our own size.
TRAMPOLINE = """
import os, sys, time
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.dup2(null, 2)
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(time.perf_counter() - started, usage.ru_utime + usage.ru_stime, usage.ru_maxrss,
      os.waitstatus_to_exitcode(status))
"""


def measure(command: list[str], cwd: Path, env: dict[str, str]) -> Run:
    """One run of ``command``: wall and CPU time and peak RSS of that process alone (``wait4``)."""
    result = subprocess.run(
        [sys.executable, "-S", "-c", TRAMPOLINE, *command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    wall, cpu, max_rss, status = result.stdout.split()
    return Run(float(wall), float(cpu), int(max_rss), int(status))


def run_once(args: tuple[str, ...], cwd: Path, env: dict[str, str]) -> Run:
    return measure([sys.executable, "-m", "crm_bridge", *args], cwd, env)


def run_interpreter(cwd: Path, env: dict[str, str]) -> Run:
    """``python -c pass``: the floor every command starts from."""
    return measure([sys.executable, "-c", "pass"], cwd, env)


REFERENCE = "for _ in range(3_000_000): pass"  # a fixed pure-Python workload: how fast the CPU is right now


def reference_ms(cwd: Path, env: dict[str, str], n: int) -> float:
    """Median CPU ms of ``REFERENCE`` (minus the bare interpreter): this host's speed varies by a
    third from one minute to the next (a shared VM), so every figure is read against it."""
    loops = [measure([sys.executable, "-S", "-c", REFERENCE], cwd, env).cpu for _ in range(n)]
    bare = [measure([sys.executable, "-S", "-c", "pass"], cwd, env).cpu for _ in range(n)]
    return (statistics.median(loops) - statistics.median(bare)) * 1000


def imported(args: tuple[str, ...], cwd: Path, env: dict[str, str]) -> list[str]:
    """Every module ``python -X importtime -m crm_bridge ARGS`` imported."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "crm_bridge", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return [
        line.rsplit("|", 1)[1].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:") and "imported package" not in line
    ]


def main() -> None:
    argv = sys.argv[1:]
    src: Path | None = None
    if "--src" in argv:
        at = argv.index("--src")
        src = Path(argv[at + 1]).resolve()
        del argv[at : at + 2]
    n = int(argv[0]) if argv else 10
    env = child_env(src)
    folder = Path(tempfile.mkdtemp(prefix="crm-bridge-bench-startup-"))
    shutil.copy(ROOT / "config.example.yaml", folder / "config.yaml")
    console = Console() if sys.stdout.isatty() else Console(width=160)
    console.print(
        f"[bold]crm-bridge start-up[/bold]: {n} runs per command, median; load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; sources: {src or 'installed'}"
    )
    table = Table(title_justify="left")
    numbers = ("wall ms", "CPU ms", "best CPU ms", "peak RSS MiB", "modules", "exit")
    for header in ("command", *numbers, "heavy libraries", f"within {BUDGET_S:g} s (CPU; wall)"):
        table.add_column(header, justify="right" if header in numbers else "left")
    speed_before = reference_ms(folder, env, n)
    floor = [run_interpreter(folder, env) for _ in range(n)]
    table.add_row(
        "(python -c pass)",
        f"{statistics.median(r.wall for r in floor) * 1000:.0f}",
        f"{statistics.median(r.cpu for r in floor) * 1000:.0f}",
        f"{min(r.cpu for r in floor) * 1000:.0f}",
        f"{max(r.max_rss for r in floor) / 1024:.1f}",
        "-",
        "0",
        "",
        "",
    )
    verdicts: list[str] = []
    for args in COMMANDS:
        run_once(args, folder, env)  # warm-up: bytecode written, the SQLite store created
        runs = [run_once(args, folder, env) for _ in range(n)]
        modules = imported(args, folder, env)
        heavy = sorted({m.split(".")[0] for m in modules} & set(HEAVY))
        wall = statistics.median(r.wall for r in runs)
        cpu = statistics.median(r.cpu for r in runs)
        verdict = budget_verdict(args, cpu, wall)
        if verdict:
            verdicts.append(f"crm-bridge {' '.join(args)}: {verdict}")
        table.add_row(
            "crm-bridge " + " ".join(args),
            f"{wall * 1000:.0f}",
            f"{cpu * 1000:.0f}",
            f"{min(r.cpu for r in runs) * 1000:.0f}",
            f"{max(r.max_rss for r in runs) / 1024:.1f}",
            str(len(modules)),
            ",".join(sorted({str(r.status) for r in runs})),
            ", ".join(heavy),
            verdict,
        )
    console.print(table)
    speed_after = reference_ms(folder, env, n)
    console.print(
        f"host speed: the reference loop ({REFERENCE!r}) took {speed_before:.0f} ms of CPU before "
        f"the commands and {speed_after:.0f} ms after (median of {n}); a slower host moves every "
        "figure by the same ratio",
        highlight=False,
    )
    for line in verdicts:
        console.print(line, highlight=False)


def budget_verdict(args: tuple[str, ...], cpu: float, wall: float) -> str:
    """``yes; yes`` / ``NO; yes`` …: whether a budgeted command's median CPU and wall times (seconds)
    are within ``BUDGET_S``; empty for a command without a budget."""
    if args not in BUDGETED:
        return ""
    return "; ".join("yes" if value <= BUDGET_S else "NO" for value in (cpu, wall))


if __name__ == "__main__":
    main()
