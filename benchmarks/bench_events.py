"""Lead created in the CRM -> its task created: latency with CRM events vs polling only, per CRM.

    .venv/bin/python benchmarks/bench_events.py [--leads 20] [--gap 0.5] [--poll 30] [--crm hubspot ...]

Each CRM runs on its sandbox with real-portal latency (120 ms a request) and its rate limit on; the
daemon (``build_daemon``: the scheduler with the engine's jobs and the HTTP port) runs in this process
with its own SQLite state store. Leads are created one at a time, ``--gap`` seconds apart, through the
CRM's API as a person or a form would; the latency of a lead is the time from its create call's
answer to the moment its task is seen in the CRM (polled every 50 ms from the emulator's state).

- events: HubSpot webhooks v3 and amoCRM webhooks POSTed by the emulators to the daemon's receiver;
  Bitrix24 as a local application with offline events (event.offline.get by the worker). The event
  worker runs every second; sync and distribute stay on their default schedule (reconciliation).
- polling: events off; sync and distribute every ``--poll`` seconds (the defaults are 300 s / 60 s,
  so with the shipped schedule the polling figures scale with those).
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from crm_bridge.bootstrap import bootstrap
from crm_bridge.config import load_settings
from crm_bridge.config.funnels import desired_layout_for
from crm_bridge.daemon.app import build_daemon
from crm_bridge.domain.layout import FieldEntity
from crm_bridge.sandbox.server import Sandbox
from crm_bridge.security.secrets import generate_key
from crm_bridge.services.metrics import BridgeMetrics
from crm_bridge.services.provision import provision

LATENCY_MS = 120.0
TOKEN = "bench-events-token-0123456789"
USERS = {"hubspot": ("100000001", "100000002", "100000003"), "amocrm": ("8000001", "8000002", "8000003")}
USERS["bitrix24"] = ("1", "2", "3")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http(method: str, url: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    data = json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, headers={"Content-Type": "application/json", **(headers or {})}, method=method
    )
    with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310 (the local sandbox)
        raw = answer.read()
    return json.loads(raw) if raw else None


def crm_section(kind: str, sb: Sandbox) -> tuple[str, dict[str, str]]:
    snip = sb.config_snippet()
    env = dict(snip["env"])
    if kind == "hubspot":
        env["HUBSPOT_WEBHOOK_SECRET"] = snip["webhooks"]["signing_secret"]
        return (
            f"  hubspot:\n    base_url: {sb.base_url}\n    access_token: ${{HUBSPOT_ACCESS_TOKEN}}\n"
            "    tier: professional\n    webhook_secret: ${HUBSPOT_WEBHOOK_SECRET}\n"
            f"    portal_id: {sb.emulator.portal_id}\n",
            env,
        )
    if kind == "amocrm":
        return f"  amocrm:\n    base_url: {sb.base_url}\n    access_token: ${{AMOCRM_ACCESS_TOKEN}}\n", env
    oauth = snip["oauth"]
    env |= {
        "B24_CLIENT_ID": oauth["client_id"],
        "B24_CLIENT_SECRET": oauth["client_secret"],
        "B24_REFRESH_TOKEN": oauth["refresh_token"],
    }
    return (
        "  bitrix24:\n    oauth:\n"
        f"      portal_url: {oauth['portal_url']}\n      client_id: ${{B24_CLIENT_ID}}\n"
        "      client_secret: ${B24_CLIENT_SECRET}\n      refresh_token: ${B24_REFRESH_TOKEN}\n"
        f"      token_url: {oauth['token_url']}\n",
        env,
    )


def write_config(tmp: Path, kind: str, sb: Sandbox, *, events: bool, poll: int, port: int) -> Path:
    head, m1, m2 = USERS[kind]
    section, env = crm_section(kind, sb)
    env["CRM_BRIDGE_EVENTS_TOKEN"] = TOKEN
    env["CRM_BRIDGE_SECRET_KEY"] = generate_key()  # the OAuth pair is kept encrypted in the store
    quiet = "  escalate: {enabled: false}\n  tiers: {enabled: false}\n  notify: {enabled: false}\n"
    polling = "" if events else f"  sync: {{every: {poll}s}}\n  distribute: {{every: {poll}s}}\n"
    schedule = "schedule:\n" + polling + quiet + "  events: {every: 1s}\n"
    text = (
        f"locale: en\ncrm:\n  kind: {kind}\n{section}state:\n  url: sqlite:///{tmp / 'state.db'}\n"
        f'head: {{name: Head, crm_user_id: "{head}"}}\n'
        f'managers:\n  - {{key: anna, name: Anna, crm_user_id: "{m1}"}}\n'
        f'  - {{key: oleg, name: Oleg, crm_user_id: "{m2}"}}\n'
        f'curators:\n  - {{key: dmitry, name: Dmitry, crm_user_id: "{head}"}}\n'
        f"events:\n  enabled: {str(events).lower()}\n  path_token: ${{CRM_BRIDGE_EVENTS_TOKEN}}\n"
        f"  public_url: http://127.0.0.1:{port}\n" + schedule
    )
    (tmp / "config.yaml").write_text(text, encoding="utf-8")
    (tmp / ".env").write_text("".join(f"{k}={v}\n" for k, v in env.items()), encoding="utf-8")
    return tmp / "config.yaml"


class Crm:
    """Per CRM: prepare the account (people, a partner, event subscriptions), create a lead, find tasks."""

    def __init__(self, kind: str, sb: Sandbox, app: Any, port: int, events: bool) -> None:
        self.kind, self.sb, self.app = kind, sb, app
        catalog = app.adapter.catalog()
        ptype = catalog.field(FieldEntity.PARTNER, "partner_type")
        self.ref = catalog.field(FieldEntity.LEAD, "partner_ref").code
        self.pipeline = catalog.funnels["leads"]
        head, m1, m2 = USERS[kind]
        url = f"http://127.0.0.1:{port}/v1/events/{TOKEN}"
        if kind == "hubspot":
            owners = [
                {"id": u, "firstName": f"U{u}", "lastName": "X", "email": f"{u}@x.io"} for u in (head, m1, m2)
            ]
            sb.emulator.seed({"owners": owners})
            company = {"properties": {"name": "Vector", ptype.code: "reseller"}}
            self.partner = str(sb.emulator.seed({"companies": [company]})["companies"][0])
            if events:
                key = "?hapikey=" + sb.config_snippet()["webhooks"]["developer_api_key"]
                app_id = sb.config_snippet()["webhooks"]["app_id"]
                http(
                    "PUT",
                    f"{sb.base_url}/webhooks/v3/{app_id}/settings{key}",
                    {"targetUrl": url, "throttling": {}},
                )
                sub = {"eventType": "deal.creation", "active": True}
                http("POST", f"{sb.base_url}/webhooks/v3/{app_id}/subscriptions{key}", sub)
        elif kind == "amocrm":
            sb.emulator.seed(
                {"users": [{"id": int(u), "name": f"U{u}", "email": f"{u}@x.io"} for u in (m1, m2)]}
            )
            company = {
                "name": "Vector",
                "custom_fields_values": [
                    {"field_id": int(ptype.code), "values": [{"enum_id": ptype.options["reseller"]}]}
                ],
            }
            self.partner = str(sb.emulator.seed({"companies": [company]})["companies"][0])
            if events:
                app.adapter.subscribe_events(url)
        else:
            company = {"TITLE": "Vector", ptype.code: ptype.options["reseller"]}
            self.partner = str(sb.emulator.seed({"companies": [company]})["companies"][0])
            if events:
                app.adapter.subscribe_events(None)
        self.token = sb.config_snippet()["env"].get("HUBSPOT_ACCESS_TOKEN") or sb.config_snippet()["env"].get(
            "AMOCRM_ACCESS_TOKEN", ""
        )

    def create_lead(self, n: int) -> str:
        auth = {"Authorization": f"Bearer {self.token}"}
        if self.kind == "hubspot":
            # the lead's partner is the partner association label provisioning made (its typeId)
            props = {"dealname": f"Lead {n}", "pipeline": self.pipeline}
            label = {"associationCategory": "USER_DEFINED", "associationTypeId": int(self.ref)}
            deal = {"properties": props, "associations": [{"to": {"id": self.partner}, "types": [label]}]}
            return str(http("POST", f"{self.sb.base_url}/crm/v3/objects/deals", deal, auth)["id"])
        if self.kind == "amocrm":
            lead = {
                "name": f"Lead {n}",
                "pipeline_id": int(self.pipeline),
                "custom_fields_values": [
                    {"field_id": int(self.ref), "values": [{"value": int(self.partner)}]}
                ],
                "_embedded": {"companies": [{"id": int(self.partner)}]},
            }
            return str(
                http("POST", f"{self.sb.base_url}/api/v4/leads", [lead], auth)["_embedded"]["leads"][0]["id"]
            )
        webhook = self.sb.config_snippet()["env"]["B24_WEBHOOK_URL"]
        fields = {"TITLE": f"Lead {n}", "CATEGORY_ID": self.pipeline, self.ref: self.partner}
        return str(http("POST", f"{webhook}crm.deal.add.json", {"fields": fields})["result"])

    def tasked(self) -> set[str]:
        em = self.sb.emulator
        with em._lock:
            if self.kind == "hubspot":
                return {k[3] for k in list(em.state.associations) if k[0] == "tasks" and k[2] == "deals"}
            if self.kind == "amocrm":
                tasks = list(em.state.records.get("tasks", {}).values())
                return {str(t["entity_id"]) for t in tasks if t.get("entity_type") == "leads"}
        state = em.dump()
        tasks = list(state["tasks"].values()) if isinstance(state["tasks"], dict) else state["tasks"]
        return {b[2:] for t in tasks for b in (t.get("ufCrmTask") or []) if b.startswith("D_")}


def run(kind: str, *, events: bool, leads: int, gap: float, poll: int) -> list[float]:
    with (
        tempfile.TemporaryDirectory() as tmp_name,
        Sandbox(kind, latency_ms=LATENCY_MS, rate_limit=True) as sb,
    ):
        tmp = Path(tmp_name)
        port = free_port()
        config = write_config(tmp, kind, sb, events=events, poll=poll, port=port)
        app = bootstrap(load_settings(config))
        provision(app.adapter, desired_layout_for(app.settings))
        crm = Crm(kind, sb, app, port, events)
        daemon = build_daemon(app, metrics=BridgeMetrics(), port=port)
        daemon.start()
        created: dict[str, float] = {}
        seen: dict[str, float] = {}
        done = threading.Event()

        def watch() -> None:
            while not done.is_set():
                now = time.monotonic()
                for lead in crm.tasked():
                    if lead in created and lead not in seen:
                        seen[lead] = now
                time.sleep(0.05)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        try:
            time.sleep(2)  # the jobs' first runs at start (a backfill of the empty account) are over
            for n in range(leads):
                lead = crm.create_lead(n)
                created[lead] = time.monotonic()
                time.sleep(gap)
            deadline = time.monotonic() + poll * 2 + 60
            while len(seen) < len(created) and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            done.set()
            watcher.join(5)
            daemon.stop()
            app.close()
        missing = len(created) - len(seen)
        if missing:
            print(f"  {kind}: {missing} lead(s) without a task before the deadline", file=sys.stderr)
        return [seen[k] - created[k] for k in seen]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=20)
    parser.add_argument("--gap", type=float, default=0.5, help="seconds between two leads")
    parser.add_argument("--poll", type=int, default=30, help="sync/distribute interval of the polling run")
    parser.add_argument("--crm", action="append", choices=("hubspot", "amocrm", "bitrix24"))
    parser.add_argument("--no-polling", action="store_true", help="measure the event path only")
    args = parser.parse_args(argv)
    rows = []
    for kind in args.crm or ["hubspot", "amocrm", "bitrix24"]:
        for events in (True, False) if not args.no_polling else (True,):
            lat = run(kind, events=events, leads=args.leads, gap=args.gap, poll=args.poll)
            mode = "events" if events else f"polling {args.poll}s"
            if lat:
                rows.append((kind, mode, len(lat), statistics.median(lat), pct(lat, 0.95), max(lat)))
            else:
                rows.append((kind, mode, 0, float("nan"), float("nan"), float("nan")))
            print(
                f"{kind:9} {mode:12} n={rows[-1][2]:3} p50={rows[-1][3]:6.2f}s p95={rows[-1][4]:6.2f}s",
                flush=True,
            )
    print("\n| CRM | path | leads | p50 s | p95 s | max s |\n|---|---|---|---|---|---|")
    for kind, mode, n, p50, p95, top in rows:
        print(f"| {kind} | {mode} | {n} | {p50:.2f} | {p95:.2f} | {top:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
