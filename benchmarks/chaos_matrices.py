"""The reliability matrices over a ``chaos_world.World``: the fault matrix, the kill matrix and the
replicas run — shared by ``tests/reliability`` (small sizes) and ``benchmarks/chaos.py`` (large)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any

import requests
from chaos_world import (
    PATIENCE,
    Run,
    World,
    fault_plan,
    free_port,
    kill_points,
    lost_and_duplicated,
    post_lead,
    wait_until,
)

# -- the kill matrix ---------------------------------------------------------------------------------
KILL_PHASES = ("intake import", "sync", "distribution", "tier push")


@dataclass
class KillResult:
    phase: str
    tries: int  # processes started (killed ones and the final rerun)
    killed: int  # of them SIGKILLed mid-work (the others ended before the kill point)
    lost: int
    duplicated: int
    aimed: list[str] = field(default_factory=list)  # each kill point: "request 2 of 3" or "0.41 s"


def store_of(world: World) -> Any:
    from crm_bridge.store import open_store

    return open_store(world.state_url)


def portal_of(world: World) -> str:
    from crm_bridge.bootstrap import portal_id
    from crm_bridge.config import load_settings

    settings = load_settings(world.config)
    return portal_id(settings.crm, settings.state.portal)


def prepare_phase(world: World, phase: str, size: int) -> tuple[tuple[str, ...], Any]:
    """Set the CRM up for ``phase``; the command to kill, and a check returning (lost, duplicated)."""
    assert world.cli("provision").code == 0
    if phase == "intake import":
        partners = world.seed_partners(3)
        assert world.cli("sync").code == 0
        csv = world.csv(partners, size)
        expected = [f"Клиент leads.csv {i}" for i in range(size)]
        return ("intake", "import", str(csv)), lambda: lost_and_duplicated(
            expected, [str(d["TITLE"]).split(" — ")[0] for d in world.csv_deals()]
        )
    if phase == "sync":
        partners = world.seed_partners(2)
        world.seed_new_leads(partners[0], size)

        def synced() -> tuple[int, int]:
            with store_of(world) as store:
                stored = [lead.crm_id for lead in store.leads(portal_of(world))]
            return lost_and_duplicated([str(d["ID"]) for d in world.deals("New ")], stored)

        return ("sync",), synced
    if phase == "distribution":
        partners = world.seed_partners(2)
        world.seed_new_leads(partners[0], size)
        assert world.cli("sync").code == 0
        return ("sync", "--once"), lambda: lost_and_duplicated(
            [str(d["ID"]) for d in world.deals("New ")], list(world.assignment_tasks().elements())
        )
    if phase == "tier push":
        partners = world.seed_partners(size, won_deals=4)
        assert world.cli("sync").code == 0
        from crm_bridge.domain.layout import FieldEntity

        tier = world.catalog().field(FieldEntity.PARTNER, "tier")
        gold = str(tier.options["gold"])

        def pushed() -> tuple[int, int]:
            companies = world.companies()
            in_crm = [p for p in partners if str(companies[p].get(tier.code)) == gold]
            with store_of(world) as store:
                moves = [c.partner_id for c in store.tier_history(portal_of(world)) if c.to_tier == "gold"]
            lost, _ = lost_and_duplicated(partners, in_crm)
            return lost, lost_and_duplicated(partners, moves)[1]

        return ("tiers", "evaluate"), pushed
    raise ValueError(f"unknown phase {phase!r}; known: {', '.join(KILL_PHASES)}")


def clean_run_requests(world: World, phase: str, size: int) -> int:
    """How many CRM requests the phase's command makes when nothing stops it: the same preparation on a
    twin world (its own sandbox and store), the command run there once. The count is deterministic (the
    same records make the same pages and batches), so it bounds where a kill can land in ``world``."""
    twin = world.twin(world.root.with_name(world.root.name + "-clean-run"))
    try:
        args, _ = prepare_phase(twin, phase, size)
        start = twin.sandbox.request_count()
        run = twin.cli(*args)
        assert run.code == 0, run.err
        return twin.sandbox.request_count() - start
    finally:
        twin.close()


def kill_phase(
    world: World,
    phase: str,
    size: int,
    kills: int,
    rng: random.Random,
    span: float = 1.0,
    latency: float = 0.2,
) -> KillResult:
    """``kills`` runs of the phase's command SIGKILLed mid-work, then one run to the end; then the CRM is
    checked. With a gate (``World(gate=…)``) each kill lands while the CRM holds its answer to a random one
    of the CRM requests a clean run of the command makes (``clean_run_requests``): the CRM did that
    request's work, the command never learns it. Without one, each kill lands at a random moment up to
    ``span`` seconds after the command's first CRM request, with ``latency`` seconds per answer so the work
    lasts long enough to be hit. A later kill of the same phase may aim past what is left to do: the run
    then ends by itself and is not counted in ``killed``."""
    total = clean_run_requests(world, phase, size) if world.gate is not None else 0
    args, check = prepare_phase(world, phase, size)
    killed = 0
    aimed: list[str] = []
    if world.gate is not None:
        world.sandbox.latency = 0.001  # the sandbox asks the gate on every answer with a latency
        world.read_timeout = PATIENCE  # a held answer must not time out (and be given up) before the kill
        world.write_config()
        for request in [rng.randint(1, total) for _ in range(kills)]:
            killed += world.run_killed_at(*args, request=request).killed
            aimed.append(f"request {request} of {total}")
    else:
        world.sandbox.latency = latency  # a cloud CRM's answer time: the work lasts long enough to be hit
        for moment in kill_points(rng, span, kills):
            killed += world.run_killed(*args, then_seconds=moment).killed
            aimed.append(f"{moment:.2f} s")
    world.sandbox.latency = 0.0
    final = world.cli(*args)
    assert final.code == 0, final.err
    lost, duplicated = check()
    return KillResult(phase, kills + 1, killed, lost, duplicated, aimed)


# -- replicas --------------------------------------------------------------------------------------
@dataclass
class Replica:
    port: int
    proc: subprocess.Popen[str]
    logs: list[str] = field(default_factory=list)

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None


@dataclass
class ReplicaResult:
    leads: int
    kills: int
    lost: int
    duplicated: int
    tasks_lost: int
    tasks_duplicated: int
    takeover_seconds: list[float]
    # each live replica at the end: (/healthz status, /readyz status, holds the distribute job here)
    probes: list[tuple[int, int, bool]] = field(default_factory=list)
    # the most replicas that said at once that they hold the distribute job, over every probe round
    most_holders: int = 0


class Replicas:
    """``count`` ``crm-bridge run`` processes on the world's (PostgreSQL) store, each on its own port."""

    def __init__(self, world: World, count: int) -> None:
        self.world = world
        self.replicas = [self.start() for _ in range(count)]

    def start(self) -> Replica:
        port = free_port()
        replica = Replica(port, self.world.process("run", "--port", str(port), "--stop-timeout", "10"))
        return replica

    def healthy(self, replica: Replica) -> bool:
        if not replica.alive:
            raise AssertionError(f"replica on {replica.port} died: {replica.proc.communicate()[1][-500:]}")
        try:
            return requests.get(f"http://127.0.0.1:{replica.port}/healthz", timeout=2).status_code in (
                200,
                503,
            )
        except requests.RequestException:
            return False

    def wait_healthy(self, replicas: list[Replica] | None = None) -> None:
        """Until each of ``replicas`` (all of them by default) answers /healthz."""
        for replica in self.replicas if replicas is None else replicas:
            wait_until(f"replica on port {replica.port}", lambda r=replica: self.healthy(r))

    def probe(self, replica: Replica) -> tuple[int, int, bool]:
        """What a load balancer and a monitor see of ``replica``: /healthz, /readyz, and whether its
        /healthz says it holds the distribute job."""
        health = requests.get(f"http://127.0.0.1:{replica.port}/healthz", timeout=10)
        ready = requests.get(f"http://127.0.0.1:{replica.port}/readyz", timeout=10)
        held = bool(health.json().get("jobs", {}).get("distribute", {}).get("held_here"))
        return health.status_code, ready.status_code, held

    def holder(self, job: str) -> str | None:
        run = self.world.cli("status", "--json")
        assert run.code == 0, run.err
        import json

        data = json.loads(run.out)
        return next((j["holder"] for j in data["jobs"] if j["job"] == job), None)

    def by_id(self, replica_id: str) -> Replica:
        pid = int(replica_id.split(":")[1])
        return next(r for r in self.replicas if r.proc.pid == pid)

    def kill(self, replica: Replica) -> None:
        os.kill(replica.proc.pid, signal.SIGKILL)
        out, err = replica.proc.communicate(timeout=PATIENCE)
        replica.logs.append(out + err)
        self.world.runs.append(Run(("run",), None, out, err))

    def post(self, api_key: str, body: dict[str, Any], key: str) -> requests.Response:
        """POST to a live replica (as a load balancer would), moving on when one does not answer."""
        deadline = time.monotonic() + PATIENCE
        n = 0
        while time.monotonic() < deadline:
            live = [r for r in self.replicas if r.alive]
            replica = live[n % len(live)]
            n += 1
            try:
                answer = post_lead(replica.port, api_key, body, key)
            except requests.RequestException:
                continue
            if answer.status_code < 500:
                return answer
        raise AssertionError(f"no replica took lead {key}")

    def stop(self) -> None:
        for replica in self.replicas:
            if replica.alive:
                replica.proc.send_signal(signal.SIGTERM)
        for replica in self.replicas:
            try:
                out, err = replica.proc.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                replica.proc.kill()
                out, err = replica.proc.communicate()
            self.world.runs.append(Run(("run",), replica.proc.returncode, out, err))


