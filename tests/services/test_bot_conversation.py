"""The partner bot's answers, in-process: updates handed to ``PartnerBot.handle`` (as polling or the
webhook hand them over), over the fake CRM and the suite's store, each answer read back as the partner
reads it. Linking, the lead dialogue, the survey, questions to the curator, mute, language."""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from bot_world import CONFIG, EN, RU, World

from crm_bridge.domain.model import Partner
from crm_bridge.fake import FakeClock, FakeCRM
from crm_bridge.ports import Entity
from crm_bridge.services.sync.pull import sync
from crm_bridge.store import Store
from crm_bridge.texts import words

PORTAL = "fake:test"
CONFIG_BOT: dict[str, Any] = CONFIG["bot"]


@pytest.fixture
def world(crm: FakeCRM, store: Store, fake_clock: FakeClock, partner: Partner) -> World:
    return World(crm, store, fake_clock, partner)


def test_a_new_chat_speaks_the_users_telegram_language_else_the_configs(world: World) -> None:
    assert world.chat("en").say("hello") == [EN["unlinked"]]
    assert world.chat("en-GB").say("hello") == [EN["unlinked"]]
    assert world.chat("ru").say("привет") == [RU["unlinked"]]
    assert world.chat("de").say("hallo") == [words("bot", world.settings.locale)["unlinked"]]
    assert world.chat("").say("hallo") == [words("bot", world.settings.locale)["unlinked"]]


def test_only_private_text_messages_are_answered_and_a_replayed_update_once(world: World) -> None:
    chat = world.chat()
    assert world.bot.handle(chat.update("hello", kind="group")) == []
    assert world.bot.handle({"update_id": 1, "message": {"chat": {"id": 1, "type": "private"}}}) == []
    assert world.bot.handle({"update_id": 2}) == []
    first = chat.update("hello")
    assert world.bot.handle(first) == [EN["unlinked"]]
    assert world.bot.handle(first) == []  # the same update again: its answer was already queued
    assert world.bot.handle(chat.update("hello", update_id=chat.last - 50)) == [EN["unlinked"]]


def test_a_code_links_once_a_linked_chat_keeps_its_partner_and_unlink_forgets_it(
    world: World, crm: FakeCRM
) -> None:
    other = crm.seed_partner("ООО Бета", curator_key="anna")
    sync(crm, world.store, PORTAL, now=world.clock(), entities=[Entity.PARTNER])
    code = world.bot.links.issue(world.partner.crm_id).code
    chat = world.chat()
    assert chat.say("/link WRONG") == [EN["link_bad"]]
    assert chat.say(f"/link {code}") == [EN["link_done"].format(partner="ООО Альфа")]
    assert world.chat().say(f"/start {code}") == [EN["link_bad"]]  # used
    assert chat.say(f"/start {world.bot.links.issue(other.crm_id).code}") == [
        EN["link_other"].format(partner="ООО Альфа")
    ]
    assert chat.say("/unlink") == [EN["unlinked_done"].format(partner="ООО Альфа")]
    assert chat.say("/leads") == [EN["unlinked"]]


def test_help_and_unknown_commands_list_the_commands(world: World) -> None:
    chat = world.linked()
    assert chat.say("/help") == [EN["help"]]
    assert chat.say("/start") == [EN["help"]]
    assert chat.say("/nonsense") == [EN["help"]]
    assert chat.say("/help@partner_bot") == [EN["help"]]
    assert chat.say("   ") == [EN["help"]]
    assert chat.say("/training") == [EN["training_todo"]]


def test_mute_and_unmute_take_one_known_kind(world: World) -> None:
    chat = world.linked()
    assert chat.say("/mute Stage") == [EN["muted"].format(kind="stage")]
    assert chat.say("/mute news") == [EN["muted"].format(kind="news")]
    assert chat.say("/mute deals") == [EN["bad_kind"]]
    assert chat.say("/mute") == [EN["bad_kind"]]
    assert world.bot.repo.linked(world.partner.crm_id)[0].optouts == {"stage", "news"}
    assert chat.say("/unmute stage") == [EN["unmuted"].format(kind="stage")]
    assert world.bot.repo.linked(world.partner.crm_id)[0].optouts == {"news"}


