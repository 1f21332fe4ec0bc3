"""The partner bot's lead dialogue as a partner goes through it (services.bot.conversation): in the
chat's language, which contact is enough, a customer named like a skip word, what "no" ends, and each
answer to "yes" (registered, already registered, a channel conflict, refused, the CRM unreachable)."""

from __future__ import annotations

import logging

import pytest
from bot_world import EN, RU, Chat, World

from crm_bridge.domain.model import Partner
from crm_bridge.fake import FakeClock, FakeCRM
from crm_bridge.ports import Entity
from crm_bridge.services.sync.pull import sync
from crm_bridge.store import Store

PORTAL = "fake:test"
VALID_INN = "7707083893"


@pytest.fixture
def world(crm: FakeCRM, store: Store, fake_clock: FakeClock, partner: Partner) -> World:
    return World(crm, store, fake_clock, partner)


def up_to_confirmation(chat: Chat, *answers: str) -> list[str]:
    """Start a dialogue and give ``answers``; the replies to each."""
    return [reply for text in ("/lead", *answers) for reply in chat.say(text)]


def the_lead(world: World) -> str:
    (lead,) = world.crm.state.records(Entity.LEAD).values()
    return str(lead.crm_id)


def test_a_russian_chat_goes_through_the_whole_dialogue_in_russian(world: World) -> None:
    chat = world.linked("ru")

    replies = up_to_confirmation(chat, "ООО Ромашка", "не почта", "-", "-", "-", "a@b.ru", "-", "-", "1", "-")

    assert replies == [
        RU["ask_customer_name"],
        RU["ask_email"],
        RU["bad_email"],
        RU["ask_phone"],
        RU["ask_tax_id"],
        RU["need_contact"],
        RU["ask_phone"],
        RU["ask_tax_id"],
        RU["ask_amount"],
        RU["ask_comment"],
        RU["ask_confirm"].format(summary="- ООО Ромашка\n- a@b.ru\n- 1"),
    ]
    assert chat.say("может быть") == [RU["bad_confirm"]]
    assert chat.say("да") == [RU["lead_created"].format(customer="ООО Ромашка", lead=the_lead(world))]


@pytest.mark.parametrize(
    ("phone", "tax_id", "summary"),
    [
        ("+7 900 123-45-67", "-", "- ООО Ромашка\n- +7 900 123-45-67"),
        ("-", VALID_INN, f"- ООО Ромашка\n- {VALID_INN}"),
    ],
)
def test_a_phone_alone_or_a_tax_id_alone_is_contact_enough(
    world: World, phone: str, tax_id: str, summary: str
) -> None:
    chat = world.linked()

    replies = up_to_confirmation(chat, "ООО Ромашка", "-", phone, tax_id)

    assert replies[-1] == EN["ask_amount"]
    assert chat.say("-") == [EN["ask_comment"]]
    assert chat.say("-") == [EN["ask_confirm"].format(summary=summary)]


def test_a_customer_named_like_a_skip_word_keeps_its_name(world: World) -> None:
    chat = world.linked()

    replies = up_to_confirmation(chat, "Skip", "a@b.ru", "-", "-", "-", "-")

    assert replies[1:3] == [EN["ask_email"], EN["ask_phone"]]
    assert replies[-1] == EN["ask_confirm"].format(summary="- Skip\n- a@b.ru")


def test_no_at_the_confirmation_ends_the_dialogue_so_a_later_yes_registers_nothing(world: World) -> None:
    chat = world.linked()
    up_to_confirmation(chat, "ООО Ромашка", "a@b.ru", "-", "-", "-", "-")

    assert chat.say("No") == [EN["cancelled"]]
    assert chat.say("yes") == [EN["question_passed"]]  # a question for the curator, not a lead
    assert world.crm.state.records(Entity.LEAD) == {}


def test_after_the_lead_is_registered_the_dialogue_is_over(world: World) -> None:
    chat = world.linked()
    up_to_confirmation(chat, "ООО Ромашка", "a@b.ru", "-", "-", "-", "-")
    chat.say("yes")

    assert chat.say("a@b.ru") == [EN["question_passed"]]
    assert len(world.crm.state.records(Entity.LEAD)) == 1


def test_a_customer_another_partner_registered_first_is_registered_with_a_warning(
    world: World, crm: FakeCRM
) -> None:
    other = crm.seed_partner("ООО Бета", curator_key="anna")
    sync(crm, world.store, PORTAL, now=world.clock(), entities=[Entity.PARTNER])
    first = world.linked(partner=other)
    up_to_confirmation(first, "ООО Ромашка", "buyer@romashka.ru", "-", "-", "-", "-")
    (said_first,) = first.say("yes")
    chat = world.linked()
    up_to_confirmation(chat, "Ромашка", "BUYER@romashka.ru", "-", "-", "-", "-")

    said = chat.say("yes")

    ours = max(world.crm.state.records(Entity.LEAD).values(), key=lambda lead: int(lead.crm_id)).crm_id
    assert said == [EN["lead_created"].format(customer="Ромашка", lead=ours), EN["lead_conflict"]]
    assert said_first.startswith("Lead registered: ООО Ромашка")


def test_a_lead_the_crm_created_while_its_answer_was_lost_is_reported_as_already_registered(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    chat = world.linked()
    up_to_confirmation(chat, "ООО Ромашка", "a@b.ru", "-", "-", "-", "-")
    world.crm.failures.fail_next("transient", times=50, when="after")  # it is written, the answers lost
    with caplog.at_level(logging.WARNING, logger="crm_bridge.bot"):
        assert chat.say("yes") == [EN["lead_unavailable"]]
    world.crm.failures.clear()

    said = chat.say("yes")

    assert said == [EN["lead_existing"].format(customer="ООО Ромашка", lead=the_lead(world))]
    assert [r.getMessage() for r in caplog.records if r.name == "crm_bridge.bot"] == [
        "bot: lead registration failed: injected transient failure on find_leads"
    ]


def test_a_lead_the_crm_refuses_is_reported_with_the_crms_reason_and_the_dialogue_ends(
    world: World, crm: FakeCRM
) -> None:
    chat = world.linked("ru")
    up_to_confirmation(chat, "ООО Ромашка", "a@b.ru", "-", "-", "-", "-")
    del crm.state.partners[world.partner.crm_id]  # the partner's company was deleted in the CRM

    said = chat.say("да")

    # the CRM's reason once, inside the chat's own sentence (not "CRM отклонила лид: CRM refused the lead: …")
    assert said == [f"CRM отклонила лид: unknown partner '{world.partner.crm_id}'"]
    assert chat.say("да") == [RU["question_failed"]]  # a question now, and the company is gone