def intake_key(world: World, partner: str) -> str:
    run = world.cli("intake", "keys", "create", "--partner", partner)
    assert run.code == 0, run.err
    key = next(line.strip() for line in run.out.splitlines() if line.strip().startswith("cbk_"))
    world.secrets.append(key.split("_", 2)[2])  # the secret part; the id part is shown on purpose
    world.runs.remove(run)  # the one place the key is shown, once, on purpose: not scanned
    return key


def replica_run(world: World, leads: int, kills: int, *, replicas: int = 3) -> ReplicaResult:
    """``replicas`` daemons; ``leads`` leads posted through their intake endpoints while the replica
    holding the distribute job is SIGKILLed ``kills`` times (and started again, as systemd would)."""
    import threading

    assert world.cli("provision").code == 0
    partners = world.seed_partners(2)
    assert world.cli("sync").code == 0
    key = intake_key(world, partners[0])
    group = Replicas(world, replicas)
    takeovers: list[float] = []
    try:
        group.wait_healthy()
        posted: list[int] = []

        def post_one(i: int) -> None:
            body = {"customer_name": f"Клиент api {i}", "email": f"api{i}@example.ru", "amount": "100"}
            posted.append(group.post(key, body, f"lead-{i}").status_code)

        def post_all() -> None:  # partners' systems sending at once (4 at a time)
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(4) as pool:
                list(pool.map(post_one, range(leads)))

        poster = threading.Thread(target=post_all)
        poster.start()
        for n in range(kills):
            wait_until("some leads", lambda n=n: len(posted) >= (n + 1) * leads // (kills + 2), PATIENCE * 10)
            holder = wait_until("a distribute holder", lambda: group.holder("distribute"))
            victim = group.by_id(holder)
            group.kill(victim)
            killed_at = time.monotonic()
            wait_until("the job to move", lambda h=holder: (group.holder("distribute") or h) != h)
            takeovers.append(time.monotonic() - killed_at)
            group.replicas.append(group.start())  # systemd's Restart=on-failure
        poster.join(PATIENCE * 10)
        assert posted and set(posted) <= {200, 202}, posted  # 202: queued for the intake writer

        def all_assigned() -> bool:
            api = world.deals("Клиент api")
            return len(api) >= leads and sum(world.assignment_tasks()[str(d["ID"])] for d in api) >= leads

        wait_until("every lead assigned", all_assigned, PATIENCE * 10)
        time.sleep(world.lease)  # one more lease period: a duplicate would show up now
        # A holder's lease lapses for a moment when a renewal is late (a loaded machine), so the monitor's
        # view is sampled until one replica holds the job; no sample may ever show two holders.
        rounds: list[list[tuple[int, int, bool]]] = []
        group.wait_healthy([r for r in group.replicas if r.alive])  # the restarted ones listen too

        def one_holder() -> list[tuple[int, int, bool]] | None:
            try:  # a replica restarted after a kill may not listen yet
                rounds.append([group.probe(r) for r in group.replicas if r.alive])
            except requests.RequestException:
                return None
            return rounds[-1] if sum(held for _, _, held in rounds[-1]) == 1 else None

        try:
            probes = wait_until("one replica to hold distribute", one_holder)
        except AssertionError:
            probes = rounds[-1] if rounds else []
        most_holders = max((sum(held for _, _, held in r) for r in rounds), default=0)
    finally:
        group.stop()
    api_deals = world.deals("Клиент api")
    expected = [f"Клиент api {i}" for i in range(leads)]
    lost, duplicated = lost_and_duplicated(expected, [str(d["TITLE"]).split(" — ")[0] for d in api_deals])
    tasks = world.assignment_tasks()
    t_lost, t_dup = lost_and_duplicated(
        [str(d["ID"]) for d in api_deals],
        [k for k in tasks.elements() if k in {str(d["ID"]) for d in api_deals}],
    )
    return ReplicaResult(leads, kills, lost, duplicated, t_lost, t_dup, takeovers, probes, most_holders)


# -- the fault matrix --------------------------------------------------------------------------------
@dataclass
class FaultResult:
    runs: dict[str, list[int]]  # phase -> exit statuses of its runs until it finished
    requests: int  # CRM requests made while the faults were on
    injected: int  # CRM requests answered with an injected error, dropped or too slow
    leads: int
    lost: int
    duplicated: int
    tasks_lost: int
    tasks_duplicated: int
    messages: list[str]  # the last stderr line of every run that exited 1


def fault_run(
    world: World, *, share: float, rows: int, new_leads: int, seed: int, max_tries: int = 12
) -> FaultResult:
    """Provision, sync, CSV import and a distribution cycle while ``share`` of the CRM requests fail;
    each command is rerun until it finishes (a person following the error line); then, with the faults
    stopped, each is run once more and the CRM is counted."""
    runs: dict[str, list[int]] = {}
    messages: list[str] = []

    def through_faults(name: str, *args: str) -> None:
        codes = runs.setdefault(name, [])
        for _ in range(max_tries):
            run = world.cli(*args)
            codes.append(run.code if run.code is not None else -9)
            if run.code == 0:
                return
            errors = [line for line in run.err.splitlines() if line.startswith("error: ")]
            messages.append(errors[-1] if errors else f"(exit {run.code} without an error line)")

    plan = fault_plan(share, seed, slow_ms=world.read_timeout * 1400)
    start = world.sandbox.request_count()
    world.sandbox.faults.set(plan)
    through_faults("provision", "provision")
    world.sandbox.faults.clear()
    partners = world.seed_partners(3)
    world.seed_new_leads(partners[0], new_leads)
    world.sandbox.faults.set(fault_plan(share, seed + 1, slow_ms=world.read_timeout * 1400))
    through_faults("sync", "sync")
    csv = world.csv(partners, rows)
    through_faults("intake import", "intake", "import", str(csv))
    through_faults("distribution", "sync", "--once")
    logged = world.sandbox.requests()[start:]
    requests_seen = len(logged)
    injected = sum(1 for r in logged if r["status"] in (0, 500, 502, 503))  # 0: dropped
    world.sandbox.faults.clear()
    # the short read timeout served the injected timeouts; a 50-command batch on a loaded machine
    # legitimately takes longer, so the reruns use a usual one
    world.read_timeout = 30.0
    world.write_config()
    for args in (("provision",), ("sync",), ("intake", "import", str(csv)), ("sync", "--once")):
        final = world.cli(*args)
        assert final.code == 0, (args, final.err)
    csv_deals = world.csv_deals()
    expected = [f"Клиент leads.csv {i}" for i in range(rows)]
    lost, duplicated = lost_and_duplicated(expected, [str(d["TITLE"]).split(" — ")[0] for d in csv_deals])
    leads = world.deals("New ") + csv_deals
    ids = {str(d["ID"]) for d in leads}
    t_lost, t_dup = lost_and_duplicated(sorted(ids), [k for k in world.assignment_tasks().elements()])
    return FaultResult(runs, requests_seen, injected, len(leads), lost, duplicated, t_lost, t_dup, messages)