def test_lang_switches_the_chats_language_and_refuses_others(world: World) -> None:
    chat = world.linked("en")
    assert chat.say("/lang de") == ["/lang ru | /lang en"]
    assert chat.say("/lang RU") == [RU["lang_done"]]
    assert chat.say("/help") == [RU["help"]]
    assert chat.say("/lang en") == [EN["lang_done"]]
    assert chat.say("/help") == [EN["help"]]


def test_the_lead_dialogue_checks_each_step_skips_and_registers_the_lead_once(world: World) -> None:
    chat = world.linked()
    assert chat.say("/lead") == [EN["ask_customer_name"]]
    started = chat.last  # the dialogue's update id keys the lead
    assert chat.say("ООО Ромашка") == [EN["ask_email"]]
    assert chat.say("not-an-email") == [EN["bad_email"]]
    assert chat.say("skip") == [EN["ask_phone"]]
    assert chat.say("12") == [EN["bad_phone"]]
    assert chat.say("—") == [EN["ask_tax_id"]]
    # no e-mail, phone nor tax id: back to the e-mail step
    assert chat.say("пропустить") == [EN["need_contact"]]
    assert chat.say("buyer@romashka.ru") == [EN["ask_phone"]]
    assert chat.say("-") == [EN["ask_tax_id"]]
    assert chat.say("123") == [EN["bad_tax_id"]]
    assert chat.say("-") == [EN["ask_amount"]]
    assert chat.say("lots") == [EN["bad_amount"]]
    assert chat.say("150000") == [EN["ask_comment"]]
    assert chat.say("call after 10") == [
        EN["ask_confirm"].format(summary="- ООО Ромашка\n- buyer@romashka.ru\n- 150000\n- call after 10")
    ]
    assert chat.say("maybe") == [EN["bad_confirm"]]
    said = chat.say("Yes")
    (lead,) = world.crm.state.records(Entity.LEAD).values()
    assert said == [EN["lead_created"].format(customer="ООО Ромашка", lead=lead.crm_id)]
    assert chat.say("/leads")[0].startswith(EN["leads_title"] + "\nООО Ромашка - ")
    # the dialogue is over: a new "yes" is a question for the curator, not a second registration
    assert chat.say("yes") == [EN["question_passed"]]
    assert len(world.crm.state.records(Entity.LEAD)) == 1
    (registration,) = world.store.intake.of_partner(PORTAL, world.partner.crm_id)
    assert registration.external_id == f"bot:{world.partner.crm_id}:{chat.chat_id}:{started}"
    assert registration.source == "telegram"


def test_no_at_the_confirmation_and_cancel_mid_dialogue_register_nothing(world: World) -> None:
    chat = world.linked()
    for text in ("/lead", "ООО Ромашка", "a@b.ru", "-", "-", "-", "-"):
        chat.say(text)
    assert chat.say("нет") == [EN["cancelled"]]
    assert chat.say("/leads") == [EN["no_leads"]]
    chat.say("/lead")
    chat.say("ООО Ромашка")
    assert chat.say("/cancel") == [EN["cancelled"]]
    assert chat.say("a@b.ru") != [EN["ask_phone"]]  # no dialogue any more
    chat.say("/lead")
    chat.say("ООО Ромашка")
    assert chat.say("/tier")[0].startswith(EN["tier"].split("{")[0])  # a command ends the dialogue
    assert chat.say("a@b.ru") != [EN["ask_phone"]]
    assert chat.say("/leads") == [EN["no_leads"]]


