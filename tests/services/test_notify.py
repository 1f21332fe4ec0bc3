"""Notifications: routing per event into the store's outbox (idempotent, never raising into the
caller), delivery through the CRM channel of a FakeCRM, retries with back-off, giving up."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crm_bridge.config import parse_settings
from crm_bridge.domain.model import Curator, Manager
from crm_bridge.errors import StateError
from crm_bridge.fake import FakeCRM
from crm_bridge.services.notify.channels import CrmNotifications, Delivery, Message
from crm_bridge.services.notify.notifier import (
    KIND,
    Notifier,
    Recipient,
    RetryPolicy,
    Routing,
    notifier_from_settings,
    people_from_settings,
)
from crm_bridge.store import Store

PORTAL = "fake:notify"
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ANNA = Curator("anna", "Анна Смирнова", "11", email="anna@example.ru", telegram_chat_id="5001")
OLEG = Manager("oleg", "Олег Кузнецов", "8")


class Recorder:
    """A channel that records what it was asked to deliver and answers from a script."""

    def __init__(self, name: str, answers: list[Delivery] | None = None) -> None:
        self.name = name
        self.batches: list[list[Message]] = []
        self._answers = list(answers or [])

    def deliver(self, messages: list[Message], now: datetime) -> list[Delivery]:
        self.batches.append(list(messages))
        return [self._answers.pop(0) if self._answers else Delivery(True) for _ in messages]


def make(store: Any, routes: Routing, channels: dict[str, Any], **options: Any) -> Notifier:
    return Notifier(store, PORTAL, routes, channels, clock=lambda: NOW, **options)


def routing(**routes: list[str]) -> Routing:
    return Routing(routes, ("crm",), frozenset({"crm", "telegram", "email"}))


def pending(store: Store) -> list[Any]:
    return store.due(PORTAL, KIND, now=NOW + timedelta(days=365))


def test_an_event_is_queued_once_per_routed_channel_and_recipient_address(store: Store) -> None:
    notifier = make(store, routing(lead_escalated=["crm", "telegram", "email"]), {})

    notifier.notify("lead_escalated", [ANNA, OLEG], "Lead «Pilot» is overdue", key="lead_escalated:42")

    queued = sorted((i.payload["channel"], i.payload["recipient"]["name"]) for i in pending(store))
    # Oleg has neither a Telegram chat nor an e-mail: he gets the CRM notification only
    assert queued == [
        ("crm", "Анна Смирнова"),
        ("crm", "Олег Кузнецов"),
        ("email", "Анна Смирнова"),
        ("telegram", "Анна Смирнова"),
    ]
    assert {i.payload["text"] for i in pending(store)} == {"Lead «Pilot» is overdue"}


def test_the_same_key_notified_twice_is_queued_once(store: Store) -> None:
    notifier = make(store, routing(), {})

    notifier.notify("tier_changed", [ANNA], "Gold now", key="tier:1")
    notifier.notify("tier_changed", [ANNA], "Gold now", key="tier:1")

    assert len(pending(store)) == 1


def test_events_not_routed_use_the_default_and_disabled_channels_are_dropped(store: Store) -> None:
    only_crm = Routing({"new_partner": ["telegram", "crm"]}, ("email",), frozenset({"crm"}))
    notifier = make(store, only_crm, {})

    notifier.notify("new_partner", [ANNA], "Welcome ООО Ромашка", key="np:1")
    notifier.notify("report_ready", [ANNA], "The report is ready", key="rr:1")  # default: email, disabled

    assert [(i.payload["event"], i.payload["channel"]) for i in pending(store)] == [("new_partner", "crm")]


def test_the_directory_fills_in_addresses_a_domain_manager_does_not_carry(store: Store) -> None:
    people = {"8": Recipient("Олег Кузнецов", "8", email="oleg@example.ru", telegram_chat_id="7007")}
    notifier = make(store, routing(lead_assigned=["email", "telegram"]), {}, people=people)

    notifier.notify("lead_assigned", [OLEG], "New lead", key="la:1")

    addresses = {i.payload["channel"]: i.payload["recipient"] for i in pending(store)}
    assert addresses["email"]["email"] == "oleg@example.ru"
    assert addresses["telegram"]["telegram_chat_id"] == "7007"


class BrokenStore:
    def enqueue(self, *args: Any, **kwargs: Any) -> int:
        raise StateError("database is locked")


def test_notify_never_raises_into_the_caller_when_the_store_fails(caplog: pytest.LogCaptureFixture) -> None:
    notifier = make(BrokenStore(), routing(), {})

    with caplog.at_level(logging.ERROR, logger="crm_bridge.notify"):
        notifier.notify("tier_changed", [ANNA], "Gold now", key="tier:1")

    assert caplog.messages == [
        "could not queue notification tier:1 (tier_changed): StateError: database is locked"
    ]


def test_flush_delivers_crm_notifications_through_the_adapter_once(store: Store) -> None:
    crm = FakeCRM(clock=lambda: NOW)
    crm.add_user("11", "Анна Смирнова")
    notifier = make(store, routing(), {"crm": CrmNotifications(crm)})
    notifier.notify("tier_changed", [ANNA], "ООО Ромашка is Gold now", key="tier:7")

    first = notifier.flush(NOW)
    second = notifier.flush(NOW + timedelta(minutes=1))

    assert (first.sent, second.sent) == (1, 0)
    (sent,) = crm.state.notifications.values()
    assert sent.user_id == "11"
    assert "ООО Ромашка is Gold now" in sent.message
    assert sent.message.startswith("crm-bridge: Уровень партнёра изменён")


def test_the_crm_channel_in_task_mode_creates_a_task_for_the_recipient(store: Store) -> None:
    crm = FakeCRM(clock=lambda: NOW)
    crm.add_user("11", "Анна Смирнова")
    notifier = make(store, routing(), {"crm": CrmNotifications(crm, mode="task")}, locale="en")
    notifier.notify("channel_conflict", [ANNA], "Two partners registered ООО Вектор", key="cc:3")

    notifier.flush(NOW)

    (task,) = crm.state.tasks.values()
    assert task.responsible_user_id == "11"
    assert task.title == "crm-bridge: Channel conflict"
    assert task.description == "Two partners registered ООО Вектор"
    assert task.deadline == NOW + timedelta(days=1)


def test_a_crm_outage_is_retried_with_back_off_and_delivered_later(store: Store) -> None:
    crm = FakeCRM(clock=lambda: NOW)
    crm.add_user("11", "Анна Смирнова")
    crm.failures.fail_next("rate_limit", method="send_notifications")
    retry = RetryPolicy(base=timedelta(seconds=30))
    notifier = make(store, routing(), {"crm": CrmNotifications(crm)}, retry=retry)
    notifier.notify("tier_changed", [ANNA], "Gold now", key="tier:1")

    failed = notifier.flush(NOW)
    too_early = notifier.flush(NOW + timedelta(seconds=29))
    later = notifier.flush(NOW + timedelta(seconds=30))

    assert (failed.retrying, too_early.sent, later.sent) == (1, 0, 1)
    assert len(crm.state.notifications) == 1


def test_a_failing_channel_does_not_hold_back_the_others(store: Store) -> None:
    telegram = Recorder("telegram", [Delivery(False, "telegram: connection refused")])
    crm = Recorder("crm")
    notifier = make(store, routing(lead_escalated=["telegram", "crm"]), {"telegram": telegram, "crm": crm})
    notifier.notify("lead_escalated", [ANNA], "Overdue", key="le:1")

    result = notifier.flush(NOW)

    assert (result.sent, result.retrying, result.by_channel) == (1, 1, {"crm": 1})
    (waiting,) = pending(store)
    assert waiting.payload["channel"] == "telegram"
    assert waiting.last_error == "telegram: connection refused"
    assert waiting.next_attempt_at == NOW + timedelta(seconds=30)


def test_an_undeliverable_channel_is_a_warning_in_the_cycle_table_and_in_doctor(store: Store) -> None:
    from crm_bridge.daemon.cycle import describe
    from crm_bridge.services.notify.health import channel_checks

    telegram = Recorder("telegram", [Delivery(False, "telegram: Name or service not known")])
    notifier = make(
        store, routing(lead_escalated=["telegram", "crm"]), {"telegram": telegram, "crm": Recorder("crm")}
    )
    notifier.notify("lead_escalated", [ANNA], "Overdue", key="le:1")

    result = notifier.flush(NOW)

    assert result.undeliverable == {"telegram": "telegram: Name or service not known"}
    assert (
        describe(result)
        == "1 notification(s) sent, 1 to retry; telegram undeliverable: telegram: Name or service not known"
    )
    settings = parse_settings(
        {
            "crm": {"kind": "bitrix24", "bitrix24": {"webhook_url": "${B24_WEBHOOK_URL}"}},
            "notifications": {
                "channels": {"telegram": {"enabled": True, "bot_token": "${TELEGRAM_BOT_TOKEN}"}}
            },
        },
        {"B24_WEBHOOK_URL": "https://example.bitrix24.ru/rest/1/secret/", "TELEGRAM_BOT_TOKEN": "1:x"},
    )
    checks = {c.name: c for c in channel_checks(settings, store, PORTAL)}
    assert checks["notifications crm"].ok and not checks["notifications crm"].warning
    telegram_check = checks["notifications telegram"]
    assert telegram_check.ok and telegram_check.warning
    assert telegram_check.detail == (
        "undeliverable: 1 message(s) failing, last error: telegram: Name or service not known"
    )


def test_back_off_doubles_honours_the_wait_asked_for_and_gives_up_at_the_limit() -> None:
    policy = RetryPolicy(base=timedelta(seconds=30), cap=timedelta(minutes=10), max_attempts=4)

    assert policy.next_attempt(1, NOW) == NOW + timedelta(seconds=30)
    assert policy.next_attempt(3, NOW) == NOW + timedelta(minutes=2)
    assert policy.next_attempt(2, NOW, asked=300) == NOW + timedelta(minutes=5)
    assert policy.next_attempt(4, NOW) is None


def test_a_message_that_keeps_failing_is_given_up_after_the_last_attempt(store: Store) -> None:
    channel = Recorder("crm", [Delivery(False, "boom")] * 3)
    notifier = make(store, routing(), {"crm": channel}, retry=RetryPolicy(max_attempts=3))
    notifier.notify("sync_failed", [ANNA], "Sync failed", key="sf:1")

    outcomes = [notifier.flush(NOW + timedelta(days=day)) for day in range(4)]

    assert [(o.retrying, o.failed) for o in outcomes] == [(1, 0), (1, 0), (0, 1), (0, 0)]
    assert len(channel.batches) == 3
    assert pending(store) == []


def test_a_permanent_refusal_is_not_retried(store: Store) -> None:
    channel = Recorder("crm", [Delivery(False, "chat not found", permanent=True)])
    notifier = make(store, routing(), {"crm": channel})
    notifier.notify("sync_failed", [ANNA], "Sync failed", key="sf:1")

    result = notifier.flush(NOW)

    assert (result.failed, pending(store)) == (1, [])


def test_a_message_for_a_channel_that_is_not_configured_waits_for_it(store: Store) -> None:
    notifier = make(store, routing(), {})
    notifier.notify("sync_failed", [ANNA], "Sync failed", key="sf:1")

    result = notifier.flush(NOW)

    assert result.retrying == 1
    assert pending(store)[0].last_error == "channel crm is not enabled"


def test_outcomes_are_reported_to_the_observer(store: Store) -> None:
    seen: list[tuple[str, str]] = []
    channel = Recorder("crm", [Delivery(True), Delivery(False, "x")])
    notifier = make(store, routing(), {"crm": channel}, observe=lambda c, o: seen.append((c, o)))
    notifier.notify("tier_changed", [ANNA, OLEG], "Gold now", key="t:1")

    notifier.flush(NOW)

    assert sorted(seen) == [("crm", "retry"), ("crm", "sent")]


CONFIG: dict[str, Any] = {
    "crm": {"kind": "bitrix24", "bitrix24": {"webhook_url": "${B24_WEBHOOK_URL}"}},
    "managers": [{"key": "oleg", "name": "Олег", "crm_user_id": 8, "email": "oleg@example.ru"}],
    "curators": [{"key": "anna", "name": "Анна", "crm_user_id": 11, "telegram_chat_id": "5001"}],
    "notifications": {
        "channels": {"telegram": {"enabled": True, "bot_token": "${TELEGRAM_BOT_TOKEN}"}},
        "routing": {"lead_assigned": ["crm"], "tier_changed": ["telegram"]},
    },
}
ENV = {"B24_WEBHOOK_URL": "https://b24.example.ru/rest/1/abcdef123456/", "TELEGRAM_BOT_TOKEN": "123:ABC"}


def test_the_notifier_is_wired_from_the_config_routing_and_people(store: Store) -> None:
    settings = parse_settings(CONFIG, ENV)
    notifier = notifier_from_settings(settings, store, PORTAL, FakeCRM(), clock=lambda: NOW)

    notifier.notify("lead_assigned", [OLEG], "New lead", key="la:1")
    notifier.notify("tier_changed", [ANNA], "Gold", key="tc:1")

    assert sorted((i.payload["event"], i.payload["channel"]) for i in pending(store)) == [
        ("lead_assigned", "crm"),
        ("tier_changed", "telegram"),
    ]
    assert people_from_settings(settings)["8"].email == "oleg@example.ru"


class Exploding:
    """A channel with a bug: its deliver raises."""

    name = "crm"

    def deliver(self, messages: list[Message], now: datetime) -> list[Delivery]:
        raise RuntimeError("socket closed")


class Short(Recorder):
    """A channel that answers for the first message of a batch only."""

    def deliver(self, messages: list[Message], now: datetime) -> list[Delivery]:
        return super().deliver(messages, now)[:1]


def test_a_channel_that_raises_keeps_every_message_queued_with_the_error_named(store: Store) -> None:
    notifier = make(store, routing(), {"crm": Exploding()})
    notifier.notify("tier_changed", [ANNA, OLEG], "Gold now", key="t:1")

    result = notifier.flush(NOW)

    assert (result.sent, result.retrying, result.failed) == (0, 2, 0)
    assert result.undeliverable == {"crm": "crm: internal error RuntimeError: socket closed"}
    assert [i.last_error for i in pending(store)] == ["crm: internal error RuntimeError: socket closed"] * 2


def test_a_channel_that_answers_for_part_of_a_batch_has_the_whole_batch_retried(store: Store) -> None:
    notifier = make(store, routing(), {"crm": Short("crm")})
    notifier.notify("tier_changed", [ANNA, OLEG], "Gold now", key="t:1")

    result = notifier.flush(NOW)

    assert (result.sent, result.retrying, result.undeliverable) == (0, 2, {"crm": "crm: answered 1 of 2"})
    assert [i.last_error for i in pending(store)] == ["crm: answered 1 of 2"] * 2


def test_what_is_not_queued_is_said_in_the_debug_log(store: Store, caplog: pytest.LogCaptureFixture) -> None:
    notifier = make(
        store, Routing({"lead_assigned": ["telegram", "crm"]}, ("email",), frozenset({"crm", "telegram"})), {}
    )

    with caplog.at_level(logging.DEBUG, logger="crm_bridge.notify"):
        notifier.notify("report_ready", [ANNA], "The report is ready", key="rr:1")
        notifier.notify("lead_assigned", [OLEG], "New lead", key="la:1")

    assert caplog.messages == [
        "notification rr:1: no enabled channel routes event report_ready",
        "notification la:1: Олег Кузнецов has no telegram address",
    ]


def test_a_recipient_without_the_first_routed_address_still_gets_the_next_channel(store: Store) -> None:
    mail_only = Recipient("Ирина Белова", email="irina@example.ru")
    notifier = make(store, routing(lead_escalated=["telegram", "email"]), {})

    notifier.notify("lead_escalated", [mail_only], "Overdue", key="le:1")

    assert [(i.payload["channel"], i.payload["recipient"]["name"]) for i in pending(store)] == [
        ("email", "Ирина Белова")
    ]


def test_each_queued_message_carries_only_its_channels_address_under_a_key_per_user(store: Store) -> None:
    notifier = make(store, routing(lead_escalated=["crm", "telegram", "email"]), {})

    notifier.notify("lead_escalated", [ANNA], "Overdue", key="le:1")
    notifier.notify("lead_escalated", [ANNA], "Overdue again", key="le:2")

    queued = {i.idempotency_key: i.payload["recipient"] for i in pending(store)}
    anna = {"name": "Анна Смирнова", "crm_user_id": "11"}
    assert queued == {
        "le:1|crm|11": {**anna, "email": "", "telegram_chat_id": ""},
        "le:1|telegram|11": {**anna, "email": "", "telegram_chat_id": "5001"},
        "le:1|email|11": {**anna, "email": "anna@example.ru", "telegram_chat_id": ""},
        "le:2|crm|11": {**anna, "email": "", "telegram_chat_id": ""},
        "le:2|telegram|11": {**anna, "email": "", "telegram_chat_id": "5001"},
        "le:2|email|11": {**anna, "email": "anna@example.ru", "telegram_chat_id": ""},
    }


def test_recipients_outside_the_crm_are_told_apart_by_their_address(store: Store) -> None:
    notifier = make(store, routing(report_ready=["email"]), {})
    first, second = Recipient("Ирина", email="irina@example.ru"), Recipient("Павел", email="pavel@example.ru")

    notifier.notify("report_ready", [first, second], "The report is ready", key="rr:1")

    assert sorted(i.idempotency_key for i in pending(store)) == [
        "rr:1|email|irina@example.ru",
        "rr:1|email|pavel@example.ru",
    ]


def test_an_event_without_a_catalogue_subject_is_named_after_itself(store: Store) -> None:
    notifier = make(store, routing(), {})

    notifier.notify("payout_due", [ANNA], "Pay ООО Ромашка", key="pd:1")

    assert notifier.subject("payout_due") == "crm-bridge: payout due"
    assert [i.payload["subject"] for i in pending(store)] == ["crm-bridge: payout due"]


def test_a_delivery_is_recorded_with_its_time_and_what_the_channel_answered(store: Store) -> None:
    crm = FakeCRM(clock=lambda: NOW)
    crm.add_user("11", "Анна Смирнова")
    crm.add_user("8", "Олег Кузнецов")
    notifier = make(store, routing(), {"crm": CrmNotifications(crm)})
    notifier.notify("tier_changed", [ANNA, OLEG], "Gold now", key="t:1")
    ids = [i.id for i in pending(store)]

    result = notifier.flush(NOW + timedelta(minutes=5))

    assert (result.sent, result.by_channel) == (2, {"crm": 2})
    done = [store.outbox.get(i) for i in ids]
    assert [(d.status, d.finished_at) for d in done if d] == [("done", NOW + timedelta(minutes=5))] * 2
    crm_ids = sorted(n.crm_id for n in crm.state.notifications.values())
    assert sorted(str((d.result or {}).get("crm_id")) for d in done if d) == sorted(str(c) for c in crm_ids)

    plain = make(store, routing(), {"crm": Recorder("crm")})
    plain.notify("tier_changed", [ANNA], "Silver now", key="t:2")
    (item,) = pending(store)
    plain.flush(NOW)
    assert store.outbox.get(item.id).result == {}  # type: ignore[union-attr]


def test_every_message_given_up_is_counted_reported_and_logged(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[tuple[str, str]] = []
    channel = Recorder("crm", [Delivery(False, "chat not found", permanent=True)] * 2)
    notifier = make(store, routing(), {"crm": channel}, observe=lambda c, o: seen.append((c, o)))
    notifier.notify("tier_changed", [ANNA, OLEG], "Gold now", key="t:1")
    ids = [i.id for i in pending(store)]

    with caplog.at_level(logging.INFO, logger="crm_bridge.notify"):
        result = notifier.flush(NOW)

    assert (result.sent, result.retrying, result.failed) == (0, 0, 2)
    assert seen == [("crm", "failed"), ("crm", "failed")]
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", f"notification {ids[0]} via crm given up: chat not found"),
        ("WARNING", f"notification {ids[1]} via crm given up: chat not found"),
        ("INFO", "notifications: 0 sent, 0 to retry, 2 given up"),
    ]


def test_every_message_to_retry_is_counted_and_logged_with_its_next_attempt(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    channel = Recorder("crm", [Delivery(False, "crm: 503"), Delivery(False, "crm: 503", retry_after=120)])
    notifier = make(store, routing(), {"crm": channel})
    notifier.notify("tier_changed", [ANNA, OLEG], "Gold now", key="t:1")
    ids = [i.id for i in pending(store)]

    with caplog.at_level(logging.INFO, logger="crm_bridge.notify"):
        result = notifier.flush(NOW)

    assert (result.sent, result.retrying, result.failed) == (0, 2, 0)
    assert caplog.messages == [
        f"notification {ids[0]} via crm failed, retry at 2026-11-02T09:00:30+00:00: crm: 503",
        f"notification {ids[1]} via crm failed, retry at 2026-11-02T09:02:00+00:00: crm: 503",
        "notifications: 0 sent, 2 to retry, 0 given up",
    ]


def test_a_recipient_has_an_address_per_known_channel_and_none_for_another() -> None:
    anna = Recipient("Анна Смирнова", "11", email="anna@example.ru", telegram_chat_id="5001")

    assert [anna.address(c) for c in ("crm", "telegram", "email", "sms")] == [
        "11",
        "5001",
        "anna@example.ru",
        "",
    ]


def test_the_directory_completes_addresses_but_the_recipients_own_name_is_kept(store: Store) -> None:
    people = {"8": Recipient("Олег К.", "8", email="oleg@example.ru")}
    notifier = make(store, routing(lead_assigned=["email"]), {}, people=people)

    notifier.notify("lead_assigned", [OLEG], "New lead", key="la:1")

    (item,) = pending(store)
    assert item.payload["recipient"] == {
        "name": "Олег Кузнецов",
        "crm_user_id": "8",
        "email": "oleg@example.ru",
        "telegram_chat_id": "",
    }


def test_one_flush_delivers_at_most_500_notifications_and_leaves_the_rest_for_the_next(store: Store) -> None:
    channel = Recorder("crm")
    notifier = make(store, routing(), {"crm": channel})
    for n in range(501):
        notifier.notify("tier_changed", [OLEG], f"Gold now {n}", key=f"t:{n}")

    first = notifier.flush(NOW)
    second = notifier.flush(NOW)

    assert (first.sent, second.sent) == (500, 1)
    assert [len(batch) for batch in channel.batches] == [500, 1]


def test_a_flush_leaves_the_bots_messages_in_the_shared_outbox_alone(store: Store) -> None:
    store.enqueue(PORTAL, "bot", "push:1", {"chat_id": "5001", "text": "Ваш лид принят"}, now=NOW)
    notifier = make(store, routing(), {"crm": Recorder("crm")})

    result = notifier.flush(NOW)

    assert (result.sent, result.retrying, result.failed) == (0, 0, 0)
    (push,) = store.due(PORTAL, "bot", now=NOW)
    assert (push.idempotency_key, push.attempts, push.last_error) == ("push:1", 0, None)


def test_a_channel_that_delivered_some_of_its_messages_is_not_reported_undeliverable(store: Store) -> None:
    channel = Recorder("crm", [Delivery(True), Delivery(False, "user 8 is inactive")])
    notifier = make(store, routing(), {"crm": channel})
    notifier.notify("tier_changed", [ANNA, OLEG], "Gold now", key="t:1")

    result = notifier.flush(NOW)

    assert (result.sent, result.retrying, result.undeliverable) == (1, 1, {})
