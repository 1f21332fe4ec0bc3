"""Telegram goes through crm_bridge.http: a short flood wait is slept and the message resent (nothing
was sent on 429), a long one goes back to the outbox; an answer that may follow a send is never
blindly resent; the bot's message budget; requests are counted for metrics without the token."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
import responses

from crm_bridge.domain.model import Curator
from crm_bridge.services.notify.channels import TelegramBot
from crm_bridge.services.notify.message import Delivery, Message
from crm_bridge.services.notify.notifier import KIND, Notifier, Routing
from crm_bridge.store import Store, open_store

PORTAL = "fake:telegram"
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
TOKEN = "123456:AAE-secret-bot-token"
TG = "https://tg.test"
SEND = f"{TG}/bot{TOKEN}/sendMessage"
ONLY_TELEGRAM = Routing({}, ("telegram",), frozenset({"telegram"}))


class Clock:
    """Unix time that moves only when the HTTP layer sleeps."""

    def __init__(self) -> None:
        self.now = NOW.timestamp()
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(f"sqlite:///{tmp_path / 'state.db'}") as s:
        yield s


def bot(
    clock: Clock, store: Store | None = None, requests: list[tuple[str, str, int]] | None = None
) -> TelegramBot:
    return TelegramBot(
        TOKEN,
        base_url=TG,
        clock=clock,
        sleep=clock.sleep,
        bucket=store.bucket if store else None,
        on_request=(lambda *r: requests.append(r)) if requests is not None else None,
    )


def notifier(store: Store, telegram: TelegramBot) -> Notifier:
    return Notifier(store, PORTAL, ONLY_TELEGRAM, {"telegram": telegram}, clock=lambda: NOW, locale="en")


def curator(n: int) -> Curator:
    return Curator(f"c{n}", f"Curator {n}", str(n), telegram_chat_id=str(5000 + n))


def flood(seconds: int) -> dict[str, object]:
    return {
        "ok": False,
        "error_code": 429,
        "description": f"Too Many Requests: retry after {seconds}",
        "parameters": {"retry_after": seconds},
    }


@responses.activate
def test_a_short_flood_wait_is_slept_and_the_message_sent_in_the_same_flush(store: Store) -> None:
    responses.post(SEND, status=429, json=flood(3))
    responses.post(SEND, json={"ok": True, "result": {"message_id": 9}})
    clock = Clock()
    n = notifier(store, bot(clock))
    n.notify("sync_failed", [curator(1)], "Sync failed", key="sf:1")

    result = n.flush(NOW)

    assert result.sent == 1 and clock.sleeps == [3.0]
    assert len(responses.calls) == 2


@responses.activate
def test_a_long_flood_wait_goes_back_to_the_outbox_without_sleeping(store: Store) -> None:
    responses.post(SEND, status=429, json=flood(600))
    clock = Clock()
    n = notifier(store, bot(clock))
    n.notify("sync_failed", [curator(1)], "Sync failed", key="sf:1")

    result = n.flush(NOW)

    (waiting,) = store.due(PORTAL, KIND, now=NOW + timedelta(days=1))
    assert result.retrying == 1 and clock.sleeps == [] and len(responses.calls) == 1
    assert waiting.next_attempt_at == NOW + timedelta(seconds=600)


@responses.activate
def test_a_server_error_after_sending_is_not_resent_at_once(store: Store) -> None:
    responses.post(SEND, status=502, body="Bad Gateway")
    clock = Clock()
    n = notifier(store, bot(clock))
    n.notify("sync_failed", [curator(1)], "Sync failed", key="sf:1")

    result = n.flush(NOW)

    assert result.retrying == 1 and len(responses.calls) == 1  # the message may have gone out
    (item,) = store.due(PORTAL, KIND, now=NOW + timedelta(days=1))
    assert "502" in (item.last_error or "") and TOKEN not in (item.last_error or "")


@responses.activate
def test_the_bots_message_budget_spreads_a_big_flush(store: Store) -> None:
    responses.post(SEND, json={"ok": True, "result": {"message_id": 1}})
    clock = Clock()
    n = notifier(store, bot(clock, store))
    for i in range(32):
        n.notify("sync_failed", [curator(i)], "Sync failed", key=f"sf:{i}")

    result = n.flush(NOW)

    assert result.sent == 32 and len(responses.calls) == 32
    assert clock.sleeps == [pytest.approx(1 / 30)] * 2  # 30 at once, then 30 a second


@responses.activate
def test_telegram_requests_are_counted_for_metrics_without_the_token(store: Store) -> None:
    responses.post(SEND, json={"ok": True, "result": {"message_id": 1}})
    requests: list[tuple[str, str, int]] = []
    n = notifier(store, bot(Clock(), requests=requests))
    n.notify("sync_failed", [curator(1)], "Sync failed", key="sf:1")

    n.flush(NOW)

    assert requests == [("telegram", "POST sendMessage", 200)]
    assert json.loads(responses.calls[0].request.body)["chat_id"] == "5001"


@responses.activate
def test_a_text_over_telegrams_limit_is_cut_to_4096_characters(store: Store) -> None:
    responses.post(SEND, json={"ok": True, "result": {"message_id": 1}})
    n = notifier(store, bot(Clock()))
    n.notify("sync_failed", [curator(1)], "я" * 5000, key="sf:1")

    assert n.flush(NOW).sent == 1
    (call,) = responses.calls
    text = json.loads(call.request.body)["text"]
    assert len(text) == 4096 and text.endswith("яяя")


@responses.activate
def test_one_bots_budget_is_shared_by_every_process_and_another_bot_has_its_own(store: Store) -> None:
    # two processes of one bot (the daemon and a CLI verb) on one store: 30 messages a second together
    responses.post(SEND, json={"ok": True, "result": {"message_id": 1}})
    other_token = "654321:BBF-other-bot-token"
    responses.post(f"{TG}/bot{other_token}/sendMessage", json={"ok": True, "result": {"message_id": 2}})
    clock = Clock()
    first, second = notifier(store, bot(clock, store)), notifier(store, bot(clock, store))
    for i in range(30):
        first.notify("sync_failed", [curator(i)], "Sync failed", key=f"a:{i}")
    assert first.flush(NOW).sent == 30 and clock.sleeps == []
    other = TelegramBot(other_token, base_url=TG, clock=clock, sleep=clock.sleep, bucket=store.bucket)

    second.notify("sync_failed", [curator(99)], "Sync failed", key="b:1")
    assert second.flush(NOW).sent == 1
    assert clock.sleeps == [pytest.approx(1 / 30)]  # the same bot: it waits its turn

    third = Notifier(store, "fake:other", ONLY_TELEGRAM, {"telegram": other}, clock=lambda: NOW, locale="en")
    third.notify("sync_failed", [curator(1)], "Sync failed", key="c:1")
    assert third.flush(NOW).sent == 1
    assert clock.sleeps == [pytest.approx(1 / 30)]  # another bot: a budget of its own, no wait


def message(chat: str = "5001") -> Message:
    return Message(1, "sf:1", "sync_failed", "Sync failed", "timeout", "Curator 1", telegram_chat_id=chat)


@responses.activate
def test_a_delivery_posts_to_the_bot_api_without_link_previews_and_keeps_the_message_id() -> None:
    responses.post(
        f"https://api.telegram.org/bot{TOKEN}/sendMessage", json={"ok": True, "result": {"message_id": 77}}
    )
    clock = Clock()

    (delivery,) = TelegramBot(TOKEN, clock=clock, sleep=clock.sleep).deliver([message()], NOW)

    assert delivery == Delivery(True, detail={"message_id": 77})
    (call,) = responses.calls
    assert json.loads(call.request.body) == {
        "chat_id": "5001",
        "text": "Sync failed\ntimeout",
        "disable_web_page_preview": True,
    }


@responses.activate
def test_a_base_url_with_a_trailing_slash_gives_one_slash() -> None:
    responses.post(SEND, json={"ok": True, "result": {"message_id": 1}})
    clock = Clock()
    (delivery,) = TelegramBot(TOKEN, base_url=f"{TG}/", clock=clock, sleep=clock.sleep).deliver(
        [message()], NOW
    )
    assert delivery.ok and responses.calls[0].request.url == SEND


@responses.activate
def test_an_answer_without_ok_is_a_failure_that_names_it_without_the_token() -> None:
    responses.post(SEND, json={"ok": False, "description": f"odd answer for {TOKEN}"})
    clock = Clock()

    (delivery,) = bot(clock).deliver([message()], NOW)

    assert not delivery.ok and not delivery.permanent and delivery.detail is None
    assert (
        delivery.error == "telegram answered without ok: {'ok': False, 'description': 'odd answer for ***'}"
    )


@responses.activate
def test_an_api_that_cannot_be_reached_is_tried_four_times_then_left_to_the_outbox() -> None:
    # a connection that timed out never reached Telegram: safe to resend, up to three retries
    responses.post(SEND, body=requests.exceptions.ConnectTimeout(f"timed out for {SEND}"))
    clock = Clock()

    (delivery,) = bot(clock).deliver([message()], NOW)

    assert not delivery.ok and not delivery.permanent and len(responses.calls) == 4  # 1 + 3 retries
    assert TOKEN not in delivery.error and len(delivery.error) <= 400


@responses.activate
def test_tokens_of_one_bot_share_its_budget_whatever_their_secret_part(store: Store) -> None:
    # a token revoked and reissued in @BotFather keeps the bot's id (the part before ':'): Telegram
    # limits the bot, so both tokens draw on one budget
    reissued = "123456:ZZZ-reissued-token"
    responses.post(SEND, json={"ok": True, "result": {"message_id": 1}})
    responses.post(f"{TG}/bot{reissued}/sendMessage", json={"ok": True, "result": {"message_id": 2}})
    clock = Clock()
    old = bot(clock, store)
    new = TelegramBot(reissued, base_url=TG, clock=clock, sleep=clock.sleep, bucket=store.bucket)

    old.deliver([message(str(i)) for i in range(30)], NOW)
    new.deliver([message()], NOW)

    assert clock.sleeps == [pytest.approx(1 / 30)]


@responses.activate
@pytest.mark.parametrize(
    ("token", "bot_id"),
    [("7:AAE-secret", "7"), ("123456:AAE:with-colon", "123456"), ("not-a-bot-token", "bot")],
)
def test_the_bots_budget_in_the_store_is_named_by_the_bot_id_never_by_the_secret(
    store: Store, token: str, bot_id: str
) -> None:
    responses.post(f"{TG}/bot{token}/sendMessage", json={"ok": True, "result": {"message_id": 1}})
    clock = Clock()
    telegram = TelegramBot(token, base_url=TG, clock=clock, sleep=clock.sleep, bucket=store.bucket)

    (delivery,) = telegram.deliver([message()], NOW)

    assert delivery.ok
    level = store.bucket.level(f"telegram:{bot_id}/messages", drain_per_second=30, now=clock())
    assert level == pytest.approx(1.0)


@responses.activate
def test_a_request_waits_5_seconds_to_connect_and_20_for_the_answer() -> None:
    responses.post(SEND, json={"ok": True, "result": {"message_id": 1}})

    bot(Clock()).deliver([message()], NOW)

    assert responses.calls[0].request.req_kwargs["timeout"] == (5.0, 20.0)


@responses.activate
def test_a_flood_wait_over_30_seconds_is_not_slept_but_left_to_the_outbox() -> None:
    responses.post(SEND, status=429, json=flood(31))
    clock = Clock()

    (delivery,) = bot(clock).deliver([message()], NOW)

    assert (delivery.ok, delivery.retry_after, clock.sleeps, len(responses.calls)) == (False, 31.0, [], 1)


@responses.activate
def test_a_base_url_with_a_path_keeps_it() -> None:
    proxy = "https://proxy.firm.ru/TGX"
    responses.post(f"{proxy}/bot{TOKEN}/sendMessage", json={"ok": True, "result": {"message_id": 1}})
    clock = Clock()

    (delivery,) = TelegramBot(TOKEN, base_url=f"{proxy}/", clock=clock, sleep=clock.sleep).deliver(
        [message()], NOW
    )

    assert delivery.ok and responses.calls[0].request.url == f"{proxy}/bot{TOKEN}/sendMessage"


@responses.activate
def test_without_a_token_an_error_is_shown_as_it_came() -> None:
    responses.post(f"{TG}/bot/sendMessage", json={"ok": False})
    clock = Clock()

    (delivery,) = TelegramBot("", base_url=TG, clock=clock, sleep=clock.sleep).deliver([message()], NOW)

    assert delivery == Delivery(False, "telegram answered without ok: {'ok': False}")


@responses.activate
def test_a_chat_not_found_is_a_permanent_failure() -> None:
    responses.post(
        SEND, status=400, json={"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
    )

    (delivery,) = bot(Clock()).deliver([message()], NOW)

    assert delivery == Delivery(False, "telegram answered 400: Bad Request: chat not found", permanent=True)


@responses.activate
def test_long_errors_are_cut_to_400_characters_and_an_answer_without_ok_to_300() -> None:
    # each "token=…" is masked as "token=***": a 300-character description grows past 400 with the
    # retries' note
    busy = {**flood(1), "description": "token=a " * 40}
    for _ in range(4):
        responses.post(SEND, status=429, json=busy)
    clock = Clock()

    (busy_out,) = bot(clock).deliver([message()], NOW)
    responses.reset()
    responses.post(SEND, json={"ok": False, "description": "y" * 600})
    (odd,) = bot(clock).deliver([message()], NOW)

    assert busy_out.error.startswith("telegram answered 429: token=*** token=*** ")
    assert (len(busy_out.error), len(odd.error)) == (400, 300)
    assert odd == Delivery(False, odd.error)


@responses.activate
@pytest.mark.parametrize(
    ("status", "answer", "expected"),
    [
        # a revoked or mistyped token (401) and a wrong bot address (404) are fixed in the config:
        # the message waits in the outbox for the next attempt
        (
            401,
            {"error_code": 401, "description": "Unauthorized"},
            ("telegram answered 401: Unauthorized", False),
        ),
        (404, {"error_code": 404, "description": "Not Found"}, ("telegram answered 404: Not Found", False)),
        # a server error may pass: retried later
        (
            500,
            {"error_code": 500, "description": "Internal Server Error"},
            ("telegram answered 500: Internal Server Error", False),
        ),
        # any other refusal will not change by waiting
        (
            409,
            {"error_code": 409, "description": "Conflict: busy"},
            ("telegram answered 409: Conflict: busy", True),
        ),
        # the Bot API's own error code is what is reported, whatever status a proxy in front of it answers
        (
            400,
            {"error_code": 403, "description": "Forbidden: bot was blocked by the user"},
            ("telegram answered 403: Forbidden: bot was blocked by the user", True),
        ),
    ],
)
def test_each_refusal_of_the_bot_api_is_named_and_retried_only_when_waiting_can_help(
    status: int, answer: dict[str, object], expected: tuple[str, bool]
) -> None:
    responses.post(SEND, status=status, json={"ok": False, **answer})

    (delivery,) = bot(Clock()).deliver([message()], NOW)

    assert (delivery.ok, delivery.error, delivery.permanent) == (False, *expected)
    assert len(responses.calls) == 1


@responses.activate
def test_the_bot_apis_description_is_cut_to_300_characters() -> None:
    responses.post(SEND, status=400, json={"ok": False, "error_code": 400, "description": "chat " * 70})

    (delivery,) = bot(Clock()).deliver([message()], NOW)

    assert delivery.error == "telegram answered 400: " + ("chat " * 70)[:300]