def test_a_crm_that_cannot_be_reached_keeps_the_answers_for_another_yes(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    chat = world.linked()
    for text in ("/lead", "ООО Ромашка", "a@b.ru", "-", "-", "-", "-"):
        chat.say(text)
    world.crm.failures.fail_next("transient", times=50)
    with caplog.at_level(logging.WARNING, logger="crm_bridge.bot"):
        unavailable = chat.say("yes")
    (logged,) = [r.getMessage() for r in caplog.records if r.name == "crm_bridge.bot"]
    assert logged.startswith("bot: lead registration failed: ")
    world.crm.failures.clear()
    said = chat.say("да")
    assert unavailable == [EN["lead_unavailable"]]
    assert len(said) == 1 and said[0].startswith("Lead registered: ООО Ромашка (lead ")
    assert len(world.crm.state.records(Entity.LEAD)) == 1


def test_the_survey_takes_a_score_then_a_comment(world: World) -> None:
    chat = world.linked()
    assert chat.say("/feedback") == [EN["survey_score"]]
    assert chat.say("11") == [EN["survey_bad"]]
    assert chat.say("great") == [EN["survey_bad"]]
    assert chat.say("9") == [EN["survey_comment"]]
    assert chat.say("Fast payouts") == [EN["survey_done"]]
    other = world.linked()
    assert other.say("7") == [EN["survey_comment"]]  # a bare score answers the survey's push
    assert other.say("skip") == [EN["survey_done"]]
    zero = world.linked("ru")
    assert zero.say("/feedback") == [RU["survey_score"]]
    assert zero.say("0") == [RU["survey_comment"]]  # 0 is a score too
    assert zero.say("нет") == [RU["survey_done"]]
    rows = sorted((f["score"], f["comment"]) for f in world.bot.repo.feedback())
    assert rows == [(0, ""), (7, ""), (9, "Fast payouts")]
    # the answers are filed under the survey round of their time (bot.survey_every_days: 90 by default)
    assert {f["round"] for f in world.bot.repo.feedback()} == {
        f"r{int(world.clock().timestamp() // (90 * 86400))}"
    }


def test_a_question_is_answered_from_the_faq_by_the_most_keywords(world: World) -> None:
    en, ru = world.linked("en"), world.linked("ru")
    assert en.say("When is the PAYOUT?") == [EN["faq_answer"].format(answer="Payouts by the 15th.")]
    assert en.say("payout date in the calendar?") == [
        EN["faq_answer"].format(answer="The payout calendar is in the portal.")
    ]
    assert ru.say("Когда выплаты?") == [RU["faq_answer"].format(answer="Выплаты — до 15 числа.")]
    assert world.crm.state.tasks == {}


def test_a_question_the_faq_cannot_answer_becomes_the_curators_task(world: World) -> None:
    chat = world.linked()
    assert chat.say("Can we get a demo stand?") == [EN["question_passed"]]
    (task,) = world.crm.state.tasks.values()
    assert task.responsible_user_id == "11"
    assert task.title == "Вопрос партнёра ООО Альфа в Telegram"
    assert task.description.startswith("Can we get a demo stand?\n\nОтветить: crm-bridge partners answer ")
    assert task.deadline == world.clock() + timedelta(hours=6)
    assert task.bound_to is not None and task.bound_to.crm_id == world.partner.crm_id
    (question,) = world.bot.repo.questions()
    assert question.task_crm_id == task.crm_id and question.text == "Can we get a demo stand?"
    assert task.external_id == f"bot-question:{question.id}"


def test_a_bare_score_from_0_to_10_answers_the_survey_and_anything_else_is_a_question(world: World) -> None:
    for score in ("0", "10"):
        assert world.linked().say(score) == [EN["survey_comment"]]
    assert world.linked("ru").say("10") == [RU["survey_comment"]]
    assert world.linked().say("11") == [EN["question_passed"]]  # out of the scale: for the curator
    (task,) = world.crm.state.tasks.values()
    assert task.description.startswith("11\n\nОтветить: crm-bridge partners answer ")
    assert world.bot.repo.feedback() == []  # a score is filed with its comment, not before


def test_a_long_question_is_kept_and_sent_to_the_curator_up_to_4000_characters(world: World) -> None:
    chat = world.linked("ru")
    long = "Вопрос " + "о сроках " * 600

    assert chat.say(long) == [RU["question_passed"]]

    (question,) = world.bot.repo.questions()
    (task,) = world.crm.state.tasks.values()
    assert question.text == long[:4000]
    assert task.description == f'{long[:4000]}\n\nОтветить: crm-bridge partners answer {question.id} "…"'


def test_a_question_fails_politely_without_a_curator_or_when_the_task_fails(
    world: World, crm: FakeCRM, store: Store, fake_clock: FakeClock
) -> None:
    chat = world.linked()
    crm.failures.fail_next("transient", times=50, method="create_tasks")
    assert chat.say("Can we get a demo stand?") == [EN["question_failed"]]
    crm.failures.clear()
    del crm.state.users["11"]  # the CRM refuses a task for a user it does not know
    assert chat.say("Can we get a demo stand?") == [EN["question_failed"]]
    assert crm.state.tasks == {}
    orphan = crm.seed_partner("ООО Гамма", curator_key="nobody")
    sync(crm, store, PORTAL, now=fake_clock(), entities=[Entity.PARTNER])
    assert world.linked(partner=orphan).say("Can we get a demo stand?") == [EN["question_failed"]]


REWARDS: dict[str, Any] = {
    "currency": "RUB",
    "rule_sets": [
        {
            "effective_from": "2020-01-01",
            "commission": {"by_tier": {"bronze": 5, "silver": 7, "gold": 10, "platinum": 12}},
            "points": {"per_won_deal": 10, "per_lead": 1, "revenue_unit": 100000},
        }
    ],
}


def ranked_world(crm: FakeCRM, store: Store, clock: FakeClock, others: int = 11, **config: Any) -> World:
    """ООО Альфа (silver, one won deal of 1 234 567.50) among ``others`` bronze partners with 2, 3, …
    wins (eleven: Альфа ranks twelfth)."""
    alfa = crm.seed_partner("ООО Альфа", curator_key="anna", tier="silver")
    for i in range(others):
        other = crm.seed_partner(f"Партнёр {i}", tier="bronze")
        for j in range(i + 2):
            crm.seed_lead(other.crm_id, f"L{i}-{j}", stage="deal_closed", amount=Decimal(250000))
    crm.seed_lead(alfa.crm_id, "Сделка", stage="deal_closed", amount=Decimal("1234567.5"))
    sync(crm, store, PORTAL, now=clock())
    partner = store.records.partner(PORTAL, alfa.crm_id)
    assert partner is not None
    return World(crm, store, clock, partner, rewards=REWARDS, **config)


def test_rewards_list_the_statements_lines_with_spaced_thousands(
    crm: FakeCRM, store: Store, fake_clock: FakeClock
) -> None:
    chat = ranked_world(crm, store, fake_clock).linked()
    month = f"{fake_clock():%Y-%m}"
    assert chat.say("/rewards") == [
        f"Reward statement for {month}: 86 419.73 RUB.\ncommission 7% (tier Silver) on Сделка: 86 419.73 RUB"
    ]
    fake_clock.advance(40 * 86400)  # the next month: nothing won yet
    assert chat.say("/rewards") == [f"Reward statement for {fake_clock():%Y-%m}: 0 RUB."]


def test_the_leaderboard_shows_the_top_ten_and_the_partners_own_place(
    crm: FakeCRM, store: Store, fake_clock: FakeClock
) -> None:
    chat = ranked_world(crm, store, fake_clock).linked()
    (top,) = chat.say("/top")
    lines = top.split("\n")
    assert lines[0] == f"Leaderboard for {fake_clock():%Y-%m}:"
    assert lines[1] == "1. Партнёр 10 - 162 points"
    assert lines[10] == "10. Партнёр 1 - 40 points"
    assert lines[11:] == ["12. ООО Альфа - 23 points (you)"]  # the eleventh is not shown


def test_an_anonymous_leaderboard_hides_the_other_partners_names(
    crm: FakeCRM, store: Store, fake_clock: FakeClock
) -> None:
    chat = ranked_world(crm, store, fake_clock, portal={"leaderboard": "anonymous"}).linked("ru")
    (top,) = chat.say("/top")
    lines = top.split("\n")
    assert lines[1] == "1. Партнёр №1 — 162 балл."
    assert lines[-1] == "12. ООО Альфа — 23 балл. (вы)"


def test_tier_shows_each_threshold_of_the_next_tier_with_what_is_lacking(
    crm: FakeCRM, store: Store, fake_clock: FakeClock
) -> None:
    tiers = {
        "levels": [
            {"key": "bronze", "name": "Bronze"},
            {"key": "silver", "name": "Silver", "min_won_deals": 1},
            {"key": "gold", "name": "Gold", "min_won_deals": 1, "min_revenue": 1500000.5},
            {"key": "platinum", "name": "Platinum", "min_won_deals": 100},
        ],
        "window_days": 90,
    }
    world = ranked_world(crm, store, fake_clock, tiers=tiers)
    chat = world.linked()
    fake_clock.advance(3600)  # the window ends now (exclusive): the deal won an hour ago counts
    assert chat.say("/tier") == [
        "Your tier: Silver.\n"
        "For Gold over the last 90 days you need:\n"
        "revenue: 1 234 567.50 of 1 500 000.50 (lacking 265 433)\n"
        "won deals: 1 of 1 ✓"
    ]
    top = crm.seed_partner("ООО Вершина", tier="platinum")
    sync(crm, store, PORTAL, now=fake_clock())
    gold = store.records.partner(PORTAL, top.crm_id)
    assert gold is not None
    assert world.linked("ru", partner=gold).say("/tier") == ["Ваш уровень: Platinum.\nЭто высший уровень."]


def test_leads_lists_each_lead_with_its_stage_or_state_at_most_twenty(world: World) -> None:
    from crm_bridge.store.registrations import Registration

    chat = world.linked()
    pid, crm = world.partner.crm_id, world.crm
    crm.seed_lead(pid, "Открытый", stage="qualification")
    crm.seed_lead(pid, "Выигранный", stage="deal_closed")
    crm.seed_lead(pid, "Проигранный", stage="lead_lost")
    sync(crm, world.store, PORTAL, now=world.clock())
    at = world.clock()
    for n, status in ((1, "pending"), (2, "failed")):
        world.store.intake.add_registration(
            PORTAL,
            Registration(f"api:{n}", pid, f"Заявка {n}", "", "", "", "api", status, False, None, "", at, at),
        )
    (listing,) = chat.say("/leads")
    lines = listing.split("\n")
    assert lines[0] == EN["leads_title"]
    assert sorted(lines[1:]) == sorted(
        [
            "Открытый - " + world.bot.conversation.ctx.partners.stage_names["qualification"],
            "Выигранный - won",
            "Проигранный - lost",
            "Заявка 1 - waiting for the CRM",
            "Заявка 2 - refused by the CRM",
        ]
    )
    for i in range(20):
        crm.seed_lead(pid, f"Ещё {i}", stage="qualification")
    sync(crm, world.store, PORTAL, now=world.clock())
    assert len(chat.say("/leads")[0].split("\n")) == 1 + 20


def test_a_survey_answer_is_filed_under_the_round_its_first_second_opens(
    crm: FakeCRM, store: Store, fake_clock: FakeClock, partner: Partner
) -> None:
    # rounds of 90 days from the epoch: r230 covers 2026-10-06 .. 2027-01-04, r231 opens 2027-01-04 00:00 UTC
    world = World(crm, store, fake_clock, partner)
    chat = world.linked()
    fake_clock.advance(231 * 90 * 86400 - 1 - fake_clock().timestamp())
    assert chat.say("8") == [EN["survey_comment"]]
    assert chat.say("skip") == [EN["survey_done"]]
    fake_clock.advance(1)
    assert chat.say("9") == [EN["survey_comment"]]
    assert chat.say("skip") == [EN["survey_done"]]
    assert sorted((f["score"], f["round"]) for f in world.bot.repo.feedback()) == [(8, "r230"), (9, "r231")]


def test_without_the_periodic_survey_feedback_is_still_filed_in_90_day_rounds(
    crm: FakeCRM, store: Store, fake_clock: FakeClock, partner: Partner
) -> None:
    world = World(crm, store, fake_clock, partner, bot={**CONFIG_BOT, "survey_every_days": 0})
    chat = world.linked()
    fake_clock.advance(231 * 90 * 86400 - fake_clock().timestamp())  # r231 by 90 days, r229 by 91
    assert chat.say("/feedback") == [EN["survey_score"]]
    assert chat.say("6") == [EN["survey_comment"]]
    assert chat.say("slow") == [EN["survey_done"]]
    assert [(f["score"], f["comment"], f["round"]) for f in world.bot.repo.feedback()] == [
        (6, "slow", "r231")
    ]


def test_a_survey_comment_is_kept_up_to_2000_characters_and_ends_the_survey(world: World) -> None:
    chat = world.linked()
    assert chat.say("/feedback") == [EN["survey_score"]]
    assert chat.say("4") == [EN["survey_comment"]]
    assert chat.say("a" * 1999 + "bc") == [EN["survey_done"]]
    # the survey is over: the next text is a question for the curator, not a second comment
    assert chat.say("Can we get a demo stand?") == [EN["question_passed"]]
    assert [(f["score"], f["comment"]) for f in world.bot.repo.feedback()] == [(4, "a" * 1999 + "b")]


def test_the_curators_task_title_is_cut_to_255_characters_for_a_long_partner_name(
    world: World, crm: FakeCRM, store: Store, fake_clock: FakeClock
) -> None:
    long = crm.seed_partner("ООО " + "Д" * 300, curator_key="anna")
    sync(crm, store, PORTAL, now=fake_clock(), entities=[Entity.PARTNER])
    linked = store.records.partner(PORTAL, long.crm_id)
    assert linked is not None
    assert world.linked(partner=linked).say("Can we get a demo stand?") == [EN["question_passed"]]
    (task,) = world.crm.state.tasks.values()
    assert task.title == ("Вопрос партнёра ООО " + "Д" * 300)[:255]
    assert len(task.title) == 255


def test_a_curators_task_the_crm_refuses_is_logged_with_the_question_and_the_reason(
    world: World, crm: FakeCRM, caplog: pytest.LogCaptureFixture
) -> None:
    chat = world.linked()
    crm.failures.fail_next("transient", times=50, method="create_tasks")
    with caplog.at_level(logging.WARNING, logger="crm_bridge.bot"):
        assert chat.say("Can we get a demo stand?") == [EN["question_failed"]]
    (question,) = world.bot.repo.questions()
    assert [(r.name, r.levelname, r.getMessage()) for r in caplog.records] == [
        (
            "crm_bridge.bot",
            "WARNING",
            f"bot: question {question.id}: the curator's task failed: "
            "injected transient failure on create_tasks",
        )
    ]


def test_rewards_speak_the_chats_language(crm: FakeCRM, store: Store, fake_clock: FakeClock) -> None:
    chat = ranked_world(crm, store, fake_clock).linked("ru")
    month = f"{fake_clock():%Y-%m}"
    assert chat.say("/rewards") == [
        # the statement's own lines too, the tier by its name in the chat's language
        f"Расчёт вознаграждения за {month}: 86 419.73 RUB.\n"
        "комиссия 7% (уровень «Серебряный») по сделке Сделка: 86 419.73 RUB"
    ]


def test_rewards_without_a_statement_for_the_partner_say_so_for_the_month(
    world: World, fake_clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a partner a concurrent sync has just removed has no statement in the month's computation
    portal = world.bot.conversation.ctx.partners
    monkeypatch.setattr(portal, "statement", lambda partner_id, period: (None, "RUB"))
    assert world.linked("ru").say("/rewards") == [f"Расчёта за {fake_clock():%Y-%m} пока нет."]


def test_the_partner_in_eleventh_place_is_listed_after_the_top_ten(
    crm: FakeCRM, store: Store, fake_clock: FakeClock
) -> None:
    chat = ranked_world(crm, store, fake_clock, others=10).linked()
    (top,) = chat.say("/top")
    lines = top.split("\n")
    assert len(lines) == 1 + 11
    assert lines[10] == "10. Партнёр 0 - 27 points"
    assert lines[11] == "11. ООО Альфа - 23 points (you)"


def test_tier_in_russian_names_the_metrics_in_russian(
    crm: FakeCRM, store: Store, fake_clock: FakeClock
) -> None:
    tiers = {
        "levels": [
            {"key": "bronze", "name": "Bronze"},
            {"key": "silver", "name": "Silver", "min_won_deals": 1},
            {"key": "gold", "name": "Gold", "min_won_deals": 3},
            {"key": "platinum", "name": "Platinum", "min_won_deals": 9},
        ],
        "window_days": 90,
    }
    chat = ranked_world(crm, store, fake_clock, tiers=tiers).linked("ru")
    fake_clock.advance(3600)
    assert chat.say("/tier") == [
        "Ваш уровень: Silver.\nДля уровня Gold за последние 90 дн. нужно:\n"
        "выигранные сделки: 1 из 3 (не хватает 2)"
    ]


def test_without_reward_rules_rewards_and_the_leaderboard_say_they_are_unavailable_and_log_why(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    # the bot needs no `rewards` section; a partner's /rewards or /top must not break the chat
    chat = world.linked("ru")
    with caplog.at_level(logging.WARNING, logger="crm_bridge.bot"):
        assert chat.say("/rewards") == [RU["rewards_unavailable"]]
        assert chat.say("/top") == [RU["rewards_unavailable"]]
    assert chat.say("/help") == [RU["help"]]
    pid = world.partner.crm_id
    reason = "rewards.rule_sets: give at least one rule set to compute rewards"
    assert [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "crm_bridge.bot"] == [
        ("WARNING", f"bot: /rewards for partner {pid}: {reason}"),
        ("WARNING", f"bot: /top for partner {pid}: {reason}"),
    ]


def test_leads_are_listed_in_the_chats_language(world: World) -> None:
    chat = world.linked("ru")
    world.crm.seed_lead(world.partner.crm_id, "Выигранный", stage="deal_closed")
    sync(world.crm, world.store, PORTAL, now=world.clock())
    assert chat.say("/leads") == [RU["leads_title"] + "\nВыигранный — выигран"]
