"""The partner bot as the daemon runs it (``PartnerBot``): long polling on the Telegram stand-in (the
updates answered, the offset kept, one replica polling at a time), the curator's answer to a question
going back to the chat that asked, the webhook registered with its secret, and a push that cannot
reach Telegram logged rather than raised."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from bot_world import EN, RU, World

from crm_bridge.domain.model import Partner
from crm_bridge.errors import CrmBridgeError, StateError
from crm_bridge.fake import FakeClock, FakeCRM
from crm_bridge.ports import Entity
from crm_bridge.sandbox.server import Sandbox
from crm_bridge.sandbox.telegram import TelegramEmulator
from crm_bridge.services.bot.api import BotApi
from crm_bridge.services.bot.links import LinkCodes
from crm_bridge.services.bot.pushes import safe
from crm_bridge.services.bot.service import OFFSET_STATE, POLL_LOCK, safe_push
from crm_bridge.services.sync.pull import sync
from crm_bridge.store import Store
from crm_bridge.store.locks import SqlLockProvider

PORTAL = "fake:test"
TOKEN = "777002:bot-service-test-token"


@pytest.fixture
def world(crm: FakeCRM, store: Store, fake_clock: FakeClock, partner: Partner) -> World:
    crm.add_user("11", "Анна")
    return World(
        crm,
        store,
        fake_clock,
        partner,
        bot={
            "enabled": True,
            "token": "${PARTNER_BOT_TOKEN}",
            "webhook_secret": "${HOOK}",
            "mode": "webhook",
        },
    )


@pytest.fixture
def tg() -> Iterator[tuple[TelegramEmulator, Sandbox]]:
    emulator = TelegramEmulator(token=TOKEN)
    with Sandbox("telegram", emulator=emulator) as sandbox:
        yield emulator, sandbox


def test_polling_answers_each_update_once_and_keeps_the_offset(
    world: World, tg: tuple[TelegramEmulator, Sandbox]
) -> None:
    emulator, sandbox = tg
    world.bot.api = BotApi(TOKEN, base_url=sandbox.base_url, poll_timeout=0, sleep=lambda s: None)
    world.store.set_state(PORTAL, OFFSET_STATE, {"offset": 0})
    emulator.user_says(6001, "hello", language="en")
    last = emulator.user_says(6002, "привет", language="ru")

    assert world.bot.poll_once(timeout=0) == 2
    assert world.store.get_state(PORTAL, OFFSET_STATE) == {"offset": last + 1}
    assert emulator.sent(6001) == [EN["unlinked"]]
    assert len(emulator.sent(6002)) == 1 and emulator.sent(6002)[0] != EN["unlinked"]
    assert world.bot.poll_once(timeout=0) == 0  # confirmed: not handed over again
    with SqlLockProvider(world.store.engine).lock(POLL_LOCK):
        emulator.user_says(6001, "again", language="en")
        assert world.bot.poll_once(timeout=0) == 0  # another replica polls
    assert world.bot.poll_once(timeout=0) == 1
    world.bot.close()


def test_the_webhook_is_registered_with_its_secret(
    world: World, tg: tuple[TelegramEmulator, Sandbox]
) -> None:
    emulator, sandbox = tg
    world.bot.api = BotApi(TOKEN, base_url=sandbox.base_url, poll_timeout=0)
    world.bot.set_webhook("https://bridge.firm.ru/telegram/webhook")
    assert emulator.webhook is not None
    assert (emulator.webhook["url"], emulator.webhook.get("secret_token")) == (
        "https://bridge.firm.ru/telegram/webhook",
        "hook-secret",
    )
    (call,) = [r for r in sandbox.requests() if r["path"].endswith("/setWebhook")]
    assert json.loads(call["body"]) == {
        "url": "https://bridge.firm.ru/telegram/webhook",
        "secret_token": "hook-secret",
        "allowed_updates": ["message"],  # edits, reactions, joins... are not sent to the bridge
    }


def test_without_a_webhook_secret_the_webhook_is_registered_with_none(
    crm: FakeCRM, store: Store, fake_clock: FakeClock, partner: Partner, tg: tuple[TelegramEmulator, Sandbox]
) -> None:
    emulator, sandbox = tg
    world = World(crm, store, fake_clock, partner, bot={"enabled": True, "token": "${PARTNER_BOT_TOKEN}"})
    world.bot.api = BotApi(TOKEN, base_url=sandbox.base_url, poll_timeout=0)
    world.bot.set_webhook("https://bridge.firm.ru/telegram/webhook")
    assert emulator.webhook == {"url": "https://bridge.firm.ru/telegram/webhook", "secret_token": ""}


def test_the_curators_answer_goes_to_the_chat_that_asked_else_to_every_chat_of_the_partner(
    world: World,
) -> None:
    asker, other = world.linked("en"), world.linked("ru")
    asker.say("Can we get a demo stand?")
    (question,) = world.bot.repo.questions()

    assert world.bot.answer_question(question.id, "Yes, from Monday.") == 1
    answered = next(q for q in world.bot.repo.questions() if q.id == question.id)
    assert (answered.answer, answered.answered_at) == ("Yes, from Monday.", world.clock())
    queued = [i.payload for i in world.store.outbox.due(PORTAL, "bot", now=world.clock(), limit=100)]
    answer = EN["answer"].format(question="Can we get a demo stand?", answer="Yes, from Monday.")
    assert {"chat_id": str(asker.chat_id), "text": answer, "push": "answer"} in queued
    assert not any(p["push"] == "answer" and p["chat_id"] == str(other.chat_id) for p in queued)

    beta = world.crm.seed_partner("ООО Бета", curator_key="anna")
    sync(world.crm, world.store, PORTAL, now=world.clock(), entities=[Entity.PARTNER])
    stranger = world.linked("en", partner=world.store.records.partner(PORTAL, beta.crm_id))
    asker.say("/unlink")
    assert world.bot.answer_question(question.id, "And Tuesday.") == 1  # the partner's other chat
    queued = [i.payload for i in world.store.outbox.due(PORTAL, "bot", now=world.clock(), limit=100)]
    assert [p["chat_id"] for p in queued if p["push"] == "answer"] == [str(asker.chat_id), str(other.chat_id)]
    assert not any(p["chat_id"] == str(stranger.chat_id) and p["push"] == "answer" for p in queued)
    with pytest.raises(LookupError, match="no question 999"):
        world.bot.answer_question(999, "?")


def test_a_push_without_telegram_is_logged_not_raised(world: World, caplog: pytest.LogCaptureFixture) -> None:
    world.bot.api = None
    with caplog.at_level(logging.ERROR, logger="crm_bridge.bot"):
        assert safe_push(world.bot) is None
    assert [(r.name, r.levelname, r.getMessage()) for r in caplog.records] == [
        (
            "crm_bridge.bot",
            "ERROR",
            "bot push failed: bot.token is not set: the partner bot cannot reach Telegram",
        )
    ]
    caplog.clear()
    with pytest.raises(StateError, match="bot.token is not set"):
        world.bot.flush()
    assert safe(lambda: 7, "count") == 7

    def broken() -> int:
        raise CrmBridgeError("down")

    with caplog.at_level(logging.ERROR, logger="crm_bridge.bot"):
        assert safe(broken, "count") is None
    assert [(r.name, r.levelname, r.getMessage()) for r in caplog.records] == [
        ("crm_bridge.bot", "ERROR", "bot: count failed: down")
    ]


def test_an_invitation_link_carries_the_code_when_the_bot_has_a_name(world: World) -> None:
    issued = LinkCodes(world.bot.repo, clock=world.clock).issue(world.partner.crm_id)
    assert issued.deep_link("partners_bot") == f"https://t.me/partners_bot?start={issued.code}"
    assert issued.deep_link("") == ""


def test_the_curators_answer_speaks_the_askers_language_and_quotes_200_characters_of_the_question(
    world: World,
) -> None:
    asker = world.linked("ru")
    long = "Можно ли " + "получить стенд " * 20
    asker.say(long)
    (question,) = world.bot.repo.questions()

    assert world.bot.answer_question(question.id, "Да.") == 1

    queued = [i.payload for i in world.store.outbox.due(PORTAL, "bot", now=world.clock(), limit=100)]
    (answer,) = [p["text"] for p in queued if p["push"] == "answer"]
    assert answer == RU["answer"].format(question=long[:200], answer="Да.")


def test_a_command_the_config_cannot_answer_does_not_hold_up_the_other_updates(
    world: World, tg: tuple[TelegramEmulator, Sandbox]
) -> None:
    # no `rewards` section: /rewards used to raise out of the poll, the update was never confirmed
    # and every later update (of every partner) waited behind it
    emulator, sandbox = tg
    world.bot.api = BotApi(TOKEN, base_url=sandbox.base_url, poll_timeout=0, sleep=lambda s: None)
    chat = world.linked()
    emulator.user_says(int(chat.chat_id), "/rewards", language="en")
    last = emulator.user_says(6003, "hello", language="en")

    assert world.bot.poll_once(timeout=0) == 2
    assert world.store.get_state(PORTAL, OFFSET_STATE) == {"offset": last + 1}
    assert emulator.sent(6003) == [EN["unlinked"]]
    world.clock.advance(2)  # one message a second per chat: the reply follows the link's confirmation
    world.bot.flush()
    assert emulator.sent(int(chat.chat_id)) == [
        EN["link_done"].format(partner=world.partner.name),
        EN["rewards_unavailable"],
    ]
    world.bot.close()
