"""The partner bot over the fake CRM and the suite's store, in-process: ``World`` wires
``PartnerBot.for_app`` as the daemon does (no Bot API: ``handle`` returns the replies it queues),
``Chat`` is one Telegram user talking to it."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import count
from types import SimpleNamespace
from typing import Any

from crm_bridge.config import parse_settings
from crm_bridge.domain.model import Partner
from crm_bridge.fake import FakeClock, FakeCRM
from crm_bridge.services.bot.service import PartnerBot
from crm_bridge.services.intake.service import IntakeService
from crm_bridge.store import Store
from crm_bridge.texts import words

PORTAL = "fake:test"
CONFIG: dict[str, Any] = {
    "crm": {"kind": "bitrix24", "bitrix24": {"webhook_url": "${B24_WEBHOOK_URL}"}},
    "curators": [{"key": "anna", "name": "Анна", "crm_user_id": 11}],
    "bot": {
        "enabled": True,
        "token": "${PARTNER_BOT_TOKEN}",
        "question_task_hours": 6,
        "faq": [
            {
                "keywords": ["payout", "выплат"],
                "answer_ru": "Выплаты — до 15 числа.",
                "answer_en": "Payouts by the 15th.",
            },
            {
                "keywords": ["payout", "date", "calendar"],
                "answer_ru": "Календарь выплат в кабинете.",
                "answer_en": "The payout calendar is in the portal.",
            },
        ],
    },
}
ENV = {
    "B24_WEBHOOK_URL": "https://b24.example.ru/rest/1/abcdef123456/",
    "PARTNER_BOT_TOKEN": "1:x",
    "HOOK": "hook-secret",
}
EN, RU = words("bot", "en"), words("bot", "ru")


class Chat:
    """One Telegram user talking to the bot."""

    def __init__(self, bot: PartnerBot, chat_id: int, lang: str, updates: Iterator[int]) -> None:
        self.bot, self.chat_id, self.lang, self.updates = bot, chat_id, lang, updates
        self.last = 0

    def update(self, text: str, update_id: int | None = None, kind: str = "private") -> dict[str, Any]:
        self.last = next(self.updates) if update_id is None else update_id
        message = {"chat": {"id": self.chat_id, "type": kind}, "text": text}
        if self.lang:
            message["from"] = {"language_code": self.lang}
        return {"update_id": self.last, "message": message}

    def say(self, text: str) -> list[str]:
        return self.bot.handle(self.update(text))


class World:
    def __init__(self, crm: FakeCRM, store: Store, clock: FakeClock, partner: Partner, **config: Any):
        self.crm, self.store, self.clock, self.partner = crm, store, clock, partner
        crm.add_user("11", "Анна")
        self.settings = parse_settings({**CONFIG, **config}, ENV)
        app = SimpleNamespace(settings=self.settings, store=store, portal=PORTAL, clock=clock, adapter=crm)
        self.intake = IntakeService(crm, store, PORTAL)
        self.bot = PartnerBot.for_app(app, self.intake, api=None)
        self._updates = count(100)
        self._chats = count(7000)

    def chat(self, lang: str = "en") -> Chat:
        return Chat(self.bot, next(self._chats), lang, self._updates)

    def linked(self, lang: str = "en", partner: Partner | None = None) -> Chat:
        chat = self.chat(lang)
        said = chat.say(f"/start {self.bot.links.issue((partner or self.partner).crm_id).code}")
        assert said == [words("bot", lang)["link_done"].format(partner=(partner or self.partner).name)]
        return chat
