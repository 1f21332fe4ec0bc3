"""What the partner bot sends by itself (``PartnerBot.push``/``flush`` over a Bot API stand-in):
a lead's stage change, won or lost, a tier move, the periodic survey, the month's plan, the head's
news; each once, in the chat's language, not to a chat that muted that kind; and how a send that
Telegram refused, flood-limited or never answered is handled."""

from __future__ import annotations

from typing import Any

import pytest
from bot_world import EN, RU, World

from crm_bridge.domain.model import Partner
from crm_bridge.fake import FakeClock, FakeCRM
from crm_bridge.ports import Entity, RecordUpdate
from crm_bridge.services.bot.api import Sent
from crm_bridge.services.bot.pushes import FlushResult
from crm_bridge.services.sync.pull import sync
from crm_bridge.store import Store

PORTAL = "fake:test"


class Api:
    """The Bot API's sendMessage, answering from a script (``ok`` once the script is spent)."""

    def __init__(self, *answers: Sent) -> None:
        self.answers = list(answers)
        self.sent: list[tuple[str, str]] = []

    def send_message(self, chat_id: str, text: str) -> Sent:
        self.sent.append((chat_id, text))
        return self.answers.pop(0) if self.answers else Sent(True, message_id=len(self.sent))

    def close(self) -> None:
        pass


@pytest.fixture
def world(crm: FakeCRM, store: Store, fake_clock: FakeClock, partner: Partner) -> World:
    return World(crm, store, fake_clock, partner, bot={**_bot(), "survey_every_days": 0})


def _bot() -> dict[str, Any]:
    from bot_world import CONFIG

    return dict(CONFIG["bot"])


def push(world: World, api: Api) -> FlushResult:
    """Queue what changed and send it all: a chat gets one message a second, so flush second by
    second until nothing more is postponed; the sum of what happened (postponements left out)."""
    world.bot.api = api  # type: ignore[assignment]
    world.clock.advance(5)
    result = world.bot.push()
    total = FlushResult(result.sent, result.failed, result.retrying, 0, result.uncertain)
    while result.postponed:
        world.clock.advance(1)
        result = world.bot.flush()
        total.sent, total.failed = total.sent + result.sent, total.failed + result.failed
        total.retrying, total.uncertain = total.retrying + result.retrying, total.uncertain + result.uncertain
    return total


def drain(world: World) -> None:
    """Send the bot's replies queued so far (the links, the mutes...), so the pushes stand alone."""
    world.bot.api = Api()  # type: ignore[assignment]
    for _ in range(10):
        world.clock.advance(2)
        world.bot.flush()


def resync(world: World) -> None:
    sync(world.crm, world.store, PORTAL, now=world.clock())


def test_a_lead_moving_stage_is_pushed_once_to_each_linked_chat_in_its_language(world: World) -> None:
    crm, stages = world.crm, world.crm.lead_funnel_stages()
    lead = crm.seed_lead(world.partner.crm_id, "Сделка", stage=stages[0])
    en, ru, muted = world.linked("en"), world.linked("ru"), world.linked("en")
    muted.say("/mute stage")
    drain(world)
    resync(world)
    api = Api()
    push(world, api)
    assert api.sent == []  # the first look takes the baseline: no history is pushed

    crm.update_records([RecordUpdate(Entity.LEAD, lead.crm_id, stage=stages[1])])
    resync(world)
    result = push(world, api)
    stage_name = world.bot.planner.stage_names[stages[1]]
    assert sorted(api.sent) == sorted(
        [
            (str(en.chat_id), EN["push_stage"].format(customer="Сделка", stage=stage_name)),
            (str(ru.chat_id), RU["push_stage"].format(customer="Сделка", stage=stage_name)),
        ]
    )
    assert result == FlushResult(sent=2)
    assert push(world, api) == FlushResult()  # nothing new: nothing sent again


def test_won_and_lost_leads_are_pushed_as_such(world: World, crm: FakeCRM) -> None:
    stages = crm.lead_funnel_stages()
    won, lost = "deal_closed", "lead_lost"
    a = crm.seed_lead(world.partner.crm_id, "Альфа-сделка", stage=stages[0])
    b = crm.seed_lead(world.partner.crm_id, "Бета-сделка", stage=stages[0])
    chat = world.linked("en")
    drain(world)
    resync(world)
    api = Api()
    push(world, api)
    crm.update_records(
        [RecordUpdate(Entity.LEAD, a.crm_id, stage=won), RecordUpdate(Entity.LEAD, b.crm_id, stage=lost)]
    )
    resync(world)
    push(world, api)
    assert sorted(text for _, text in api.sent) == sorted(
        [EN["push_won"].format(customer="Альфа-сделка"), EN["push_lost"].format(customer="Бета-сделка")]
    )
    assert {c for c, _ in api.sent} == {str(chat.chat_id)}


