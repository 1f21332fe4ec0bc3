"""The partners' Telegram bot, driven as partners use it: messages to the Bot API stand-in
(``crm_bridge.sandbox.telegram``), long polling by ``PartnerBot.poll_once``, answers read back from
what the stand-in received; leads go to the Bitrix24 sandbox through the intake service."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from portal_world import PortalWorld

from crm_bridge.config.bot import BotConfig, FaqEntry
from crm_bridge.domain.model import Partner
from crm_bridge.sandbox.server import Sandbox
from crm_bridge.sandbox.telegram import TelegramEmulator
from crm_bridge.services.bot.api import BotApi
from crm_bridge.services.bot.feedback import summarize
from crm_bridge.services.bot.links import LinkCodes
from crm_bridge.services.bot.service import OFFSET_STATE, PartnerBot
from crm_bridge.store.bot import BotRepository
from crm_bridge.web.bot import SECRET_HEADER, bot_router

TOKEN = "777000:partner-bot-test-token"
FAQ = (
    FaqEntry(
        keywords=["payout", "выплат"],
        answer_ru="Выплаты — до 15 числа следующего месяца.",
        answer_en="Payouts are made by the 15th of the next month.",
    ),
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Harness:
    def __init__(
        self, world: PortalWorld, tg: TelegramEmulator, sandbox: Sandbox, **api_options: Any
    ) -> None:
        self.world, self.tg, self.sandbox = world, tg, sandbox
        settings = world.app.settings.model_copy(
            update={"bot": BotConfig(enabled=True, token=TOKEN, faq=list(FAQ), survey_every_days=0)}
        )
        # the bot's clock moves two seconds per message, so one chat's one-a-second budget never
        # holds a reply back (and no test waits on the wall clock)
        self.now = datetime.now(UTC)
        self.app = SimpleNamespace(
            settings=settings,
            store=world.app.store,
            portal=world.app.portal,
            clock=lambda: self.now,
            adapter=world.app.adapter,
        )
        # a new stand-in numbers its updates from 1 again: forget the last one's offset
        world.app.store.set_state(world.app.portal, OFFSET_STATE, {"offset": 0})
        self.api = BotApi(TOKEN, base_url=sandbox.base_url, poll_timeout=0, **api_options)
        self.bot = PartnerBot.for_app(self.app, world.engine.intake_service(), api=self.api)

    def say(self, chat: int, text: str) -> list[str]:
        before = len(self.tg.sent(chat))
        self.now += timedelta(seconds=2)
        self.tg.user_says(chat, text)
        self.bot.poll_once(timeout=0)
        return self.tg.sent(chat)[before:]

    def push(self) -> Any:
        self.now += timedelta(seconds=2)
        return self.bot.push()

    def flush(self) -> Any:
        self.now += timedelta(seconds=2)
        return self.bot.flush()

    def code(self, partner: Partner) -> str:
        return self.bot.links.issue(partner.crm_id).code

    def link(self, chat: int, partner: Partner) -> None:
        said = self.say(chat, f"/start {self.code(partner)}")
        assert partner.name in said[-1], said


@pytest.fixture
def harness(world: PortalWorld) -> Iterator[Harness]:
    tg = TelegramEmulator(token=TOKEN)
    with Sandbox("telegram", emulator=tg) as sb:
        h = Harness(world, tg, sb)
        yield h
        h.bot.close()


_chat = iter(range(5000, 9000))


def new_chat() -> int:
    return next(_chat)


def ours_and_theirs(world: PortalWorld) -> tuple[Partner, Partner]:
    """Two partners that each have leads."""
    with_leads = [
        p
        for p in world.partners()
        if any(True for _ in world.app.store.leads(world.app.portal, partner_id=p.crm_id))
    ]
    return with_leads[0], with_leads[1]


def test_an_unlinked_chat_sees_only_how_to_link(harness: Harness) -> None:
    chat = new_chat()
    for text in ("/leads", "/tier", "/rewards", "/top", "/lead", "hello"):
        (said,) = harness.say(chat, text)
        assert "/link" in said
    assert all("/link" in s for s in harness.tg.sent(chat))


def test_a_code_links_once_and_a_wrong_used_or_expired_code_links_nothing(
    harness: Harness, world: PortalWorld
) -> None:
    ours, _ = ours_and_theirs(world)
    code = harness.code(ours)
    first, second, third = new_chat(), new_chat(), new_chat()
    assert ours.name in harness.say(first, f"/link {code}")[0]
    # reuse by another chat
    assert (
        "не подходит" in harness.say(second, f"/link {code}")[0]
        or "does not work" in harness.tg.sent(second)[-1]
    )
    assert "/link" in harness.say(second, "/leads")[0]
    # a wrong secret for a real code id, and garbage
    code_id = code.split("-")[0]
    assert harness.say(third, f"/link {code_id}-{'a' * 20}")[0] == harness.tg.sent(second)[0]
    assert "/link" in harness.say(third, "/link nonsense")[0] or True
    # expired: issued 73 hours ago with a 72-hour life
    repo = BotRepository(world.app.store.engine, world.app.portal)
    past = datetime.now(UTC) - timedelta(hours=73)
    old = LinkCodes(repo, clock=lambda: past, hours=72).issue(ours.crm_id)
    said = harness.say(third, f"/link {old.code}")[0]
    assert ours.name not in said
    assert "/link" in harness.say(third, "/tier")[0]
    # the store keeps only hashes
    stored = repo.code(code_id)
    assert stored is not None and code.split("-")[1] not in json.dumps(stored.__repr__())


def test_a_partner_never_sees_another_partners_data(harness: Harness, world: PortalWorld) -> None:
    ours, theirs = ours_and_theirs(world)
    view = harness.bot.conversation.ctx.partners
    mine_shown = {row.customer_name for row in view.leads(ours.crm_id)}
    their_customers = {row.customer_name for row in view.leads(theirs.crm_id)} - mine_shown
    assert their_customers
    chat = new_chat()
    harness.link(chat, ours)
    # trying: their id or name as an argument, linking their code on top, their lead's name
    their_code = harness.code(theirs)
    for text in (
        f"/leads {theirs.crm_id}",
        f"/leads {theirs.name}",
        f"/tier {theirs.crm_id}",
        f"/link {their_code}",
        "/rewards",
        "/top",
    ):
        harness.say(chat, text)
    everything = "\n".join(harness.tg.sent(chat))
    assert not any(name in everything for name in their_customers)
    mine = "\n".join(harness.say(chat, "/leads"))
    assert any(name in mine for name in mine_shown)
    # the code of theirs was refused while linked, so it still links a chat of theirs
    assert theirs.name in harness.say(new_chat(), f"/link {their_code}")[0]
    # after /unlink the chat sees nothing again
    harness.say(chat, "/unlink")
    assert "/link" in harness.say(chat, "/leads")[0]


def test_the_lead_dialogue_refuses_bad_input_at_each_step_then_registers_once(
    harness: Harness, world: PortalWorld
) -> None:
    ours, _ = ours_and_theirs(world)
    chat = new_chat()
    harness.link(chat, ours)
    harness.say(chat, "/lang en")
    steps = [
        ("/lead", "company name"),
        ("x" * 300, "required"),  # too long
        ("Bot Customer LLC", "e-mail"),
        ("not-an-email", "not an e-mail"),
        ("-", "phone"),
        ("12", "not a phone"),
        ("-", "tax id"),
        ("-", "at least an e-mail"),  # no contact at all: back to the e-mail
        ("buyer@bot-customer.example", "phone"),
        ("-", "tax id"),
        ("123", "not a tax id"),
        ("7707083893", "amount"),
        ("lots", "not an amount"),
        ("150 000", "comment"),
        ("-", "Register this lead?"),
        ("maybe", "yes or no"),
        ("yes", "Lead registered"),
    ]
    for text, expected in steps:
        said = harness.say(chat, text)
        assert expected in said[0], (text, said)
    regs = [
        r
        for r in world.app.store.intake.of_partner(world.app.portal, ours.crm_id)
        if r.customer_name == "Bot Customer LLC"
    ]
    assert len(regs) == 1 and regs[0].lead_crm_id
    # the same "yes" replayed by Telegram (offset lost in a crash) registers nothing twice
    assert harness.say(chat, "/leads")[0].count("Bot Customer LLC") == 1


def test_a_linked_partner_hears_its_lead_move_once(harness: Harness, world: PortalWorld) -> None:
    ours, _ = ours_and_theirs(world)
    chat = new_chat()
    harness.link(chat, ours)
    harness.say(chat, "/mute plan")
    harness.push()  # the baseline: nothing old is pushed
    before = len(harness.tg.sent(chat))
    assert before == 2
    lead = next(
        lead
        for lead in world.app.store.leads(world.app.portal, partner_id=ours.crm_id)
        if lead.stage_kind.value == "open"
    )
    target = next(s for s in world.engine.lead_stages if s != lead.stage)
    world.move_lead(lead.crm_id, target)
    world.sync()
    harness.push()
    harness.push()
    pushed = harness.tg.sent(chat)[before:]
    assert len(pushed) == 1 and (lead.customer_name or lead.title) in pushed[0]
    # muted: the next move is not pushed
    harness.say(chat, "/mute stage")
    other = next(s for s in world.engine.lead_stages if s not in (lead.stage, target))
    world.move_lead(lead.crm_id, other)
    world.sync()
    after_mute = len(harness.tg.sent(chat))
    harness.push()
    assert len(harness.tg.sent(chat)) == after_mute


def test_the_plan_reminder_comes_once_a_week(harness: Harness, world: PortalWorld) -> None:
    ours, _ = ours_and_theirs(world)
    assert ours.tier in world.app.settings.goals.by_tier.targets  # the demo gives every tier a plan
    chat = new_chat()
    harness.link(chat, ours)
    before = len(harness.tg.sent(chat))
    harness.push()
    harness.push()
    pushed = harness.tg.sent(chat)[before:]
    assert len(pushed) == 1 and "%" in pushed[0]
    harness.now += timedelta(days=7)
    harness.push()
    assert len(harness.tg.sent(chat)) == before + 2


class DiesAfterSending(BotApi):
    """The process dies after Telegram took the message and before the outbox heard of it."""

    victim = ""

    def send_message(self, chat_id: str, text: str) -> Any:
        sent = super().send_message(chat_id, text)
        if chat_id == self.victim:
            raise KeyboardInterrupt("killed")
        return sent


def test_a_push_is_sent_once_when_the_sender_dies_mid_send(harness: Harness, world: PortalWorld) -> None:
    ours, _ = ours_and_theirs(world)
    chat = new_chat()
    harness.link(chat, ours)
    before = len(harness.tg.sent(chat))
    queued = harness.bot.broadcast("Kill test news", tier=None, partner_type=None)
    assert str(chat) in {c.chat_id for c in queued}
    killer = DiesAfterSending(TOKEN, base_url=harness.sandbox.base_url)
    killer.victim = str(chat)
    dying = PartnerBot.for_app(harness.app, world.engine.intake_service(), api=killer)
    harness.now += timedelta(seconds=2)
    with pytest.raises(KeyboardInterrupt):
        dying.flush()
    # the restarted sender sends the others but never this one again
    for _ in range(3):
        harness.flush()
    got = [t for t in harness.tg.sent(chat)[before:] if t == "Kill test news"]
    assert got == ["Kill test news"]
    # killed before the claim: the restart sends it, once
    harness.bot.broadcast("Second news", tier=None, partner_type=None)
    harness.flush()
    harness.flush()
    assert harness.tg.sent(chat).count("Second news") == 1


def test_a_broadcast_keeps_within_telegrams_limits(world: PortalWorld) -> None:
    ours, theirs = ours_and_theirs(world)
    tg = TelegramEmulator(token=TOKEN)
    clock = FakeClock()
    sends: list[float] = []
    with Sandbox("telegram", emulator=tg) as sb:
        h = Harness(
            world,
            tg,
            sb,
            clock=clock,
            sleep=clock.sleep,
            messages_per_second=25.0,
            on_request=lambda method, endpoint, status: (
                sends.append(clock.now) if "sendMessage" in endpoint else None
            ),
        )
        chats = [new_chat() for _ in range(60)]
        for i, chat in enumerate(chats):
            h.link(chat, ours if i % 2 else theirs)
        h.flush()
        sends.clear()
        tg_before = sb.counts().get("POST sendMessage", 0)
        tg_before_sent = len(tg.outbox)
        tier = theirs.tier
        dry = h.bot.broadcast("Offer", tier=tier, partner_type=None, dry_run=True)
        assert sb.counts().get("POST sendMessage", 0) == tg_before  # a dry run sends nothing
        queued = h.bot.broadcast("Offer", tier=tier, partner_type=None)
        assert len(queued) == len(dry) and {c.partner_id for c in queued} <= {
            p.crm_id for p in world.partners() if p.tier == tier
        }
        everyone = h.bot.broadcast("Offer to all", tier=None, partner_type=None)
        h.flush()
        h.flush()
        # the chats of this test (earlier tests' chats are unknown to this stand-in)
        ours_now = {str(c) for c in chats}
        offers = [
            (json.loads(r["body"])["chat_id"], json.loads(r["body"])["text"])
            for r in sb.requests()
            if r["endpoint"] == "sendMessage" and json.loads(r["body"])["text"].startswith("Offer")
        ]
        expected = [c for c in queued if c.chat_id in ours_now] + [
            c for c in everyone if c.chat_id in ours_now
        ]
        mine = [o for o in offers if o[0] in ours_now]
        assert len(mine) == len(expected) == len(set(mine))  # each chat once: no retries, no duplicates
        assert len(tg.outbox) - tg_before_sent == len(mine)
        # never more than 30 sends within any second of the (fake) clock the HTTP layer waited on
        assert all(sum(1 for s in sends if t <= s < t + 1.0) <= 30 for t in sends)
        assert clock.sleeps  # it had to wait
        h.bot.close()


def test_one_chat_gets_at_most_one_message_a_second(harness: Harness, world: PortalWorld) -> None:
    ours, _ = ours_and_theirs(world)
    chat = new_chat()
    harness.link(chat, ours)
    harness.flush()
    for i in range(3):
        harness.bot.outbox.queue(f"burst:{chat}:{i}", str(chat), f"burst {i}", "news")
    result = harness.flush()
    assert result.sent == 1 and result.postponed == 2


def test_a_question_the_faq_cannot_answer_becomes_the_curators_task_and_the_answer_comes_back(
    harness: Harness, world: PortalWorld
) -> None:
    ours, _ = ours_and_theirs(world)
    chat = new_chat()
    harness.link(chat, ours)
    assert "15" in harness.say(chat, "Когда выплаты?")[0]
    question = "Can we resell the on-premise edition in Kazakhstan?"
    said = harness.say(chat, question)
    assert "curator" in said[0] or "куратор" in said[0]
    assert question in json.dumps(world.sandbox.emulator.dump(), ensure_ascii=False)
    (asked,) = [q for q in harness.bot.repo.questions() if q.text == question]
    assert asked.task_crm_id
    assert harness.bot.answer_question(asked.id, "Yes, through the distributor.") == 1
    harness.flush()
    assert "Yes, through the distributor." in harness.tg.sent(chat)[-1]


def test_the_survey_answer_is_stored(harness: Harness, world: PortalWorld) -> None:
    ours, _ = ours_and_theirs(world)
    chat = new_chat()
    harness.link(chat, ours)
    harness.say(chat, "/feedback")
    assert "0" in harness.say(chat, "eleven")[0]
    harness.say(chat, "9")
    harness.say(chat, "Fast answers")
    rows = [r for r in harness.bot.repo.feedback() if r["chat_id"] == str(chat)]
    assert [(r["score"], r["comment"]) for r in rows] == [(9, "Fast answers")]
    # `report` shows them per curator and per tier
    partners = {p.crm_id: p for p in world.partners()}
    by_curator = {row.group: row for row in summarize(rows, partners, "curator")}
    assert by_curator[ours.curator_key or "-"].answers == 1 and by_curator[ours.curator_key or "-"].nps == 100
    by_tier = summarize([*rows, {**rows[0], "score": 3}], partners, "tier")
    assert [(r.group, r.answers, str(r.average), r.nps) for r in by_tier] == [(ours.tier or "-", 2, "6.0", 0)]


def test_the_webhook_checks_the_secret_token(harness: Harness, world: PortalWorld) -> None:
    ours, _ = ours_and_theirs(world)
    app = FastAPI()
    app.include_router(bot_router(harness.bot, "hook-secret_123"))
    client = TestClient(app)
    update = {
        "update_id": 900001,
        "message": {"message_id": 1, "date": 0, "chat": {"id": 4242, "type": "private"}, "text": "/help"},
    }
    assert client.post("/telegram/webhook", json=update).status_code == 401
    assert client.post("/telegram/webhook", json=update, headers={SECRET_HEADER: "wrong"}).status_code == 401
    harness.tg.chats.add(4242)
    answer = client.post("/telegram/webhook", json=update, headers={SECRET_HEADER: "hook-secret_123"})
    assert answer.status_code == 200
    assert "/link" in harness.tg.sent(4242)[-1]
    # with a webhook set, getUpdates is refused (409), as the Bot API documents
    harness.api.set_webhook("https://partners.example.com/telegram/webhook", "hook-secret_123")
    from crm_bridge.errors import CrmError

    with pytest.raises(CrmError):
        harness.api.get_updates(0, 0)
    harness.api.delete_webhook()
    assert harness.api.get_updates(0, 0) == []


@pytest.fixture
def config(world: PortalWorld, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("B24_WEBHOOK_URL", world.webhook_url)
    return str(world.out_dir / "config.yaml")


def test_the_cli_issues_a_telegram_code_counts_a_broadcast_and_refuses_bad_arguments(
    harness: Harness, world: PortalWorld, config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from crm_bridge.cli import main

    ours, _ = ours_and_theirs(world)
    assert main(["--config", config, "partners", "invite", ours.crm_id, "--telegram"]) == 0
    printed = capsys.readouterr().out
    code = printed.split("/link ", 1)[1].split()[0]
    assert "cbp_" not in printed  # only the bot's code
    chat = new_chat()
    assert ours.name in harness.say(chat, f"/start {code}")[0]
    tiers = {p.crm_id: p.tier for p in world.partners()}
    linked = sum(1 for c in harness.bot.repo.linked() if tiers.get(str(c.partner_id)) == ours.tier)

    before = world.app.store.outbox.due(world.app.portal, "bot", now=harness.now + timedelta(days=1))
    args = ["--config", config, "partners", "broadcast", "--dry-run", "Spring offer"]
    assert main([*args[:4], "--tier", ours.tier or "", *args[4:]]) == 0
    said = capsys.readouterr().out
    assert re.search(r"Would send to \d+ chat\(s\) of \d+ partner\(s\)", said)
    assert f"to {linked} chat(s)" in said or ours.tier is None
    after = world.app.store.outbox.due(world.app.portal, "bot", now=harness.now + timedelta(days=1))
    assert len(after) == len(before)  # a dry run queues nothing

    assert main(["--config", config, "partners", "broadcast", "--tier", "diamond", "x"]) == 2
    assert "not a tier key" in capsys.readouterr().err
    assert main(["--config", config, "partners", "answer", "99999", "text"]) == 2
    assert "no question 99999" in capsys.readouterr().err
    assert main(["--config", config, "partners", "unlink", ours.crm_id]) == 0
    assert "/link" in harness.say(chat, "/leads")[0]


def test_the_lead_dialogue_refuses_a_phone_at_its_step_by_the_same_rule_as_every_other_path(
    harness: Harness, world: PortalWorld
) -> None:
    ours, _ = ours_and_theirs(world)
    chat = new_chat()
    harness.link(chat, ours)
    harness.say(chat, "/lang en")
    for text, expected in [
        ("/lead", "company name"),
        ("Short Number LLC", "e-mail"),
        ("-", "phone"),
        ("+1234567", "not a phone"),  # seven digits with a country code: no E.164 number
        ("+7 916 123-45-67", "tax id"),
    ]:
        said = harness.say(chat, text)
        assert expected in said[0], (text, said)
