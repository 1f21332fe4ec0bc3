"""The bot's pushes do not depend on the order chats and leads are read in: a chat that muted a kind,
or a lead that did not move, read first does not keep the chats and leads after it from their push;
news for one tier reach that tier's chats even when another tier's chat comes first. And a stage the
config's layout does not name (added in the CRM by hand) is pushed under its CRM key."""

from __future__ import annotations

from typing import Any

import pytest
from bot_world import EN, RU, World
from test_bot_pushes import PORTAL, Api, drain, push, resync

from crm_bridge.domain.model import Partner
from crm_bridge.fake import FakeClock, FakeCRM
from crm_bridge.ports import Entity, RecordUpdate
from crm_bridge.services.sync.pull import sync
from crm_bridge.store import Store


def _bot() -> dict[str, Any]:
    from bot_world import CONFIG

    return {**CONFIG["bot"], "survey_every_days": 0}


@pytest.fixture
def world(crm: FakeCRM, store: Store, fake_clock: FakeClock, partner: Partner) -> World:
    return World(crm, store, fake_clock, partner, bot=_bot())


def test_a_chat_that_muted_stages_and_tiers_read_first_leaves_the_next_chat_its_pushes(world: World) -> None:
    crm, stages = world.crm, world.crm.lead_funnel_stages()
    still = crm.seed_lead(world.partner.crm_id, "Стоит", stage=stages[0])  # read first, does not move
    moved = crm.seed_lead(world.partner.crm_id, "Движется", stage=stages[0])
    muted = world.linked("en")  # the lowest chat id: read first
    muted.say("/mute stage")
    muted.say("/mute tier")
    told = world.linked("ru")
    drain(world)
    resync(world)
    api = Api()
    push(world, api)  # the baseline

    crm.update_records([RecordUpdate(Entity.LEAD, moved.crm_id, stage=stages[1])])
    resync(world)
    world.store.record_tier_change(PORTAL, world.partner.crm_id, "bronze", "gold", "kpi", world.clock())
    push(world, api)

    names = world.bot.planner
    gold, bronze = names.tier_names["gold"], names.tier_names["bronze"]
    assert still.crm_id < moved.crm_id
    assert api.sent == [
        (
            str(told.chat_id),
            RU["push_stage"].format(customer="Движется", stage=names.stage_names[stages[1]]),
        ),
        (
            str(told.chat_id),
            RU["push_tier_up"].format(tier=gold, was=bronze, gained=""),
        ),
    ]


def test_news_for_one_tier_reach_its_chats_after_another_tiers_chat(
    crm: FakeCRM, store: Store, fake_clock: FakeClock, partner: Partner
) -> None:
    gold = crm.seed_partner("ООО Золото", tier="gold")
    silver = crm.seed_partner("ООО Серебро", tier="silver")
    sync(crm, store, PORTAL, now=fake_clock())
    world = World(crm, store, fake_clock, partner, bot=_bot())
    world.linked("en", partner=store.records.partner(PORTAL, gold.crm_id))  # read first, not silver
    silver_chat = world.linked("en", partner=store.records.partner(PORTAL, silver.crm_id))
    drain(world)

    chosen = world.bot.broadcast("Silver webinar", tier="silver", partner_type=None)
    api = Api()
    push(world, api)

    assert [c.chat_id for c in chosen] == [str(silver_chat.chat_id)]
    assert api.sent == [(str(silver_chat.chat_id), EN["push_news"].format(text="Silver webinar"))]


def test_a_stage_the_layout_does_not_name_is_pushed_under_its_crm_key(world: World) -> None:
    crm, stages = world.crm, world.crm.lead_funnel_stages()
    lead = crm.seed_lead(world.partner.crm_id, "Сделка", stage=stages[0])
    chat = world.linked("en")
    drain(world)
    resync(world)
    api = Api()
    push(world, api)  # the baseline
    del world.bot.planner.stage_names[stages[1]]  # a stage added in the CRM by hand, not in the config

    crm.update_records([RecordUpdate(Entity.LEAD, lead.crm_id, stage=stages[1])])
    resync(world)
    push(world, api)

    assert api.sent == [(str(chat.chat_id), EN["push_stage"].format(customer="Сделка", stage=stages[1]))]