def test_a_tier_move_is_pushed_up_or_down_with_the_tier_names(world: World) -> None:
    chat, muted = world.linked("en"), world.linked("en")
    muted.say("/mute tier")
    drain(world)
    api = Api()
    push(world, api)  # baseline
    store, pid, now = world.store, world.partner.crm_id, world.clock()
    store.record_tier_change(PORTAL, pid, None, "silver", "kpi", now)
    store.record_tier_change(PORTAL, pid, "silver", "gold", "kpi", now)
    store.record_tier_change(PORTAL, pid, "gold", "bronze", "kpi", now)
    push(world, api)
    names = world.bot.planner.tier_names
    assert api.sent == [
        (str(chat.chat_id), EN["push_tier_up"].format(tier=names["silver"], was="—", gained="")),
        (str(chat.chat_id), EN["push_tier_up"].format(tier=names["gold"], was=names["silver"], gained="")),
        (str(chat.chat_id), EN["push_tier_down"].format(tier=names["bronze"], was=names["gold"], gained="")),
    ]
    up, down = api.sent[1][1], api.sent[2][1]
    assert up.startswith("Congratulations: your tier is now ") and down.startswith("Your tier is now ")
    api.sent.clear()
    push(world, api)
    assert api.sent == []


def test_the_survey_is_asked_once_a_round_unless_muted_or_answered(
    crm: FakeCRM, store: Store, fake_clock: FakeClock, partner: Partner
) -> None:
    world = World(crm, store, fake_clock, partner, bot={**_bot(), "survey_every_days": 30})
    asked, muted, answered = world.linked("ru"), world.linked("en"), world.linked("en")
    muted.say("/mute survey")
    answered.say("/feedback")
    answered.say("10")
    answered.say("-")
    drain(world)
    api = Api()
    push(world, api)
    assert api.sent == [(str(asked.chat_id), RU["survey_ask"])]
    push(world, api)
    assert len(api.sent) == 1  # the same round: asked once
    fake_clock.advance(31 * 86400)
    push(world, api)
    assert [c for c, _ in api.sent].count(str(answered.chat_id)) == 1  # a new round asks again


def test_news_go_to_the_chosen_partners_chats_once(world: World, crm: FakeCRM) -> None:
    other = crm.seed_partner("ООО Бета", curator_key="anna")
    resync(world)
    ours, theirs, muted = (
        world.linked("en"),
        world.linked("ru", partner=world.store.records.partner(PORTAL, other.crm_id)),
        world.linked("en"),
    )
    muted.say("/mute news")
    drain(world)
    dry = world.bot.broadcast("Webinar on Friday", tier=None, partner_type=None, dry_run=True)
    assert sorted(c.chat_id for c in dry) == sorted([str(ours.chat_id), str(theirs.chat_id)])
    api = Api()
    push(world, api)
    assert api.sent == []  # a dry run queues nothing
    chosen = world.bot.broadcast("Webinar on Friday", tier=None, partner_type=None)
    assert len(chosen) == 2
    push(world, api)
    assert sorted(api.sent) == sorted(
        [
            (str(ours.chat_id), EN["push_news"].format(text="Webinar on Friday")),
            (str(theirs.chat_id), RU["push_news"].format(text="Webinar on Friday")),
        ]
    )
    assert world.bot.broadcast("x", tier="platinum", partner_type=None, dry_run=True) == []
    assert world.bot.broadcast("x", tier=None, partner_type="nonexistent", dry_run=True) == []


def test_a_refused_send_is_dropped_a_flood_limit_retried_and_a_lost_answer_not_resent(world: World) -> None:
    chats = [world.linked("en") for _ in range(4)]
    drain(world)
    world.bot.broadcast("News", tier=None, partner_type=None)
    api = Api(
        Sent(False, error="chat blocked the bot", permanent=True),
        Sent(False, error="Too Many Requests", retry_after=40),
        Sent(False, error="Bad Request", answered=True),
        Sent(False, error="read timeout"),
    )
    assert push(world, api) == FlushResult(failed=1, retrying=2, uncertain=1)
    assert push(world, api) == FlushResult()  # the retries are not due yet
    world.clock.advance(41)
    assert push(world, api) == FlushResult(sent=2)
    assert len(api.sent) == 6 and len(chats) == 4
    counters = world.bot.outbox.counters  # the four link replies were sent first
    assert (counters["sent"], counters["failed"], counters["retrying"], counters["uncertain"]) == (6, 1, 2, 1)


