"""``crm-bridge doctor``'s notification lines (``channel_checks``): one per enabled channel, a warning
when its host is a placeholder (an RFC 2606/6761 name) or when its messages are failing in the outbox
(how many, the latest error, redacted), else ok."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from crm_bridge.config import parse_settings
from crm_bridge.errors import StateError
from crm_bridge.ports import HealthCheck
from crm_bridge.services.notify.health import channel_checks, is_placeholder_host
from crm_bridge.services.notify.notifier import KIND
from crm_bridge.store import Store

PORTAL = "fake:test"
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
ENV = {"B24_WEBHOOK_URL": "https://b24.example.ru/rest/1/abcdef123456/", "TG": "1:x"}


def settings(telegram_url: str = "https://api.telegram.org", smtp_host: str = "smtp.yandex.ru") -> Any:
    return parse_settings(
        {
            "crm": {"kind": "bitrix24", "bitrix24": {"webhook_url": "${B24_WEBHOOK_URL}"}},
            "notifications": {
                "channels": {
                    "telegram": {"enabled": True, "bot_token": "${TG}", "base_url": telegram_url},
                    "email": {"enabled": True, "smtp_host": smtp_host, "sender": "bridge@firm.ru"},
                }
            },
        },
        ENV,
    )


@pytest.mark.parametrize(
    ("host", "placeholder"),
    [
        ("example.com", True),
        ("smtp.example.org", True),
        ("EXAMPLE.NET.", True),
        ("mail.example.ru", True),
        ("bot.example", True),
        ("smtp.invalid", True),
        ("relay.test", True),
        ("localhost.localhost", True),
        (" api.example.com ", True),
        ("", False),
        ("   ", False),
        ("notexample.com", False),
        ("example.com.ru", False),
        ("smtp.yandex.ru", False),
        ("testing.ru", False),
        ("localhost", False),
        ("api.telegram.org", False),
    ],
)
def test_placeholder_hosts_are_the_reserved_names(host: str, placeholder: bool) -> None:
    assert is_placeholder_host(host) is placeholder


def test_a_channel_with_a_placeholder_host_is_a_warning_naming_the_config_key() -> None:
    checks = channel_checks(settings("https://bot.example/", "smtp.example.com"))
    assert checks == [
        HealthCheck("notifications crm", True, "enabled, no failed deliveries"),
        HealthCheck(
            "notifications telegram",
            True,
            "notifications.channels.telegram.base_url: 'bot.example' is a placeholder, nothing can be "
            "delivered (set the real one, or disable)",
            warning=True,
        ),
        HealthCheck(
            "notifications email",
            True,
            "notifications.channels.email.smtp_host: 'smtp.example.com' is a placeholder, nothing can be "
            "delivered (set the real one, or disable)",
            warning=True,
        ),
    ]


def failed(store: Store, channel: str, key: str, error: str) -> None:
    item = store.outbox.enqueue(PORTAL, KIND, key, {"channel": channel}, now=NOW)
    store.outbox.mark_failed(item, error, NOW)


def test_a_channel_whose_messages_fail_is_a_warning_with_the_count_and_the_latest_error(store: Store) -> None:
    failed(store, "email", "a", "smtp: timeout")
    failed(store, "email", "b", "smtp answered 451 with password=hunter2")
    failed(store, "crm", "c", "crm: 503")

    checks = {c.name: c for c in channel_checks(settings(), store, PORTAL)}

    email = checks["notifications email"]
    assert email.warning and email.ok
    assert email.detail.startswith("undeliverable: 2 message(s) failing, last error: smtp answered 451 with ")
    assert "hunter2" not in email.detail
    assert checks["notifications crm"] == HealthCheck(
        "notifications crm", True, "undeliverable: 1 message(s) failing, last error: crm: 503", warning=True
    )
    assert checks["notifications telegram"] == HealthCheck(
        "notifications telegram", True, "enabled, no failed deliveries"
    )
    assert channel_checks(settings(), store, "another:portal")[1].warning is False


def test_without_a_store_or_when_it_fails_only_the_hosts_are_checked(store: Store) -> None:
    failed(store, "email", "a", "smtp: timeout")

    class Broken:
        class outbox:  # noqa: N801 (the store's attribute)
            @staticmethod
            def undelivered(portal: str, kind: str) -> list[Any]:
                raise StateError("database is locked")

    for checks in (channel_checks(settings()), channel_checks(settings(), Broken(), PORTAL)):
        assert [c.warning for c in checks] == [False, False, False]


def test_only_enabled_channels_have_a_line() -> None:
    bare = parse_settings(
        {"crm": {"kind": "bitrix24", "bitrix24": {"webhook_url": "${B24_WEBHOOK_URL}"}}}, ENV
    )
    assert [c.name for c in channel_checks(bare)] == ["notifications crm"]


def test_a_failure_the_channel_gave_no_error_for_is_counted_with_an_empty_last_error(store: Store) -> None:
    failed(store, "email", "a", "")

    checks = {c.name: c for c in channel_checks(settings(), store, PORTAL)}

    assert checks["notifications email"] == HealthCheck(
        "notifications email",
        True,
        "undeliverable: 1 message(s) failing, the channel gave no error text",
        warning=True,
    )
