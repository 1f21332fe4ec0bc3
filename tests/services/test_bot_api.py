"""The partner bot's Bot API calls against the Telegram stand-in (``crm_bridge.sandbox.telegram``, an
HTTP server in this process): a message sent and its id, a message too long cut to Telegram's limit, a
chat that blocked the bot given up, a refused token, updates read after an offset, the webhook set and
removed; the token never shows in an error."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from crm_bridge.errors import CrmError
from crm_bridge.sandbox.server import Sandbox
from crm_bridge.sandbox.telegram import TelegramEmulator
from crm_bridge.services.bot.api import TEXT_LIMIT, BotApi, Sent

TOKEN = "777001:bot-api-test-token"


@pytest.fixture
def tg() -> Iterator[tuple[TelegramEmulator, Sandbox]]:
    emulator = TelegramEmulator(token=TOKEN)
    with Sandbox("telegram", emulator=emulator) as sandbox:
        yield emulator, sandbox


def api(sandbox: Sandbox, token: str = TOKEN) -> BotApi:
    return BotApi(token, base_url=sandbox.base_url + "/", poll_timeout=0, sleep=lambda s: None)


def test_a_message_is_sent_and_its_id_returned_and_a_long_one_cut_to_the_limit(
    tg: tuple[TelegramEmulator, Sandbox],
) -> None:
    emulator, sandbox = tg
    emulator.user_says(5001, "/start")
    bot = api(sandbox)

    first = bot.send_message("5001", "Привет")
    second = bot.send_message("5001", "x" * (TEXT_LIMIT + 10))

    assert first.ok and second.ok and first.message_id is not None
    assert second.message_id == first.message_id + 1
    assert emulator.sent(5001) == ["Привет", "x" * TEXT_LIMIT]
    bot.close()


def test_a_chat_that_blocked_the_bot_or_does_not_exist_is_given_up_without_the_token(
    tg: tuple[TelegramEmulator, Sandbox],
) -> None:
    emulator, sandbox = tg
    emulator.user_says(5002, "/start")
    emulator.blocked.add(5002)
    bot = api(sandbox)

    blocked = bot.send_message("5002", "news")
    unknown = bot.send_message("999", "news")

    assert (blocked.ok, blocked.permanent, blocked.answered, blocked.retry_after) == (False, True, True, None)
    assert "blocked" in blocked.error and TOKEN not in blocked.error
    assert (unknown.ok, unknown.permanent, unknown.answered) == (False, True, True)
    assert len(blocked.error) <= 400


def test_a_refused_token_is_an_error_that_does_not_show_it(tg: tuple[TelegramEmulator, Sandbox]) -> None:
    emulator, sandbox = tg
    emulator.user_says(5003, "/start")
    bot = api(sandbox, "777001:wrong-token")

    sent = bot.send_message("5003", "hi")
    assert not sent.ok and sent.answered and "wrong-token" not in sent.error
    with pytest.raises(CrmError) as caught:
        bot.get_updates(0)
    assert "wrong-token" not in str(caught.value)


def test_updates_are_read_after_the_offset_and_the_webhook_set_and_removed(
    tg: tuple[TelegramEmulator, Sandbox],
) -> None:
    emulator, sandbox = tg
    first = emulator.user_says(5004, "one")
    emulator.user_says(5004, "two")
    bot = api(sandbox)

    assert [u["message"]["text"] for u in bot.get_updates(0)] == ["one", "two"]
    assert [u["message"]["text"] for u in bot.get_updates(first + 1, timeout=0)] == ["two"]
    bot.set_webhook("https://bridge.example.ru/telegram/webhook", "s3cret")
    assert (
        emulator.webhook is not None
        and emulator.webhook["url"] == "https://bridge.example.ru/telegram/webhook"
    )
    with pytest.raises(CrmError, match="telegram"):
        bot.get_updates(0)  # Telegram refuses getUpdates while a webhook is set
    bot.delete_webhook()
    assert emulator.webhook is None
    assert [u["message"]["text"] for u in bot.get_updates(first + 1)] == ["two"]


def test_the_token_is_cleaned_out_of_any_text() -> None:
    bot = BotApi(TOKEN, base_url="http://127.0.0.1:9/")
    assert TOKEN not in bot.clean(f"POST http://127.0.0.1:9/bot{TOKEN}/sendMessage failed")
    assert "***" in bot.clean(f"bot{TOKEN}/x")
    said = bot.clean(f"POST http://127.0.0.1:9/bot{TOKEN}/sendMessage failed")
    assert said == "POST http://127.0.0.1:9/bot***/sendMessage failed"  # what the operator reads
    assert BotApi("", base_url="http://127.0.0.1:9/").clean("plain text") == "plain text"
    assert Sent(True).error == ""