def test_one_chat_gets_at_most_one_message_a_second(world: World) -> None:
    chat = world.linked("en")
    drain(world)
    world.bot.broadcast("One", tier=None, partner_type=None)
    world.bot.broadcast("Two", tier=None, partner_type=None)
    api = Api()
    world.bot.api = api  # type: ignore[assignment]
    first = world.bot.flush()  # one goes now, the other waits for the chat's budget
    assert (first.sent, first.postponed) == (1, 1)
    assert api.sent == [(str(chat.chat_id), EN["push_news"].format(text="One"))]
    world.clock.advance(1)
    assert world.bot.flush() == FlushResult(sent=1)


def test_a_tier_move_says_when_exclusive_access_begins_or_ends(
    crm: FakeCRM, store: Store, fake_clock: FakeClock, partner: Partner
) -> None:
    world = World(
        crm,
        store,
        fake_clock,
        partner,
        bot={**_bot(), "survey_every_days": 0},
        access={"tiers": {"gold": {"regions": ["Kazan"]}, "platinum": {"products": ["Pro"]}}},
    )
    chat = world.linked("en")
    drain(world)
    api = Api()
    push(world, api)  # baseline
    pid, now = partner.crm_id, fake_clock()
    for old, new in (("bronze", "silver"), ("silver", "gold"), ("gold", "platinum"), ("platinum", "silver")):
        store.record_tier_change(PORTAL, pid, old, new, "kpi", now)
    store.record_tier_change(PORTAL, pid, "silver", "legacy", "a tier the config no longer has", now)
    push(world, api)

    names = world.bot.planner.tier_names
    up, down = EN["push_tier_up"], EN["push_tier_down"]
    assert [text for _, text in api.sent] == [
        up.format(tier=names["silver"], was=names["bronze"], gained=""),
        up.format(tier=names["gold"], was=names["silver"], gained=EN["tier_exclusive_gained"]),
        up.format(tier=names["platinum"], was=names["gold"], gained=""),  # cumulative: still has it
        down.format(tier=names["silver"], was=names["platinum"], gained=EN["tier_exclusive_lost"]),
        up.format(tier="legacy", was=names["silver"], gained=""),  # an unknown tier is told as a move up
    ]
    assert {c for c, _ in api.sent} == {str(chat.chat_id)}


def test_news_can_be_sent_to_one_tier_or_one_partner_type_only(
    crm: FakeCRM, store: Store, fake_clock: FakeClock, partner: Partner
) -> None:
    from crm_bridge.domain.model import PartnerType

    gold = crm.seed_partner("ООО Золото", tier="gold", type=PartnerType.INTEGRATOR)
    silver = crm.seed_partner("ООО Серебро", tier="silver", type=PartnerType.RESELLER)
    sync(crm, store, PORTAL, now=fake_clock())
    world = World(crm, store, fake_clock, partner, bot={**_bot(), "survey_every_days": 0})
    muted = world.linked("en", partner=store.records.partner(PORTAL, gold.crm_id))
    muted.say("/mute news")  # the first chat found is muted: the others are still chosen
    gold_chat = world.linked("ru", partner=store.records.partner(PORTAL, gold.crm_id))
    silver_chat = world.linked("en", partner=store.records.partner(PORTAL, silver.crm_id))
    bare = world.linked("en")  # the fixture's partner: no tier, no type
    drain(world)

    def chosen(**kw: Any) -> list[str]:
        return sorted(c.chat_id for c in world.bot.broadcast("News", dry_run=True, **kw))

    assert chosen(tier="gold", partner_type=None) == [str(gold_chat.chat_id)]
    assert chosen(tier=None, partner_type="reseller") == [str(silver_chat.chat_id)]
    assert chosen(tier="gold", partner_type="reseller") == []
    assert chosen(tier=None, partner_type=None) == sorted(
        str(c.chat_id) for c in (gold_chat, silver_chat, bare)
    )
    world.bot.broadcast("Вебинар", tier="gold", partner_type="integrator")
    api = Api()
    push(world, api)
    assert api.sent == [(str(gold_chat.chat_id), RU["push_news"].format(text="Вебинар"))]
