"""The reliability suite at a larger size, printing the figures: the fault matrix (20 % of the CRM's
requests failing), the kill matrix (SIGKILL while the CRM holds its answer to a random one of the command's
requests, or with --kill-at moment at a random moment; tries / killed / lost / duplicated), three daemon
replicas on PostgreSQL taking 1,000 leads while the job holder is killed twice.

    .venv/bin/python benchmarks/chaos.py                 # everything (PostgreSQL from CRM_BRIDGE_TEST_PG_URL)
    .venv/bin/python benchmarks/chaos.py --quick         # small sizes, a minute or two
    .venv/bin/python benchmarks/chaos.py --only kill --kills 10
    .venv/bin/python benchmarks/chaos.py --only kill --kill-at moment   # the older random-moment kills

The counts come from the CRM (the sandbox's records), not from crm-bridge's bookkeeping."""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the tests' AnswerGate

from chaos_matrices import KILL_PHASES, fault_run, kill_phase, replica_run  # noqa: E402
from chaos_world import World  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from sandbox_fixture import AnswerGate  # noqa: E402

SECRET_KEY = "uY2ZLlzYhvfG6nsi9bXqoLM1dHRMjUkgBd0BctmpeKo="


def pg_schema_url(base: str) -> tuple[str, str]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    schema = f"crm_bridge_chaos_{uuid.uuid4().hex[:10]}"
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False), schema


def drop_schema(base: str, schema: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


def faults(console: Console, root: Path, rows: int, new_leads: int, seeds: int) -> None:
    table = Table(
        title=f"Fault matrix: 20 % of CRM requests fail ({rows} CSV rows + {new_leads} CRM leads per run)"
    )
    for column in (
        "seed",
        "runs per command (>1: exit 1, rerun)",
        "CRM requests",
        "5xx / dropped",
        "leads",
        "lost",
        "duplicated",
        "tasks lost",
        "tasks dup.",
    ):
        table.add_column(column, justify="right")
    for seed in range(seeds):
        world = World(root / f"faults-{seed}", read_timeout=0.5, max_retries=2)
        try:
            result = fault_run(world, share=0.2, rows=rows, new_leads=new_leads, seed=seed)
        finally:
            world.close()
        reruns = ", ".join(f"{name} {len(codes)}" for name, codes in result.runs.items())
        bad = [m for m in result.messages if "rerun `crm-bridge" not in m]
        table.add_row(
            str(seed),
            reruns + (f" ({len(bad)} without a rerun hint)" if bad else ""),
            str(result.requests),
            str(result.injected),
            str(result.leads),
            str(result.lost),
            str(result.duplicated),
            str(result.tasks_lost),
            str(result.tasks_duplicated),
        )
    console.print(table)


def kills(console: Console, root: Path, kills_per_phase: int, sizes: dict[str, int], at: str) -> None:
    # moment: about how long each command works at 200 ms per CRM answer (a kill is drawn within it)
    spans = {"intake import": 3.0, "sync": 3.0, "distribution": 3.0, "tier push": 1.5}
    where = "a random CRM request's held answer" if at == "request" else "a random moment"
    table = Table(title=f"Kill matrix: SIGKILL at {where}, then a rerun")
    for column in ("phase", "size", "tries", "killed", "lost", "duplicated", "aimed at"):
        table.add_column(column, justify="right")
    rng = random.Random(12)
    for phase in KILL_PHASES:
        gate = AnswerGate() if at == "request" else None
        world = World(root / f"kill-{phase.replace(' ', '-')}", gate=gate)
        try:
            result = kill_phase(world, phase, sizes[phase], kills_per_phase, rng, spans[phase])
        finally:
            world.close()
        table.add_row(
            phase,
            str(sizes[phase]),
            str(result.tries),
            str(result.killed),
            str(result.lost),
            str(result.duplicated),
            ", ".join(result.aimed),
        )
    console.print(table)


def replicas(console: Console, root: Path, leads: int, pg_url: str) -> None:
    url, schema = pg_schema_url(pg_url)
    world = World(root / "replicas", state_url=url, lease=5.0)
    started = time.monotonic()
    try:
        result = replica_run(world, leads, kills=2)
    finally:
        world.close()
        drop_schema(pg_url, schema)
    table = Table(
        title="Replicas: 3 daemons on PostgreSQL, the distribute holder SIGKILLed twice (and restarted)"
    )
    for column in (
        "leads",
        "kills",
        "leads lost",
        "leads dup.",
        "tasks lost",
        "tasks dup.",
        "job moved after (s)",
        "run (s)",
    ):
        table.add_column(column, justify="right")
    table.add_row(
        str(result.leads),
        str(result.kills),
        str(result.lost),
        str(result.duplicated),
        str(result.tasks_lost),
        str(result.tasks_duplicated),
        ", ".join(f"{s:.1f}" for s in result.takeover_seconds),
        f"{time.monotonic() - started:.0f}",
    )
    console.print(table)
    console.print(
        "lease period 5 s: the job moved within one lease period when each value is <= 5 (+ status polling)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("--only", choices=["faults", "kill", "replicas"], action="append")
    parser.add_argument("--kills", type=int, default=None, help="kills per phase (default 5; --quick 2)")
    parser.add_argument(
        "--kill-at",
        choices=["request", "moment"],
        default="request",
        help="where a kill lands: while the answer to a random CRM request is held, or at a random moment",
    )
    parser.add_argument("--leads", type=int, default=None, help="leads through the replicas (default 1000)")
    parser.add_argument("--pg-url", default=os.environ.get("CRM_BRIDGE_TEST_PG_URL", ""))
    args = parser.parse_args()
    os.environ.setdefault("CRM_BRIDGE_SECRET_KEY", SECRET_KEY)
    only = set(args.only or ["faults", "kill", "replicas"])
    console = Console(width=180)
    with tempfile.TemporaryDirectory(prefix="crm-bridge-chaos-") as tmp:
        root = Path(tmp)
        if "faults" in only:
            faults(
                console,
                root,
                rows=40 if args.quick else 200,
                new_leads=10 if args.quick else 50,
                seeds=1 if args.quick else 2,
            )
        if "kill" in only:
            sizes = {"intake import": 400, "sync": 2000, "distribution": 60, "tier push": 30}
            if args.quick:
                sizes = {"intake import": 60, "sync": 300, "distribution": 12, "tier push": 6}
            kills(console, root, args.kills or (2 if args.quick else 5), sizes, args.kill_at)
        if "replicas" in only:
            if not args.pg_url:
                console.print("replicas skipped: set CRM_BRIDGE_TEST_PG_URL or --pg-url")
            else:
                replicas(console, root, args.leads or (100 if args.quick else 1000), args.pg_url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
