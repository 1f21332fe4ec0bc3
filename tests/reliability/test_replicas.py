"""Replicas: three ``crm-bridge run`` daemons on one PostgreSQL store take partner leads through their
intake endpoints while the replica holding the distribute job is SIGKILLed twice (and restarted): every
lead is created once, assigned once and gets one task; the job moves within one lease period. Also: a
second daemon on one SQLite file is refused, and the CRM rate budget is one budget for all replicas."""

from __future__ import annotations

import json
import multiprocessing
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from chaos_matrices import replica_run
from chaos_world import PATIENCE, World, wait_until
from pg_schemas import pg_schema_url
from sqlalchemy import create_engine, text

pytestmark = pytest.mark.slow  # real processes and CRM sandboxes


LEADS = 40


@pytest.fixture
def pg_state_url(postgres_url: str) -> Iterator[str]:
    """A PostgreSQL schema of the test's own (dropped afterwards), as a state.url."""
    schema = f"crm_bridge_rel_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield pg_schema_url(postgres_url, schema)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def world_options(request: pytest.FixtureRequest) -> dict[str, object]:
    if "pg" in request.node.name:
        return {"state_url": request.getfixturevalue("pg_state_url"), "lease": 3.0}
    return {}


def test_pg_three_replicas_lose_no_lead_and_duplicate_no_task_when_the_job_holder_is_killed_twice(
    world: World,
) -> None:
    result = replica_run(world, LEADS, kills=2)
    assert (result.lost, result.duplicated) == (0, 0), result
    assert (result.tasks_lost, result.tasks_duplicated) == (0, 0), result
    assert len(result.takeover_seconds) == 2
    # every replica serves HTTP and is live and ready whether or not it holds jobs; one holds distribute
    assert len(result.probes) == 3, result
    assert [(health, ready) for health, ready, _ in result.probes] == [(200, 200)] * 3, result
    assert sum(held for _, _, held in result.probes) == 1, result
    assert result.most_holders == 1, result  # never two replicas running distribute at once


def test_a_second_daemon_on_one_sqlite_file_is_refused_and_a_killed_ones_restart_is_not(world: World) -> None:
    assert world.cli("provision").code == 0
    first = world.process("run", "--no-http")
    try:
        wait_until("the first daemon to hold its jobs", lambda: holds_jobs(world, first.pid))
        second = world.run_process("run", "--no-http")
        assert second.code == 2
        error = second.err.strip().splitlines()[-1]
        assert error.startswith("error: state.url: another crm-bridge daemon (pid ") and "PostgreSQL" in error
        first.kill()
        first.communicate(timeout=PATIENCE)
        restarted = world.process("run", "--no-http")
        # at once, not a lease period later: on SQLite the one daemon frees a killed one's leases
        wait_until("the restarted daemon to hold the jobs", lambda: holds_jobs(world, restarted.pid))
        restarted.terminate()
        out, err = restarted.communicate(timeout=PATIENCE)
        assert restarted.returncode == 0, err
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate()


def holds_jobs(world: World, pid: int) -> bool:
    data = json.loads(world.cli("status", "--json").out)
    return any(f":{pid}:" in r["id"] and r["holds"] for r in data["replicas"])


def _list_users(config: str, times: int, ready: str, go: str) -> None:
    """A replica's worth of CRM calls, started together with the others (``go`` file)."""
    from crm_bridge.bootstrap import bootstrap
    from crm_bridge.config import load_settings

    with bootstrap(load_settings(config)) as app:
        Path(ready).touch()
        while not Path(go).exists():
            time.sleep(0.005)
        for _ in range(times):
            app.adapter.list_users()


def test_pg_the_crm_rate_budget_is_one_budget_for_every_replica(world: World) -> None:
    burst, per_second, processes, calls = 2, 2, 3, 6
    world.extra_config = ""
    text_ = world.config.read_text(encoding="utf-8")
    world.config.write_text(
        text_.replace(
            "rate_limit: {burst: 10000, per_second: 10000}",
            f"rate_limit: {{burst: {burst}, per_second: {per_second}}}",
        ),
        encoding="utf-8",
    )
    assert world.cli("provision").code == 0
    start = world.sandbox.request_count()
    ctx = multiprocessing.get_context("spawn")
    go = world.root / "go"
    ready = [world.root / f"ready-{n}" for n in range(processes)]
    with ctx.Pool(processes) as pool:
        done = pool.starmap_async(_list_users, [(str(world.config), calls, str(r), str(go)) for r in ready])
        wait_until("every process to be ready", lambda: all(r.exists() for r in ready))
        go.touch()
        done.get(PATIENCE)
    times = sorted(r["at"] for r in world.sandbox.requests()[start:])
    assert len(times) >= processes * calls
    # a leaky bucket shared by all: in any second at most burst + per_second requests (+1 for the edges)
    worst = max(sum(1 for t in times if first <= t < first + 1.0) for first in times)
    assert worst <= burst + per_second + 1, worst
    assert times[-1] - times[0] >= (len(times) - burst) / per_second * 0.9
