"""A small world for the reliability suite (``tests/reliability``) and ``benchmarks/chaos.py``: a Bitrix24
sandbox in this process, a config for it, crm-bridge run as real processes (SIGKILLed while the CRM holds
its answer to a chosen request, or at a moment after its first one; or run in process for speed), and the
counts that say whether anything was lost or duplicated — read from the CRM (the sandbox's records), never
from crm-bridge's own bookkeeping."""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import random
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

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


class Gate(Protocol):
    """The sandbox's sleep that can hold answers (``tests/sandbox_fixture.py::AnswerGate``): once ``hold``
    is given a condition, every answer that finds it true (asked once per answer, after the CRM did the
    request's work) is held until ``release``; ``held`` is set when one is."""

    held: threading.Event

    def __call__(self, seconds: float) -> None: ...

    def hold(self, when: Callable[[], bool], passing: int = 0) -> None: ...

    def release(self) -> None: ...


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
    gate: Gate | None = None  # the sandbox's sleep, for kills while an answer is held (run_killed_at)
    sandbox: Sandbox = field(init=False)
    runs: list[Run] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        sleep = time.sleep if self.gate is None else self.gate
        self.sandbox = Sandbox("bitrix24", latency_ms=0, per_record_ms=0, rate_limit=False, sleep=sleep)
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

    def twin(self, root: Path) -> World:
        """A world like this one (same options, no gate) with its own sandbox and SQLite store in ``root``:
        the same preparation there makes the same CRM requests."""
        return World(
            root,
            lease=self.lease,
            read_timeout=self.read_timeout,
            max_retries=self.max_retries,
            managers=self.managers,
            extra_config=self.extra_config,
        )

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

    def run_killed_at(self, *args: str, request: int) -> Run:
        """Run ``ARGS`` as a process; when the CRM has done the work of the process's ``request``-th CRM
        request (1 = its first), hold the answer, SIGKILL the process while it waits for it, then let the
        answer go (to no one). ``Run.killed`` is False when the process ended before that request. Needs
        ``World(gate=…)`` and ``sandbox.latency`` above 0 (the sandbox asks the gate on every answer)."""
        if self.gate is None or self.sandbox.latency <= 0:
            raise ValueError("run_killed_at needs World(gate=...) and sandbox.latency > 0")
        gate = self.gate
        answers = itertools.count(1)  # the gate asks its condition once per answer, in order
        gate.hold(lambda: next(answers) >= request)
        proc = self.process(*args)
        try:
            deadline = time.monotonic() + PATIENCE
            # waiting for one of two events: the answer is held, or the process ended without it
            while not gate.held.wait(0.05) and proc.poll() is None:
                if time.monotonic() > deadline:
                    raise AssertionError(f"{args} made no progress")
            if gate.held.is_set() and proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
            out, err = proc.communicate(timeout=PATIENCE)
        finally:
            gate.release()
            if proc.poll() is None:
                proc.kill()
                proc.communicate(timeout=PATIENCE)
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


def wait_until(what: str, condition: Any, patience: float = PATIENCE) -> Any:
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")
