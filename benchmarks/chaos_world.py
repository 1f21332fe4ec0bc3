"""A small world for the reliability suite (``tests/reliability``) and ``benchmarks/chaos.py``: a Bitrix24
sandbox in this process, a config for it, crm-bridge run as real processes (killed with SIGKILL at the
N-th CRM request, or in process for speed), and the counts that say whether anything was lost or
duplicated — read from the CRM (the sandbox's records), never from crm-bridge's own bookkeeping."""

from __future__ import annotations

import contextlib
import io
import os
import random
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from crm_bridge.sandbox.faults import FaultPlan
from crm_bridge.sandbox.server import Sandbox

CLI = str(Path(sys.executable).parent / "crm-bridge")
PATIENCE = 180.0  # an upper bound for a process to reach a state; never asserted on as a duration
CSV_HEADER = "partner_id;customer_name;email;phone;tax_id;amount;comment"
SECRET_KEY = "uY2ZLlzYhvfG6nsi9bXqoLM1dHRMjUkgBd0BctmpeKo="  # tests' Fernet key (tests/conftest.py)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fault_plan(share: float, seed: int, *, slow_ms: float = 1500.0) -> FaultPlan:
    """``share`` of the CRM requests broken (seeded): half of them answered 500/502/503, a sixth
    dropped without an answer, a third answered later than the read timeout (``slow_ms``).

    Bitrix24's rate-limit answer is 503 QUERY_LIMIT_EXCEEDED (limits.md), which is among them; its 429
    is OPERATION_TIME_LIMIT, a method blocked for up to 10 minutes, which the adapter honours by waiting
    for the reset (60 s when the portal does not say) — too slow for a bounded run, so left out."""
    return FaultPlan(
        fraction=share / 2,
        statuses=[500, 502, 503],
        drop_fraction=share / 6,
        slow_ms=slow_ms,
        slow_fraction=share / 3,
        seed=seed,
    )


@dataclass
class Run:
    """One CLI run: its exit status (None = killed), and what it printed."""

    args: tuple[str, ...]
    code: int | None
    out: str
    err: str

    @property
    def killed(self) -> bool:
        return self.code is None


