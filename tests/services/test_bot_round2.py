"""The partner bot, round 2 of its mutation survivors: /training for a partner who finished it, the
pushes of one partner's tier history only (and none of what happened before the bot first looked), a
tier taken away, the weekly plan push's wording, and long polling's order, offset and wait."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from bot_world import EN, World
from test_bot_pushes import Api, drain, push, resync

from crm_bridge.domain.model import Partner
from crm_bridge.fake import FakeClock, FakeCRM
from crm_bridge.ports import Entity, PartnerUpdate
from crm_bridge.services.bot import service as bot_service
from crm_bridge.services.bot.api import Sent
from crm_bridge.services.bot.service import OFFSET_STATE, POLL_LOCK
from crm_bridge.services.sync.pull import sync
from crm_bridge.store import Store
from crm_bridge.store.locks import SqlLockProvider

PORTAL = "fake:test"


@pytest.fixture
def world(crm: FakeCRM, store: Store, fake_clock: FakeClock, partner: Partner) -> World:
    from bot_world import CONFIG

    return World(crm, store, fake_clock, partner, bot={**CONFIG["bot"], "survey_every_days": 0})


def test_training_answers_done_for_a_partner_who_completed_it(world: World, crm: FakeCRM) -> None:
    chat = world.linked("en")
    assert chat.say("/training") == [EN["training_todo"]]
    crm.update_partners([PartnerUpdate(world.partner.crm_id, {"training_completed": True})])
    sync(crm, world.store, PORTAL, now=world.clock(), entities=[Entity.PARTNER])
    assert chat.say("/training") == [EN["training_done"]] == ["Training: completed."]


def test_only_the_partners_own_tier_moves_made_after_the_first_look_are_pushed(
    world: World, crm: FakeCRM
) -> None:
    other = crm.seed_partner("ООО Бета", curator_key="anna")
    resync(world)
    store, pid, now = world.store, world.partner.crm_id, world.clock()
    store.record_tier_change(PORTAL, pid, None, "silver", "kpi", now)  # before the bot looked
    chat = world.linked("en")
    drain(world)
    api = Api()
    push(world, api)  # the first look: the baseline, nothing told
    store.record_tier_change(PORTAL, other.crm_id, None, "gold", "kpi", now)  # another partner's
    push(world, api)
    assert api.sent == []
    store.record_tier_change(PORTAL, pid, "silver", "gold", "kpi", now)
    store.record_tier_change(PORTAL, other.crm_id, "gold", "bronze", "kpi", now)
    push(world, api)
    names = world.bot.planner.tier_names
    assert api.sent == [
        (str(chat.chat_id), EN["push_tier_up"].format(tier=names["gold"], was=names["silver"], gained=""))
    ]
    api.sent.clear()
    push(world, api)
    assert api.sent == []


def test_a_tier_taken_away_is_told_with_a_dash(world: World) -> None:
    chat = world.linked("en")
    drain(world)
    api = Api()
    push(world, api)
    store, pid, now = world.store, world.partner.crm_id, world.clock()
    store.record_tier_change(PORTAL, pid, "gold", None, "manual", now)
    store.record_tier_change(PORTAL, pid, None, "bronze", "kpi", now)
    store.record_tier_change(PORTAL, pid, "bronze", "silver", "kpi", now)
    store.record_tier_change(PORTAL, pid, "silver", "bronze", "kpi", now)
    push(world, api)
    names = world.bot.planner.tier_names
    assert [text for _, text in api.sent] == [
        EN["push_tier_up"].format(tier="—", was=names["gold"], gained=""),
        EN["push_tier_up"].format(tier=names["bronze"], was="—", gained=""),
        EN["push_tier_up"].format(tier=names["silver"], was=names["bronze"], gained=""),
        EN["push_tier_down"].format(tier=names["bronze"], was=names["silver"], gained=""),
    ]
    assert {c for c, _ in api.sent} == {str(chat.chat_id)}


@dataclass(frozen=True)
class _Goal:
    target: str
    fulfilment: Decimal | None


@dataclass(frozen=True)
class _Month:
    key: str


@dataclass(frozen=True)
class _Overview:
    month: _Month
    plan: tuple[_Goal, ...]


def test_the_weekly_plan_push_names_the_month_and_each_targets_percent(world: World) -> None:
    en, ru = world.linked("en"), world.linked("ru")
    drain(world)
    view = _Overview(
        _Month("2026-12"),
        (_Goal("leads", Decimal("42.4")), _Goal("revenue", None), _Goal("won_deals", Decimal("100"))),
    )
    world.bot.planner.overview = lambda partner_id: view
    api = Api()
    push(world, api)
    assert sorted(api.sent) == sorted(
        [
            (str(en.chat_id), "Plan for 2026-12: leads 42%; revenue 0%; won deals 100%"),
            (str(ru.chat_id), "План на 2026-12: лиды 42%; выручка 0%; выигранные сделки 100%"),
        ]
    )
    push(world, api)
    assert len(api.sent) == 2  # once a week


class PollApi:
    """getUpdates answering a script once (then nothing), sendMessage always ok; both recorded."""

    def __init__(self, updates: list[dict[str, Any]]) -> None:
        self.updates = updates
        self.polls: list[tuple[int, int | None]] = []
        self.sent: list[tuple[str, str]] = []

    def get_updates(self, offset: int, timeout: int | None = None) -> list[dict[str, Any]]:
        self.polls.append((offset, timeout))
        found, self.updates = self.updates, []
        return found

    def send_message(self, chat_id: str, text: str) -> Sent:
        self.sent.append((chat_id, text))
        return Sent(True, message_id=len(self.sent))

    def close(self) -> None:
        pass


def _update(update_id: int, chat_id: int, text: str) -> dict[str, Any]:
    message = {"chat": {"id": chat_id, "type": "private"}, "text": text, "from": {"language_code": "en"}}
    return {"update_id": update_id, "message": message}


def test_polling_starts_at_offset_zero_handles_updates_by_id_and_keeps_the_next_offset(world: World) -> None:
    chat = world.linked("en")
    drain(world)
    cid = int(chat.chat_id)
    # handed over out of order: /lead must come before the customer's name
    api = PollApi([_update(501, cid, "ООО Гамма"), _update(500, cid, "/lead")])
    world.bot.api = api  # type: ignore[assignment]
    assert world.bot.poll_once(timeout=7) == 2
    assert api.polls == [(0, 7)]
    world.clock.advance(2)
    world.bot.flush()  # one message a second per chat: the second reply goes now
    assert api.sent == [(str(cid), EN["ask_customer_name"]), (str(cid), EN["ask_email"])]
    assert world.store.get_state(PORTAL, OFFSET_STATE) == {"offset": 502}
    assert world.bot.poll_once(timeout=0) == 0
    assert api.polls == [(0, 7), (502, 0)]


@pytest.fixture
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def never(seconds: float) -> None:
        raise AssertionError(f"waited {seconds}s for the poll lock")

    monkeypatch.setattr(bot_service, "SqlLockProvider", lambda engine: SqlLockProvider(engine, sleep=never))
    yield


def test_a_replica_finding_the_poll_lock_taken_does_not_wait_for_it(world: World, no_waiting: None) -> None:
    api = PollApi([_update(900, 7777, "hello")])
    world.bot.api = api  # type: ignore[assignment]
    with SqlLockProvider(world.store.engine).lock(POLL_LOCK):
        assert world.bot.poll_once(timeout=0) == 0
    assert api.polls == []
