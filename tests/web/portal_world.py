"""A small demo partner network on a Bitrix24 sandbox, wired to the portal's FastAPI routes: what the
portal's HTTP tests and browser tests run against (``PortalWorld``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import requests
from fastapi import FastAPI

from crm_bridge.bootstrap import App, bootstrap
from crm_bridge.config import load_settings
from crm_bridge.daemon.engine import Engine
from crm_bridge.domain.model import Partner
from crm_bridge.plugin import spec_for
from crm_bridge.sandbox.server import Sandbox
from crm_bridge.services.demo.run import run_demo
from crm_bridge.services.sync.pull import sync
from crm_bridge.store.tier_moves import PendingTier, TierPendingRepository
from crm_bridge.texts import words
from crm_bridge.web.app import create_app
from crm_bridge.web.context import WebContext
from crm_bridge.web.portal import PortalContext, mount_portal, portal_context

ADMIN_TOKEN = "head-secret-for-tests-0123456789"


@dataclass
class PortalWorld:
    sandbox: Sandbox
    app: App
    engine: Engine
    ctx: PortalContext
    web: FastAPI
    out_dir: Path
    webhook_url: str

    def partners(self) -> list[Partner]:
        """Partners by name (the first two are the tests' "ours" and "theirs")."""
        return sorted(self.app.store.partners(self.app.portal), key=lambda p: (p.name, p.crm_id))

    def invite(self, partner_id: str) -> str:
        return self.ctx.access.invite(partner_id).key

    def sync(self) -> None:
        sync(self.app.adapter, self.app.store, self.app.portal, now=datetime.now(UTC))

    def move_lead(self, lead_id: str, stage_key: str) -> None:
        """Move a partner lead (a deal of the lead funnel on Bitrix24) to ``stage_key`` in the CRM, the way a
        manager would, through the CRM's REST API (``crm.deal.update``)."""
        deals = self.sandbox.emulator.dump()["records"]["deal"]
        there = next(
            lead.crm_id
            for lead in self.app.store.leads(self.app.portal)
            if lead.stage == stage_key and lead.crm_id != lead_id
        )
        code = next(d["STAGE_ID"] for d in deals if d["ID"] == there)
        answer = requests.post(
            f"{self.webhook_url.rstrip('/')}/crm.deal.update.json",
            json={"id": lead_id, "fields": {"STAGE_ID": code}},
            timeout=10,
        )
        answer.raise_for_status()

    def await_downgrade(self, partner: Partner, to_tier: str) -> PendingTier:
        """A downgrade of ``partner`` waiting for the head (as ``tiers evaluate`` with
        ``approval_required`` leaves it), its reason worded as the tier policy words it: in the
        config's language, from the catalogue."""
        now = datetime.now(UTC)
        settings = self.app.settings
        t, metrics = words("tiers", settings.locale), words("tier_metrics", settings.locale)
        names = {lv.key: lv.name.get(settings.locale) for lv in settings.tiers.levels}
        miss = t["miss"].format(metric=metrics["revenue"], actual="120000", minimum="300000", gap="60")
        below = t["below"].format(tier=names.get(partner.tier or "", partner.tier), parts=miss)
        reason = below + t["count"].format(count=2, rule=t["runs"].format(n=2))
        return TierPendingRepository(self.app.store.engine).upsert_open(
            self.app.portal,
            partner.crm_id,
            from_tier=partner.tier,
            to_tier=to_tier,
            reason=reason,
            status="awaiting_approval",
            started_at=now,
            effective_at=now,
        )

    def close(self) -> None:
        self.app.close()
        self.sandbox.stop()


def build_world(out_dir: Path) -> PortalWorld:
    sandbox = Sandbox("bitrix24", latency_ms=0.0, per_record_ms=0.0, rate_limit=False)
    sandbox.start()
    result = run_demo(out_dir, sandbox, per_type=3, months=3, fresh_leads=6)
    support = spec_for("bitrix24").demo
    assert support is not None
    _, env = support.crm_section(sandbox.config_snippet(), False)
    settings = load_settings(result.config_path, environ=env)
    app = bootstrap(settings)
    engine = Engine(app)
    ctx = portal_context(app, engine, environ={"CRM_BRIDGE_ADMIN_TOKEN": ADMIN_TOKEN})
    web = create_app(WebContext(bridge=app, services={"engine": engine}))
    mount_portal(web, ctx)
    return PortalWorld(sandbox, app, engine, ctx, web, out_dir, env["B24_WEBHOOK_URL"])
