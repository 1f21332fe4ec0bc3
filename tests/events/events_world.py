"""An application with the CRM event receiver on, over one sandbox CRM: config text per CRM, the
bootstrapped ``App``, its ``Engine`` and the web application (``TestClient`` or a live ``WebServer``)."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from crm_bridge.bootstrap import App, bootstrap
from crm_bridge.config import load_settings
from crm_bridge.daemon.app import build_web_context
from crm_bridge.daemon.engine import Engine
from crm_bridge.sandbox.server import Sandbox
from crm_bridge.services.metrics import BridgeMetrics
from crm_bridge.web.app import create_app

TOKEN = "evt-0123456789abcdef0123"
PUBLIC = "https://bridge.example.com"
HS_SECRET = "sandbox-hubspot-client-secret"
HS_PORTAL = 24681357
B24_APP_TOKEN = "sandbox-application-token"

PEOPLE = """
head: {name: Head, crm_user_id: "HEAD"}
managers:
  - {key: anna, name: Anna, crm_user_id: "M1"}
  - {key: oleg, name: Oleg, crm_user_id: "M2"}
curators:
  - {key: dmitry, name: Dmitry, crm_user_id: "HEAD"}
"""
USERS = {
    "hubspot": ("100000001", "100000002", "100000003"),
    "amocrm": ("8000001", "8000002", "8000003"),
    "bitrix24": ("1", "2", "3"),
    "bitrix24-oauth": ("1", "2", "3"),
}


def crm_section(kind: str, sb: Sandbox, extra: str = "") -> str:
    snippet = sb.config_snippet()
    if kind == "hubspot":
        return f"""
  hubspot:
    base_url: {snippet["crm"]["hubspot"]["base_url"]}
    access_token: ${{HUBSPOT_ACCESS_TOKEN}}
    tier: professional
    per_ten_seconds: 100000
    search_per_second: 10000
    webhook_secret: ${{HUBSPOT_WEBHOOK_SECRET}}
    portal_id: {HS_PORTAL}{extra}"""
    if kind == "amocrm":
        return f"""
  amocrm:
    base_url: {snippet["crm"]["amocrm"]["base_url"]}
    access_token: ${{AMOCRM_ACCESS_TOKEN}}{extra}"""
    if kind == "bitrix24-oauth":
        oauth = snippet["oauth"]
        return f"""
  bitrix24:
    oauth:
      portal_url: {oauth["portal_url"]}
      client_id: ${{B24_CLIENT_ID}}
      client_secret: ${{B24_CLIENT_SECRET}}
      refresh_token: ${{B24_REFRESH_TOKEN}}
      token_url: {oauth["token_url"]}
    rate_limit: {{burst: 10000, per_second: 10000}}{extra}"""
    return f"""
  bitrix24:
    webhook_url: ${{B24_WEBHOOK_URL}}
    rate_limit: {{burst: 10000, per_second: 10000}}
    application_token: ${{B24_APPLICATION_TOKEN}}{extra}"""


def config_text(
    kind: str, sb: Sandbox, state_url: str, *, public: str | None = PUBLIC, extra: str = ""
) -> str:
    head, m1, m2 = USERS[kind]
    people = PEOPLE.replace('"HEAD"', f'"{head}"').replace('"M1"', f'"{m1}"').replace('"M2"', f'"{m2}"')
    events = "events:\n  enabled: true\n  path_token: ${CRM_BRIDGE_EVENTS_TOKEN}\n  max_body_kb: 64\n"
    if public:
        events += f"  public_url: {public}\n"
    return (
        f"locale: en\ncrm:\n  kind: {kind.split('-')[0]}{crm_section(kind, sb, extra)}\n"
        f"state:\n  url: {state_url}\n"
        + textwrap.dedent(people)
        + "distribution:\n  strategy: round_robin\n"
        + events
    )


@dataclass
class World:
    app: App
    engine: Engine
    metrics: BridgeMetrics
    web: Any

    def client(self) -> TestClient:
        return TestClient(self.web)

    def queued(self) -> int:
        return self.app.store.events.count_pending(self.app.portal)

    def refused(self, crm: str, reason: str) -> float:
        return self.metrics.value("crm_bridge_events_rejected_total", source=crm, reason=reason)

    def close(self) -> None:
        self.app.close()


def build(tmp_path: Path, kind: str, sb: Sandbox, **options: Any) -> World:
    path = tmp_path / "config.yaml"
    path.write_text(config_text(kind, sb, f"sqlite:///{tmp_path / 'state.db'}", **options), encoding="utf-8")
    env = {
        **sb.config_snippet()["env"],
        "CRM_BRIDGE_EVENTS_TOKEN": TOKEN,
        "HUBSPOT_WEBHOOK_SECRET": HS_SECRET,
        "B24_APPLICATION_TOKEN": B24_APP_TOKEN,
    }
    oauth = sb.config_snippet().get("oauth") or {}
    if kind == "bitrix24-oauth":
        env |= {
            "B24_CLIENT_ID": oauth["client_id"],
            "B24_CLIENT_SECRET": oauth["client_secret"],
            "B24_REFRESH_TOKEN": oauth["refresh_token"],
        }
    (tmp_path / ".env").write_text("".join(f"{k}={v}\n" for k, v in env.items()), encoding="utf-8")
    app = bootstrap(load_settings(path))
    metrics = BridgeMetrics()
    engine = Engine(app, metrics=metrics)
    ctx = build_web_context(app, metrics, engine, lambda: (True, {"status": "ok", "jobs": {}}))
    return World(app, engine, metrics, create_app(ctx))
