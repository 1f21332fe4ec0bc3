"""A HubSpot account on the sandbox with crm-bridge's daemon (``crm-bridge run``, a real process)
receiving its webhooks: provisioned, one partner company and the managers as owners, webhook settings
pointing at the daemon. Leads are created through HubSpot's batch API as people or forms would (handled by
the emulated CRM in this process, not through the sandbox's port: no latency, answer gate or request log
of the daemon's requests applies to them), and HubSpot's emulator delivers the ``deal.creation`` events
(signed, retried)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from events_world import TOKEN, build

from crm_bridge.config.funnels import desired_layout_for
from crm_bridge.domain.layout import FieldEntity
from crm_bridge.sandbox.core import SandboxRequest
from crm_bridge.sandbox.server import Sandbox
from crm_bridge.services.provision import provision

CLI = str(Path(sys.executable).parent / "crm-bridge")
HAPIKEY = "sandbox-developer-hapikey"
PATIENCE = 120.0  # upper bound for the daemon to reach a state; never asserted on as a duration
APP = 1234567
SCHEDULE = """schedule:
  sync: {every: 1h}
  distribute: {every: 1h}
  escalate: {enabled: false}
  tiers: {enabled: false}
  notify: {enabled: false}
  events: {every: EVENTS_EVERY}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _call(sb: Sandbox, method: str, path: str, body: Any, *, hapikey: bool = False) -> Any:
    url = sb.base_url + path + (f"?hapikey={HAPIKEY}" if hapikey else "")
    token = sb.config_snippet()["env"]["HUBSPOT_ACCESS_TOKEN"]
    headers = {"Content-Type": "application/json"} | ({} if hapikey else {"Authorization": f"Bearer {token}"})
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 (the local sandbox)
            raw = answer.read()
    except urllib.error.HTTPError as exc:  # the emulator's answer says why
        raise AssertionError(f"{method} {path}: {exc.code} {exc.read().decode(errors='replace')}") from None
    return json.loads(raw) if raw else None


def _in_crm(sb: Sandbox, method: str, path: str, body: Any) -> Any:
    """A request HubSpot itself handles, past the sandbox's port (what a person or a form does in HubSpot)."""
    token = sb.config_snippet()["env"]["HUBSPOT_ACCESS_TOKEN"]
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    answer = sb.emulator.handle(SandboxRequest(method, path, {}, headers, json.dumps(body).encode()))
    if not 200 <= answer.status < 300:  # the emulator's answer says why
        raise AssertionError(f"{method} {path}: {answer.status} {answer.body}")
    return answer.body


class HubSpotFlow:
    """``events``: True = the daemon receives webhooks; False = polling only (sync every ``poll``)."""

    def __init__(self, tmp_path: Path, sb: Sandbox, *, events: bool = True, poll: str = "5s") -> None:
        self.sb, self.tmp = sb, tmp_path
        self.port = free_port()
        world = build(tmp_path, "hubspot", sb, public=None)
        provision(world.app.adapter, desired_layout_for(world.app.settings))
        catalog = world.app.adapter.catalog()  # type: ignore[attr-defined]
        ptype = catalog.field(FieldEntity.PARTNER, "partner_type")
        # the lead's partner is the partner association label provisioning made (its typeId)
        self.label = int(catalog.field(FieldEntity.LEAD, "partner_ref").code)
        self.pipeline = catalog.funnels["leads"]
        sb.emulator.seed(
            {
                "owners": [
                    {"id": str(i), "firstName": n, "lastName": "X", "email": f"{n}@example.com"}
                    for i, n in ((100000001, "head"), (100000002, "anna"), (100000003, "oleg"))
                ]
            }
        )
        companies = sb.emulator.seed(
            {"companies": [{"properties": {"name": "Vector", ptype.code: "reseller"}}]}
        )["companies"]
        self.partner = str(companies[0])
        world.close()
        config = tmp_path / "config.yaml"
        text = config.read_text(encoding="utf-8")
        schedule = SCHEDULE.replace("EVENTS_EVERY", "1s")
        if not events:
            schedule = schedule.replace("sync: {every: 1h}", f"sync: {{every: {poll}}}")
            schedule = schedule.replace("distribute: {every: 1h}", f"distribute: {{every: {poll}}}")
            text = text.replace("  enabled: true\n", "  enabled: false\n", 1)
        config.write_text(text + schedule, encoding="utf-8")
        self.config = config
        self.daemon: subprocess.Popen[str] | None = None
        if events:
            target = f"http://127.0.0.1:{self.port}/v1/events/{TOKEN}"
            settings = {"targetUrl": target, "throttling": {"maxConcurrentRequests": 10}}
            _call(sb, "PUT", f"/webhooks/v3/{APP}/settings", settings, hapikey=True)
            sub = {"eventType": "deal.creation", "active": True}
            _call(sb, "POST", f"/webhooks/v3/{APP}/subscriptions", sub, hapikey=True)

    def start(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.daemon = subprocess.Popen(
            [CLI, "--config", str(self.config), "run", "--port", str(self.port)],
            cwd=self.tmp,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(self.tmp / "daemon.log", "a"),  # noqa: SIM115 (closed with the process)
            text=True,
        )
        deadline = time.monotonic() + PATIENCE
        while time.monotonic() < deadline:  # waiting for the event "the port answers"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1):  # noqa: S310
                    return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("the daemon did not start: " + (self.tmp / "daemon.log").read_text())

    def kill(self) -> int | None:
        """SIGKILL the daemon if it runs; its exit status (``-SIGKILL`` when it was running until now)."""
        if self.daemon is None:
            return None
        if self.daemon.poll() is None:
            self.daemon.send_signal(signal.SIGKILL)
            self.daemon.wait(10)
        return self.daemon.returncode

    def stop(self) -> None:
        if self.daemon is not None and self.daemon.poll() is None:
            self.daemon.send_signal(signal.SIGTERM)
            try:
                self.daemon.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()

    def create_leads(self, count: int, start: int = 0) -> list[str]:
        """``count`` partner leads in the lead pipeline, 100 per batch call; their deal ids."""
        ids: list[str] = []
        for first in range(start, start + count, 100):
            by_label = [
                {
                    "to": {"id": self.partner},
                    "types": [{"associationCategory": "USER_DEFINED", "associationTypeId": self.label}],
                }
            ]
            inputs = [
                {
                    "properties": {"dealname": f"Lead {i}", "pipeline": self.pipeline},
                    "associations": by_label,
                }
                for i in range(first, min(first + 100, start + count))
            ]
            answer = _in_crm(self.sb, "POST", "/crm/v3/objects/deals/batch/create", {"inputs": inputs})
            ids += [str(r["id"]) for r in answer["results"]]
        return ids

    def tasks_by_deal(self) -> dict[str, int]:
        """How many tasks each deal has (through the tasks' deal associations)."""
        counts: dict[str, int] = {}
        with self.sb.emulator._lock:  # the emulator's own lock: a consistent read
            keys = list(self.sb.emulator.state.associations)
        for from_type, _, to_type, to_id in keys:
            if from_type == "tasks" and to_type == "deals":
                counts[to_id] = counts.get(to_id, 0) + 1
        return counts
