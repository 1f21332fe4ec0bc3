"""The partner bot inside ``crm-bridge run``: its jobs are scheduled when ``bot.enabled`` (long polling
only in polling mode), and in webhook mode the daemon's port answers Telegram's calls carrying the
secret token and refuses the others."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from crm_bridge.bootstrap import App, bootstrap
from crm_bridge.config import parse_settings
from crm_bridge.daemon.app import build_daemon
from crm_bridge.daemon.engine import Engine
from crm_bridge.fake import FakeClock, FakeCRM
from crm_bridge.sandbox.server import Sandbox
from crm_bridge.sandbox.telegram import TelegramEmulator
from crm_bridge.services.metrics import BridgeMetrics
from crm_bridge.store import open_store

TOKEN = "555:daemon-bot-token"
SECRET = "daemon-hook-secret_1"


def settings_for(base_url: str, mode: str) -> Any:
    data = {
        "locale": "en",
        "crm": {"kind": "bitrix24", "bitrix24": {"webhook_url": "${B24_WEBHOOK_URL}"}},
        "curators": [{"key": "anna", "name": "Анна", "crm_user_id": "11"}],
        "schedule": {"tiers": {"every": "1h"}, "report": {"enabled": False}},
        "bot": {
            "enabled": True,
            "token": "${PARTNER_BOT_TOKEN}",
            "base_url": base_url,
            "mode": mode,
            "webhook_secret": "${PARTNER_BOT_WEBHOOK_SECRET}",
        },
    }
    env = {
        "B24_WEBHOOK_URL": "https://example.bitrix24.ru/rest/1/secret/",
        "PARTNER_BOT_TOKEN": TOKEN,
        "PARTNER_BOT_WEBHOOK_SECRET": SECRET,
    }
    return parse_settings(data, env)


@pytest.fixture
def telegram() -> Iterator[tuple[TelegramEmulator, Sandbox]]:
    tg = TelegramEmulator(token=TOKEN)
    with Sandbox("telegram", emulator=tg) as sb:
        yield tg, sb


def make_app(store_url: str, clock: FakeClock, base_url: str, mode: str) -> App:
    return bootstrap(
        settings_for(base_url, mode), store=open_store(store_url), adapter=FakeCRM(clock=clock), clock=clock
    )


def test_the_bot_jobs_run_in_the_daemon_and_only_polling_mode_polls(
    store_url: str, fake_clock: FakeClock, telegram: tuple[TelegramEmulator, Sandbox]
) -> None:
    _, sb = telegram
    with make_app(store_url, fake_clock, sb.base_url, "polling") as app:
        assert {"bot", "bot_updates"} <= set(Engine(app).jobs())
    with make_app(store_url, fake_clock, sb.base_url, "webhook") as app:
        jobs = set(Engine(app).jobs())
        assert "bot" in jobs and "bot_updates" not in jobs


def test_the_daemons_port_takes_telegrams_webhook_calls_with_the_secret_only(
    store_url: str, fake_clock: FakeClock, telegram: tuple[TelegramEmulator, Sandbox]
) -> None:
    tg, sb = telegram
    with make_app(store_url, fake_clock, sb.base_url, "webhook") as app:
        daemon = build_daemon(app, metrics=BridgeMetrics(), host="127.0.0.1", port=0)
        daemon.start()
        try:
            url = daemon.http.url + "/telegram/webhook"  # type: ignore[union-attr]
            tg.webhook = {"url": url, "secret_token": SECRET}  # as setWebhook would leave it
            tg.user_says(31337, "/leads")
            # the webhook call or the bot job running beside it sends the reply: wait for it
            for _ in range(2400):  # up to 120 s, only so a broken build cannot hang: nothing is timed
                if tg.sent(31337):
                    break
                time.sleep(0.05)
            assert any("/link" in text for text in tg.sent(31337))
            update = {"update_id": 77, "message": {"chat": {"id": 31337, "type": "private"}, "text": "/top"}}
            refused = requests.post(
                url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "x"}, timeout=30
            )
            assert refused.status_code == 401
            assert requests.post(url, json=update, timeout=30).status_code == 401
        finally:
            daemon.stop()
