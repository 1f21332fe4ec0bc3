"""The notifier an admin gets from the config's ``notifications`` section (``notifier_from_settings``,
as the daemon and the CLI build it): which channels exist, and that each one uses what the config says
— the CRM channel's mode, the Telegram bot, token and API address, the SMTP server, port, security,
login, sender and timeout — with the people directory, the language and the metrics hooks."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import responses
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from notify_fixtures import SMTP_PASSWORD, SMTP_USER, Inbox, free_port, smtp_inbox, tls_smtp_inbox

from crm_bridge.config import parse_settings
from crm_bridge.config.settings import Settings
from crm_bridge.domain.model import Manager
from crm_bridge.fake import FakeCRM
from crm_bridge.services.notify.notifier import KIND, channels_from_settings, notifier_from_settings
from crm_bridge.store import Store

PORTAL = "fake:notify"
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
TOKEN = "123:ABC"
ENV = {
    "B24_WEBHOOK_URL": "https://b24.example.ru/rest/1/abcdef123456/",
    "TELEGRAM_BOT_TOKEN": TOKEN,
    "SMTP_PASSWORD": SMTP_PASSWORD,
}
# a domain Manager (as distribution passes it) carries no addresses: the config's directory has them
OLEG = Manager("oleg", "Олег Кузнецов", "8")


def settings_with(channels: dict[str, Any], **top: Any) -> Settings:
    """Settings with these ``channels``; every event goes to each enabled one."""
    default = {"crm": True, "telegram": False, "email": False}
    enabled = [name for name, on in default.items() if channels.get(name, {}).get("enabled", on)]
    config: dict[str, Any] = {
        "crm": {"kind": "bitrix24", "bitrix24": {"webhook_url": "${B24_WEBHOOK_URL}"}},
        "managers": [
            {
                "key": "oleg",
                "name": "Олег Кузнецов",
                "crm_user_id": 8,
                "email": "oleg@example.ru",
                "telegram_chat_id": "5008",
            }
        ],
        "notifications": {"channels": channels, "default": enabled},
        **top,
    }
    return parse_settings(config, ENV)


def email(host: str, port: int, **options: Any) -> dict[str, Any]:
    return {
        "email": {"enabled": True, "smtp_host": host, "smtp_port": port, "sender": "desk@firm.ru", **options}
    }


def outbox(store: Store) -> list[Any]:
    return store.due(PORTAL, KIND, now=NOW + timedelta(days=365))


def test_only_the_crm_channel_exists_by_default_and_a_disabled_telegram_stays_off_with_its_token() -> None:
    assert list(channels_from_settings(settings_with({}), FakeCRM())) == ["crm"]
    off = settings_with({"telegram": {"enabled": False, "bot_token": "${TELEGRAM_BOT_TOKEN}"}})
    assert list(channels_from_settings(off, FakeCRM())) == ["crm"]


def test_every_enabled_channel_is_built_under_its_name() -> None:
    settings = settings_with(
        {"crm": {"enabled": False}, "telegram": {"enabled": True, "bot_token": "${TELEGRAM_BOT_TOKEN}"}}
        | email("smtp.firm.ru", 587)
    )

    channels = channels_from_settings(settings, FakeCRM())

    assert {name: type(c).__name__ for name, c in channels.items()} == {
        "telegram": "TelegramBot",
        "email": "EmailSender",
    }


def test_the_crm_channel_in_task_mode_creates_a_task_for_the_recipient(store: Store) -> None:
    crm = FakeCRM()
    crm.add_user("8", "Олег Кузнецов")
    settings = settings_with({"crm": {"mode": "task"}})
    notifier = notifier_from_settings(settings, store, PORTAL, crm, clock=lambda: NOW)
    notifier.notify("lead_assigned", [OLEG], "Новый лид «Пилот»", key="la:1")

    assert notifier.flush(NOW).sent == 1

    assert crm.state.notifications == {}
    (task,) = crm.state.tasks.values()
    assert (task.title, task.description, task.responsible_user_id) == (
        "crm-bridge: Новый партнёрский лид",
        "Новый лид «Пилот»",
        "8",
    )


@responses.activate
def test_telegram_goes_to_the_configured_api_address_with_the_bot_token_metrics_and_shared_budget(
    store: Store,
) -> None:
    send = f"https://tg-proxy.firm.ru/bot{TOKEN}/sendMessage"
    responses.post(send, json={"ok": True, "result": {"message_id": 7}})
    settings = settings_with(
        {
            "crm": {"enabled": False},
            "telegram": {
                "enabled": True,
                "bot_token": "${TELEGRAM_BOT_TOKEN}",
                "base_url": "https://tg-proxy.firm.ru",
            },
        },
        locale="en",
    )
    requests: list[tuple[str, str, int]] = []
    seen: list[tuple[str, str]] = []
    notifier = notifier_from_settings(
        settings,
        store,
        PORTAL,
        FakeCRM(),
        clock=lambda: NOW,
        observe=lambda channel, outcome: seen.append((channel, outcome)),
        on_request=lambda *request: requests.append(request),
    )
    notifier.notify("lead_assigned", [OLEG], "New lead «Pilot»", key="la:1")
    before = time.time()

    assert notifier.flush(NOW).sent == 1

    (call,) = responses.calls
    assert call.request.url == send
    body = json.loads(call.request.body or b"")
    # locale: en in the config: the subject is English
    assert (body["chat_id"], body["text"]) == ("5008", "crm-bridge: New partner lead\nNew lead «Pilot»")
    assert requests == [("telegram", "POST sendMessage", 200)]
    assert seen == [("telegram", "sent")]
    # the message is counted in the bot's budget in the state store, shared by every process
    level = store.bucket.level("telegram:123/messages", drain_per_second=30, now=before)
    assert level == pytest.approx(1.0)


def test_notifications_are_written_in_the_configs_language_and_reach_the_directorys_addresses(
    store: Store,
) -> None:
    settings = settings_with({"crm": {"enabled": False}} | email("smtp.firm.ru", 587))
    notifier = notifier_from_settings(settings, store, PORTAL, FakeCRM(), clock=lambda: NOW)

    notifier.notify("tier_changed", [OLEG], "Золото", key="tc:1")

    (item,) = outbox(store)
    assert item.payload["subject"] == "crm-bridge: Уровень партнёра изменён"
    assert item.payload["recipient"]["email"] == "oleg@example.ru"


def test_the_head_of_sales_is_in_the_directory_too(store: Store) -> None:
    head = {"name": "Ирина Белова", "crm_user_id": 1, "email": "irina@example.ru"}
    settings = settings_with({"crm": {"enabled": False}} | email("smtp.firm.ru", 587), head=head)
    notifier = notifier_from_settings(settings, store, PORTAL, FakeCRM(), clock=lambda: NOW)

    # an escalation names the head as a CRM user (no addresses): the config completes it
    notifier.notify("lead_escalated", [Manager("head", "Ирина Белова", "1")], "Просрочен", key="le:1")

    assert [i.payload["recipient"]["email"] for i in outbox(store)] == ["irina@example.ru"]


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    with smtp_inbox() as box:
        yield box


def test_email_goes_to_the_configured_server_and_port_from_the_configured_sender(
    store: Store, inbox: Inbox
) -> None:
    # no login and no password configured: the server is used as an open relay inside the network
    settings = settings_with({"crm": {"enabled": False}} | email(inbox.host, inbox.port, security="none"))
    notifier = notifier_from_settings(settings, store, PORTAL, FakeCRM(), clock=lambda: NOW)
    notifier.notify("report_ready", [OLEG], "Отчёт за ноябрь готов", key="rr:1")
    (queued,) = outbox(store)

    assert notifier.flush(NOW).sent == 1

    (mail,) = inbox.messages
    assert (mail["From"], mail["To"]) == ("desk@firm.ru", "Олег Кузнецов <oleg@example.ru>")
    # the Message-ID names the outbox item, at the sender's domain
    assert mail["Message-ID"].endswith(f".{queued.id}@firm.ru>")
    assert inbox.envelopes == [("desk@firm.ru", ["oleg@example.ru"])]


def test_email_with_starttls_configured_is_never_sent_in_clear_to_a_server_without_it(
    store: Store, inbox: Inbox
) -> None:
    # security: starttls is the default; this server offers no STARTTLS
    settings = settings_with({"crm": {"enabled": False}} | email(inbox.host, inbox.port))
    notifier = notifier_from_settings(settings, store, PORTAL, FakeCRM(), clock=lambda: NOW)
    notifier.notify("report_ready", [OLEG], "Отчёт", key="rr:1")

    result = notifier.flush(NOW)

    assert (result.sent, result.retrying, inbox.messages) == (0, 1, [])
    (item,) = outbox(store)
    assert item.last_error == (
        f"smtp {inbox.host}:{inbox.port}: SMTPNotSupportedError: STARTTLS extension not supported by server."
    )


def test_email_over_starttls_logs_in_with_the_configured_user_and_password(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with tls_smtp_inbox(tmp_path) as server:
        # the test certificate stands in for the system's trust store the wired channel uses
        monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "cert.pem"))
        options = {"security": "starttls", "username": SMTP_USER, "password": "${SMTP_PASSWORD}"}
        settings = settings_with({"crm": {"enabled": False}} | email(server.host, server.port, **options))
        notifier = notifier_from_settings(settings, store, PORTAL, FakeCRM(), clock=lambda: NOW)
        notifier.notify("report_ready", [OLEG], "Отчёт", key="rr:1")

        assert notifier.flush(NOW).sent == 1

        assert [m["To"] for m in server.messages] == ["Олег Кузнецов <oleg@example.ru>"]


class Logins:
    """An SMTP server's authenticator that accepts any login and remembers it."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        assert isinstance(data, LoginPassword)
        self.seen.append((data.login.decode(), data.password.decode()))
        return AuthResult(success=True)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_a_login_without_a_password_sends_an_empty_one(store: Store) -> None:
    logins = Logins()
    box = Inbox("127.0.0.1", free_port())
    server = Controller(box, hostname=box.host, port=box.port, authenticator=logins, auth_require_tls=False)
    server.start()
    try:
        options = {"security": "none", "username": "relay-user"}
        settings = settings_with({"crm": {"enabled": False}} | email(box.host, box.port, **options))
        notifier = notifier_from_settings(settings, store, PORTAL, FakeCRM(), clock=lambda: NOW)
        notifier.notify("report_ready", [OLEG], "Отчёт", key="rr:1")

        assert notifier.flush(NOW).sent == 1
    finally:
        server.stop()
    assert logins.seen == [("relay-user", "")]


@contextmanager
def mute_server() -> Iterator[int]:
    """A port that accepts connections and never greets; each is dropped after 2 s."""
    listener = socket.create_server(("127.0.0.1", 0))
    timers: list[threading.Timer] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            timers.append(threading.Timer(2.0, conn.close))
            timers[-1].start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        listener.close()
        for timer in timers:
            timer.cancel()


def test_an_smtp_server_that_does_not_greet_is_given_up_after_the_configured_timeout(store: Store) -> None:
    with mute_server() as port:
        options = {"security": "none", "timeout": 0.2}
        settings = settings_with({"crm": {"enabled": False}} | email("127.0.0.1", port, **options))
        notifier = notifier_from_settings(settings, store, PORTAL, FakeCRM(), clock=lambda: NOW)
        notifier.notify("report_ready", [OLEG], "Отчёт", key="rr:1")

        assert notifier.flush(NOW).retrying == 1

    # the 0.2 s timeout, not the server dropping the connection after 2 s
    (item,) = outbox(store)
    assert item.last_error == (
        f"smtp 127.0.0.1:{port}: SMTPServerDisconnected: Connection unexpectedly closed: timed out"
    )
