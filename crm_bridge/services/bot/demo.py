"""The demo's partner-bot scene: on the Telegram Bot API stand-in, a partner's person links a chat
with a one-time code, registers a lead in a short dialogue (the intake service, so the lead lands in the
CRM sandbox), a manager moves the lead in the CRM, the sync brings it back and the bot pushes the new
stage. Returns the chat as (who, text) lines for the console."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from pydantic import SecretStr

from crm_bridge.config.bot import BotConfig
from crm_bridge.domain.model import FunnelKey
from crm_bridge.ports import Entity, RecordUpdate
from crm_bridge.services.bot.api import BotApi
from crm_bridge.services.bot.service import OFFSET_STATE, PartnerBot

DEMO_TOKEN = "100200:demo-partner-bot"  # noqa: S105 (the stand-in's made-up token)
CHAT = 424242


@dataclass
class BotScene:
    lines: list[tuple[str, str]] = field(default_factory=list)
    lead_id: str | None = None
    pushed_stage: bool = False


def run_bot_scene(app: Any, engine: Any, now: datetime, locale: str, tg: Any, base_url: str) -> BotScene:
    """Play the scene on ``app`` (the demo's wired application) and ``engine`` (its jobs); ``tg`` plays
    the users (the sandbox's Telegram stand-in for ``DEMO_TOKEN``: ``user_says``, ``sent``), served at
    ``base_url``."""
    scene = BotScene()
    clock = [now]
    settings = app.settings.model_copy(
        update={"bot": BotConfig(enabled=True, token=SecretStr(DEMO_TOKEN), survey_every_days=0)}
    )
    shell = SimpleNamespace(
        settings=settings, store=app.store, portal=app.portal, clock=lambda: clock[0], adapter=app.adapter
    )
    app.store.set_state(app.portal, OFFSET_STATE, {"offset": 0})
    api = BotApi(DEMO_TOKEN, base_url=base_url, poll_timeout=0)
    bot = PartnerBot.for_app(shell, engine.intake_service(), api=api)
    try:
        partner = next(p for p in sorted(app.store.partners(app.portal), key=lambda p: p.name))
        code = bot.links.issue(partner.crm_id).code

        def say(text: str) -> None:
            clock[0] += timedelta(seconds=2)
            seen = len(tg.sent(CHAT))
            scene.lines.append((partner.name, text))
            tg.user_says(CHAT, text, language=locale)
            bot.poll_once(timeout=0)
            scene.lines += [("bot", reply) for reply in tg.sent(CHAT)[seen:]]

        yes = "да" if locale == "ru" else "yes"
        for text in (
            f"/start {code}",
            "/lead",
            "ООО Телеграм-Клиент" if locale == "ru" else "Telegram Customer Ltd",
            "-" if locale == "ru" else "buyer@tg-customer.example",
            "+7 900 555-01-02",
            "7707083893" if locale == "ru" else "-",
            "250000",
            "-",
            yes,
        ):
            say(text)
        engine.sync()
        clock[0] += timedelta(seconds=2)
        bot.push()  # the baseline of the partner's leads
        mine = [
            r
            for r in app.store.intake.of_partner(app.portal, partner.crm_id)
            if r.external_id.startswith("bot:")
        ]
        scene.lead_id = mine[-1].lead_crm_id if mine else None
        lead = next(
            (
                lead
                for lead in app.store.leads(app.portal, partner_id=partner.crm_id)
                if lead.crm_id == scene.lead_id
            ),
            None,
        )
        if lead is not None:
            later = [s for s in engine.lead_stages if s != lead.stage]
            app.adapter.update_records(
                [RecordUpdate(Entity.LEAD, lead.crm_id, stage=later[0], funnel=FunnelKey.LEADS.value)]
            )
            engine.sync()
            seen = len(tg.sent(CHAT))
            clock[0] += timedelta(seconds=2)
            bot.push()
            pushed = tg.sent(CHAT)[seen:]
            scene.pushed_stage = bool(pushed)
            scene.lines += [("bot", text) for text in pushed]
    finally:
        bot.close()
    return scene
