"""The demo's partner-bot scene (services.bot.demo) as the console shows it, line by line, in each
language: the partner links the chat, registers a lead in the dialogue, and hears its stage move."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from crm_bridge.sandbox.server import Sandbox
from crm_bridge.services.demo.run import DemoResult, run_demo

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
PARTNER = "АО «Меридиан Сервис»"  # the first partner by name of the demo network's default seed
EN_SCENE = [
    "/lead",
    "Register a lead (/cancel to stop). The customer's company name?",
    "Telegram Customer Ltd",
    "The customer's e-mail? ('-' to skip)",
    "buyer@tg-customer.example",
    "The customer's phone? ('-' to skip)",
    "+7 900 555-01-02",
    "The customer's tax id (INN)? ('-' to skip)",
    "-",
    "The expected deal amount? ('-' to skip)",
    "250000",
    "A comment for the manager? ('-' to skip)",
    "-",
    "Register this lead?\n- Telegram Customer Ltd\n- buyer@tg-customer.example\n- +7 900 555-01-02\n- 250000"
    "\nAnswer yes or no.",
    "yes",
    "Lead registered: Telegram Customer Ltd (lead {lead}). I will tell you when its stage changes.",
    f"Lead Telegram Customer Ltd — {PARTNER}: now at stage «Qualification».",
]
RU_SCENE = [
    "/lead",
    "Регистрация лида (/cancel — отменить). Название компании клиента?",
    "ООО Телеграм-Клиент",
    "Эл. почта клиента? («-» — пропустить)",
    "-",
    "Телефон клиента? («-» — пропустить)",
    "+7 900 555-01-02",
    "ИНН клиента? («-» — пропустить)",
    "7707083893",
    "Ожидаемая сумма сделки? («-» — пропустить)",
    "250000",
    "Комментарий для менеджера? («-» — пропустить)",
    "-",
    "Зарегистрировать лид?\n- ООО Телеграм-Клиент\n- +7 900 555-01-02\n- 7707083893\n- 250000"
    "\nОтветьте да или нет.",
    "да",
    "Лид зарегистрирован: ООО Телеграм-Клиент (лид {lead}). Сообщу, когда сменится стадия.",
    f"Лид ООО Телеграм-Клиент — {PARTNER}: теперь на стадии «Квалификация лида».",
]
LINKED = {
    "en": f"Linked: this chat now speaks for {PARTNER}. /help lists what I can do.",
    "ru": f"Готово: этот чат подключён к партнёру {PARTNER}. /help — что я умею.",
}


@pytest.mark.parametrize(("locale", "expected"), [("en", EN_SCENE), ("ru", RU_SCENE)])
def test_the_bot_scene_shows_the_whole_chat_and_the_stage_the_manager_moved_the_lead_to(
    tmp_path: Path, locale: str, expected: list[str]
) -> None:
    from crm_bridge.daemon.engine import Engine
    from crm_bridge.sandbox.telegram import TelegramEmulator
    from crm_bridge.services.bot.demo import CHAT, DEMO_TOKEN, BotScene, run_bot_scene

    scenes: list[BotScene] = []
    tg = TelegramEmulator(token=DEMO_TOKEN)

    def scene(app: Any, result: DemoResult, now: datetime) -> None:
        with Sandbox("telegram", emulator=tg) as telegram:
            scenes.append(run_bot_scene(app, Engine(app), now, locale, tg, telegram.base_url))

    with Sandbox("bitrix24") as sandbox:
        run_demo(
            tmp_path, sandbox, per_type=1, months=1, fresh_leads=2, now=NOW, locale=locale, after_jobs=scene
        )

    (played,) = scenes
    assert played.lead_id is not None and played.pushed_stage
    start, linked, *rest = played.lines
    assert start[0] == PARTNER and start[1].startswith("/start ") and linked == ("bot", LINKED[locale])
    shown = [text.format(lead=played.lead_id) for text in expected]
    assert [text for _, text in rest] == shown
    assert [who for who, _ in rest] == [PARTNER, "bot"] * 8 + ["bot"]
    assert tg.sent(CHAT) == [text for who, text in played.lines if who == "bot"]