@dataclass
class World:
    root: Path
    state_url: str = ""
    lease: float = 3.0
    read_timeout: float = 1.0
    max_retries: int = 8
    managers: int = 2
    extra_config: str = ""
    sandbox: Sandbox = field(init=False)
    runs: list[Run] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.sandbox = Sandbox("bitrix24", latency_ms=0, per_record_ms=0, rate_limit=False)
        self.sandbox.start()
        self.state_url = self.state_url or f"sqlite:///{self.root / 'state.db'}"
        self.config = self.root / "config.yaml"
        self.write_config()
        webhook = self.sandbox.config_snippet()["env"]["B24_WEBHOOK_URL"]
        (self.root / ".env").write_text(f"B24_WEBHOOK_URL={webhook}\n", encoding="utf-8")
        # what must never show up in a log line, error, report or rejects file
        self.secrets += [webhook.rstrip("/").rsplit("/", 1)[-1], SECRET_KEY]

    def close(self) -> None:
        self.sandbox.stop()

    def write_config(self, port: int = 8080) -> None:
        managers = "\n".join(
            f"  - {{key: m{i}, name: Менеджер {i}, crm_user_id: {i + 2}}}" for i in range(self.managers)
        )
        text = textwrap.dedent(
            f"""\
            locale: en
            timezone: Europe/Moscow
            crm:
              kind: bitrix24
              bitrix24:
                webhook_url: ${{B24_WEBHOOK_URL}}
                rate_limit: {{burst: 10000, per_second: 10000}}
                max_concurrency: 2
                http:
                  connect_timeout: 2
                  read_timeout: {self.read_timeout}
                  max_retries: {self.max_retries}
                  max_backoff: 0.2
            state:
              url: {self.state_url}
            logging:
              file: {self.root / "crm-bridge.log"}
            head: {{name: Анна Админова, crm_user_id: 1}}
            curators:
              - {{key: anna, name: Анна Админова, crm_user_id: 1}}
            distribution:
              strategy: round_robin
              sla_hours: 4
            tiers:
              window_days: 90
              levels:
                - {{key: bronze, name: Bronze}}
                - {{key: silver, name: Silver, min_won_deals: 2}}
                - {{key: gold, name: Gold, min_won_deals: 4}}
            intake:
              listen_port: {port}
            reports:
              out_dir: {self.root / "reports"}
            schedule:
              lease: {self.lease}s
              sync: {{every: 2s}}
              distribute: {{every: 1s}}
              escalate: {{every: 1h}}
              tiers: {{every: 1h}}
              notify: {{every: 2s}}
            """
        )
        self.config.write_text(text + "managers:\n" + managers + "\n" + self.extra_config, encoding="utf-8")

    # -- running crm-bridge ----------------------------------------------------------------------------
    def cli(self, *args: str) -> Run:
        """``crm-bridge --config … ARGS`` in this process (fast; the logs go to the config's file)."""
        from crm_bridge.cli import main

        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["--config", str(self.config), *args])
        run = Run(args, code, out.getvalue(), err.getvalue())
        self.runs.append(run)
        return run

    def process(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(  # noqa: S603 - our own CLI
            [CLI, "--config", str(self.config), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "CRM_BRIDGE_SECRET_KEY": SECRET_KEY},
        )

    def run_process(self, *args: str) -> Run:
        proc = self.process(*args)
        out, err = proc.communicate(timeout=PATIENCE)
        run = Run(args, proc.returncode, out, err)
        self.runs.append(run)
        return run

    def run_killed(self, *args: str, after_requests: int = 1, then_seconds: float = 0.0) -> Run:
        """Run ``ARGS`` as a process and SIGKILL it ``then_seconds`` after the CRM has seen
        ``after_requests`` requests from it (or let it finish if it is done before). Counting requests
        first skips the process's start-up, so the kill lands in the work."""
        start = self.sandbox.request_count()
        proc = self.process(*args)
        deadline = time.monotonic() + PATIENCE
        while proc.poll() is None and self.sandbox.request_count() - start < after_requests:
            if time.monotonic() > deadline:
                raise AssertionError(f"{args} made no progress")
            time.sleep(0.002)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(then_seconds)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=PATIENCE)
        run = Run(args, None if proc.returncode == -signal.SIGKILL else proc.returncode, out, err)
        self.runs.append(run)
        return run

    # -- the CRM as people fill it ---------------------------------------------------------------------
    def catalog(self) -> Any:
        from crm_bridge.bootstrap import bootstrap
        from crm_bridge.config import load_settings

        with bootstrap(load_settings(self.config)) as app:
            return app.adapter.catalog()  # type: ignore[attr-defined]

    def seed_partners(self, count: int, *, won_deals: int = 0) -> list[str]:
        """``count`` reseller partners (curated by user 1), each with ``won_deals`` won partner leads."""
        from crm_bridge.domain.layout import FieldEntity

        catalog = self.catalog()
        ptype = catalog.field(FieldEntity.PARTNER, "partner_type")
        curator = catalog.field(FieldEntity.PARTNER, "curator")
        ref = catalog.field(FieldEntity.LEAD, "partner_ref")
        made = self.sandbox.emulator.seed(
            {
                "companies": [
                    {"TITLE": f"ООО Партнёр {i}", ptype.code: ptype.options["reseller"], curator.code: 1}
                    for i in range(count)
                ]
            }
        )
        partners = [str(c) for c in made["companies"]]
        if won_deals:
            closed = time.strftime("%Y-%m-%dT00:00:00+03:00", time.gmtime(time.time() - 3 * 86_400))
            won = catalog.stage_code("leads", "deal_closed")
            deals = [
                {
                    "TITLE": f"Won {p}-{i}",
                    "CATEGORY_ID": catalog.funnels["leads"],
                    "STAGE_ID": won,
                    "OPPORTUNITY": "1000",
                    "CLOSEDATE": closed,
                    ref.code: p,
                    "ASSIGNED_BY_ID": 2,
                }
                for p in partners
                for i in range(won_deals)
            ]
            self.sandbox.emulator.seed({"deals": deals})
        self.sandbox.advance(2)
        return partners

    def seed_new_leads(self, partner: str, count: int, prefix: str = "New") -> None:
        """``count`` new partner leads typed into the CRM (to be distributed)."""
        from crm_bridge.domain.layout import FieldEntity

        catalog = self.catalog()
        ref = catalog.field(FieldEntity.LEAD, "partner_ref")
        first = catalog.stage_code("leads", None)
        self.sandbox.emulator.seed(
            {
                "deals": [
                    {
                        "TITLE": f"{prefix} {i}",
                        "CATEGORY_ID": catalog.funnels["leads"],
                        "STAGE_ID": first,
                        "OPPORTUNITY": "500",
                        ref.code: partner,
                    }
                    for i in range(count)
                ]
            }
        )
        self.sandbox.advance(2)

    def csv(self, partners: list[str], rows: int, name: str = "leads.csv") -> Path:
        path = self.root / name
        lines = [
            f"{partners[i % len(partners)]};Клиент {name} {i};c{i}.{name}@example.ru;;;{100 + i};"
            for i in range(rows)
        ]
        path.write_text(CSV_HEADER + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
        return path

    # -- what the CRM holds ----------------------------------------------------------------------------
    def dump(self) -> dict[str, Any]:
        return self.sandbox.emulator.dump()

    def deals(self, title_prefix: str = "") -> list[dict[str, Any]]:
        return [d for d in self.dump()["records"]["deal"] if str(d.get("TITLE", "")).startswith(title_prefix)]

    def csv_deals(self) -> list[dict[str, Any]]:
        return [d for d in self.dump()["records"]["deal"] if str(d.get("ORIGIN_ID", "")).startswith("csv:")]

    def assignment_tasks(self) -> Counter[str]:
        """Deal id -> how many "new lead" tasks were created for it."""
        tasks = self.dump()["tasks"]
        found: Counter[str] = Counter()
        for task in tasks.values() if isinstance(tasks, dict) else tasks:
            if "Why you:" not in str(task.get("description", task.get("DESCRIPTION", ""))):
                continue
            for binding in task.get("ufCrmTask") or []:
                if str(binding).startswith("D_"):
                    found[str(binding)[2:]] += 1
        return found

    def companies(self) -> dict[str, dict[str, Any]]:
        return {str(c["ID"]): c for c in self.dump()["records"]["company"]}


def lost_and_duplicated(expected: list[str], found: list[str]) -> tuple[int, int]:
    """(expected keys missing from ``found``, extra copies in ``found``)."""
    counts = Counter(found)
    lost = sum(1 for key in set(expected) if counts[key] == 0)
    duplicated = sum(n - 1 for n in counts.values() if n > 1) + sum(
        n for key, n in counts.items() if key not in set(expected)
    )
    return lost, duplicated


def kill_points(rng: random.Random, span: float, tries: int) -> list[float]:
    """``tries`` random moments (seconds after the command's first CRM request) to kill it at."""
    return [rng.uniform(0.0, span) for _ in range(tries)]


def post_lead(port: int, api_key: str, body: dict[str, Any], key: str) -> requests.Response:
    return requests.post(
        f"http://127.0.0.1:{port}/v1/leads",
        json=body,
        headers={"Authorization": f"Bearer {api_key}", "Idempotency-Key": key},
        timeout=30,
    )


def scan_for_secrets(texts: list[str], files: list[Path], secrets: list[str]) -> list[str]:
    """Where any of ``secrets`` shows up: ``"<file or text #n>: <secret prefix>…"``."""
    found: list[str] = []
    needles = [s for s in secrets if len(s) >= 8]
    for n, text in enumerate(texts):
        found += [f"text #{n}: {s[:4]}…" for s in needles if s in text]
    for path in files:
        data = path.read_bytes().decode("utf-8", "replace")
        found += [f"{path.name}: {s[:4]}…" for s in needles if s in data]
    return found


# -- the kill matrix ---------------------------------------------------------------------------------
KILL_PHASES = ("intake import", "sync", "distribution", "tier push")


@dataclass
class KillResult:
    phase: str
    tries: int  # processes started (killed ones and the final rerun)
    killed: int
    lost: int
    duplicated: int


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


def kill_phase(
    world: World, phase: str, size: int, kills: int, rng: random.Random, span: float
) -> KillResult:
    """``kills`` runs of the phase's command SIGKILLed at a random moment up to ``span`` seconds after
    its first CRM request, then one run to the end; then the CRM is checked."""
    args, check = prepare_phase(world, phase, size)
    world.sandbox.latency = latency  # a cloud CRM's answer time: the work lasts long enough to be hit
    killed = 0
    for moment in kill_points(rng, span, kills):
        killed += world.run_killed(*args, then_seconds=moment).killed
    world.sandbox.latency = 0.0
    final = world.cli(*args)
    assert final.code == 0, final.err
    lost, duplicated = check()
    return KillResult(phase, kills + 1, killed, lost, duplicated)


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


def wait_until(what: str, condition: Any, patience: float = PATIENCE) -> Any:
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


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

    def wait_healthy(self) -> None:
        for replica in self.replicas:
            wait_until(f"replica on port {replica.port}", lambda r=replica: self.healthy(r))

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

        def post_all() -> None:
            for i in range(leads):
                body = {"customer_name": f"Клиент api {i}", "email": f"api{i}@example.ru", "amount": "100"}
                answer = group.post(key, body, f"lead-{i}")
                posted.append(answer.status_code)
                time.sleep(0.01)

        poster = threading.Thread(target=post_all)
        poster.start()
        for n in range(kills):
            wait_until("some leads", lambda n=n: len(posted) >= (n + 1) * leads // (kills + 2))
            holder = wait_until("a distribute holder", lambda: group.holder("distribute"))
            victim = group.by_id(holder)
            group.kill(victim)
            killed_at = time.monotonic()
            wait_until("the job to move", lambda h=holder: (group.holder("distribute") or h) != h)
            takeovers.append(time.monotonic() - killed_at)
            group.replicas.append(group.start())  # systemd's Restart=on-failure
        poster.join(PATIENCE)
        assert sorted(set(posted)) in ([201], [200, 201]), posted

        def all_assigned() -> bool:
            api = world.deals("Клиент api")
            return len(api) >= leads and sum(world.assignment_tasks()[str(d["ID"])] for d in api) >= leads

        wait_until("every lead assigned", all_assigned)
        time.sleep(world.lease)  # one more lease period: a duplicate would show up now
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
    return ReplicaResult(leads, kills, lost, duplicated, t_lost, t_dup, takeovers)


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
            messages.append(
                run.err.strip().splitlines()[-1] if run.err.strip() else f"(silent exit {run.code})"
            )

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
