"""Notification channels end to end through the outbox: the Telegram Bot API (replayed with
``responses``) and e-mail to a local SMTP server (plain, and STARTTLS + AUTH)."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import responses
from notify_fixtures import (
    SMTP_PASSWORD,
    SMTP_USER,
    Inbox,
    free_port,
    smtp_inbox,
    ssl_smtp_inbox,
    tls_smtp_inbox,
)

from crm_bridge.cli.output import configure_logging
from crm_bridge.domain.model import Curator
from crm_bridge.services.notify.channels import EmailSender, Message, SmtpSettings, TelegramBot
from crm_bridge.services.notify.notifier import KIND, Notifier, Routing
from crm_bridge.store import Store

PORTAL = "fake:notify"
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
TOKEN = "123456:AAE-secret-bot-token"
TG = "https://tg.test"
ANNA = Curator("anna", "Анна Смирнова", "11", email="anna@example.ru", telegram_chat_id="5001")
ALL = Routing({}, ("telegram", "email"), frozenset({"crm", "telegram", "email"}))


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    with smtp_inbox() as box:
        yield box


@pytest.fixture
def tls_inbox(tmp_path: Path) -> Iterator[Inbox]:
    with tls_smtp_inbox(tmp_path) as box:
        yield box


# aiosmtpd warns that AUTH is offered without STARTTLS; over implicit TLS the whole session is encrypted
IMPLICIT_TLS = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


@pytest.fixture
def ssl_inbox(tmp_path: Path) -> Iterator[Inbox]:
    with ssl_smtp_inbox(tmp_path) as box:
        yield box


def only(channel: str) -> Routing:
    return Routing({}, (channel,), frozenset({channel}))


def notifier(store: Store, routing: Routing, **channels: Any) -> Notifier:
    return Notifier(store, PORTAL, routing, channels, clock=lambda: NOW, locale="en")


def outbox(store: Store) -> list[Any]:
    return store.due(PORTAL, KIND, now=NOW + timedelta(days=365))


def sent_to_telegram() -> list[dict[str, Any]]:
    return [json.loads(call.request.body) for call in responses.calls]


@responses.activate
def test_telegram_posts_send_message_to_the_bot_with_the_chat_and_text(store: Store) -> None:
    responses.post(f"{TG}/bot{TOKEN}/sendMessage", json={"ok": True, "result": {"message_id": 77}})
    n = notifier(store, only("telegram"), telegram=TelegramBot(TOKEN, base_url=TG))
    n.notify("lead_escalated", [ANNA], "Lead «Пилот» is overdue since 12:00", key="le:9")

    result = n.flush(NOW)

    assert result.sent == 1
    (body,) = sent_to_telegram()
    assert body["chat_id"] == "5001"
    assert body["text"] == "crm-bridge: Overdue partner lead\nLead «Пилот» is overdue since 12:00"


@responses.activate
def test_telegram_flood_control_is_retried_after_the_wait_it_asks_for(store: Store) -> None:
    too_many = {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 600",
        "parameters": {"retry_after": 600},
    }
    responses.post(f"{TG}/bot{TOKEN}/sendMessage", status=429, json=too_many)
    responses.post(f"{TG}/bot{TOKEN}/sendMessage", json={"ok": True, "result": {"message_id": 1}})
    n = notifier(store, only("telegram"), telegram=TelegramBot(TOKEN, base_url=TG))
    n.notify("sync_failed", [ANNA], "Sync failed", key="sf:1")

    first = n.flush(NOW)
    (waiting,) = outbox(store)
    second = n.flush(NOW + timedelta(seconds=600))

    assert first.retrying == 1 and second.sent == 1
    assert waiting.next_attempt_at == NOW + timedelta(seconds=600)
    assert "429" in (waiting.last_error or "")


@responses.activate
def test_a_chat_the_bot_cannot_reach_is_given_up_and_the_token_never_reaches_the_error(store: Store) -> None:
    answer = {"ok": False, "error_code": 400, "description": f"Bad Request: chat not found (bot{TOKEN})"}
    responses.post(f"{TG}/bot{TOKEN}/sendMessage", status=400, json=answer)
    n = notifier(store, only("telegram"), telegram=TelegramBot(TOKEN, base_url=TG))
    n.notify("sync_failed", [ANNA], "Sync failed", key="sf:1")

    result = n.flush(NOW)

    assert result.failed == 1
    item = store.outbox.get(1)
    assert item is not None and item.status == "failed"
    assert "chat not found" in (item.last_error or "")
    assert TOKEN not in (item.last_error or "") and "AAE-secret" not in (item.last_error or "")


def test_telegram_unreachable_is_retried_without_leaking_the_token(store: Store) -> None:
    port = free_port()  # nothing listens there
    n = notifier(store, only("telegram"), telegram=TelegramBot(TOKEN, base_url=f"http://127.0.0.1:{port}"))
    n.notify("sync_failed", [ANNA], "Sync failed", key="sf:1")

    result = n.flush(NOW)

    assert result.retrying == 1
    (item,) = outbox(store)
    assert "ConnectionError" in (item.last_error or "")
    assert TOKEN not in (item.last_error or "")


def test_email_arrives_with_subject_recipient_and_utf8_text(store: Store, inbox: Inbox) -> None:
    sender = EmailSender(SmtpSettings(inbox.host, inbox.port, security="none", sender="bridge@example.ru"))
    n = notifier(store, only("email"), email=sender)
    n.notify("tier_changed", [ANNA], "ООО «Ромашка» теперь Золотой партнёр", key="tc:1")

    result = n.flush(NOW)

    assert result.sent == 1
    (mail,) = inbox.messages
    assert mail["Subject"] == "crm-bridge: Partner tier changed"
    assert mail["To"] == "Анна Смирнова <anna@example.ru>"
    assert mail.get_content().strip() == "ООО «Ромашка» теперь Золотой партнёр"
    assert inbox.envelopes == [("bridge@example.ru", ["anna@example.ru"])]


def test_a_sender_with_a_display_name_gives_a_clean_message_id(store: Store, inbox: Inbox) -> None:
    settings = SmtpSettings(inbox.host, inbox.port, security="none", sender="Partner desk <desk@firm.ru>")
    n = notifier(store, only("email"), email=EmailSender(settings))
    n.notify("tier_changed", [ANNA], "text", key="tc:2")

    assert n.flush(NOW).sent == 1

    (mail,) = inbox.messages
    assert mail["From"] == "Partner desk <desk@firm.ru>"
    assert re.fullmatch(r"<[^<>@\s]+@firm\.ru>", mail["Message-ID"]), mail["Message-ID"]


def test_email_over_starttls_with_login_is_delivered(store: Store, tls_inbox: Inbox) -> None:
    settings = SmtpSettings(
        tls_inbox.host,
        tls_inbox.port,
        security="starttls",
        username=SMTP_USER,
        password=SMTP_PASSWORD,
        sender=SMTP_USER,
        ssl_context=tls_inbox.client_context,
    )
    n = notifier(store, only("email"), email=EmailSender(settings))
    n.notify("report_ready", [ANNA], "November report is ready", key="rr:1")

    assert n.flush(NOW).sent == 1
    assert [m["Subject"] for m in tls_inbox.messages] == ["crm-bridge: Report ready"]


@IMPLICIT_TLS
def test_email_over_implicit_tls_with_login_is_delivered(store: Store, ssl_inbox: Inbox) -> None:
    # security: ssl (port 465 style): TLS from the first byte, the certificate checked against the
    # context given (here the test CA; by default the system's), then the login
    settings = SmtpSettings(
        ssl_inbox.host,
        ssl_inbox.port,
        security="ssl",
        username=SMTP_USER,
        password=SMTP_PASSWORD,
        sender=SMTP_USER,
        ssl_context=ssl_inbox.client_context,
    )
    n = notifier(store, only("email"), email=EmailSender(settings))
    n.notify("report_ready", [ANNA], "November report is ready", key="rr:1")

    assert n.flush(NOW).sent == 1
    assert [m["Subject"] for m in ssl_inbox.messages] == ["crm-bridge: Report ready"]
    assert ssl_inbox.envelopes == [(SMTP_USER, ["anna@example.ru"])]


@IMPLICIT_TLS
def test_an_smtps_certificate_the_context_does_not_trust_is_retried_and_nothing_is_sent(
    store: Store, ssl_inbox: Inbox
) -> None:
    settings = SmtpSettings(
        ssl_inbox.host,
        ssl_inbox.port,
        security="ssl",
        username=SMTP_USER,
        password=SMTP_PASSWORD,
        sender=SMTP_USER,
    )  # no context: the system's trust store, which does not know the test certificate
    n = notifier(store, only("email"), email=EmailSender(settings))
    n.notify("report_ready", [ANNA], "November report is ready", key="rr:1")

    result = n.flush(NOW)

    assert result.sent == 0 and result.retrying == 1 and ssl_inbox.messages == []
    (item,) = outbox(store)
    assert "certificate" in (item.last_error or "").lower()
    assert SMTP_PASSWORD not in (item.last_error or "")


def test_a_wrong_smtp_password_is_retried_and_never_written_into_the_error(
    store: Store, tls_inbox: Inbox
) -> None:
    settings = SmtpSettings(
        tls_inbox.host,
        tls_inbox.port,
        username=SMTP_USER,
        password="wrong-pass-123",
        sender=SMTP_USER,
        ssl_context=tls_inbox.client_context,
    )
    n = notifier(store, only("email"), email=EmailSender(settings))
    n.notify("report_ready", [ANNA], "November report is ready", key="rr:1")

    result = n.flush(NOW)

    assert result.retrying == 1 and tls_inbox.messages == []
    (item,) = outbox(store)
    assert "wrong-pass-123" not in (item.last_error or "")
    assert "535" in (item.last_error or "")  # the server's "authentication failed"


def test_an_smtp_server_that_is_down_gets_the_mail_once_it_is_back(store: Store) -> None:
    with smtp_inbox() as gone:
        host, port = gone.host, gone.port  # stopped again at once: nothing listens there now
    down = EmailSender(SmtpSettings(host, port, security="none", sender="bridge@example.ru", timeout=5))
    n = notifier(store, only("email"), email=down)
    n.notify("report_ready", [ANNA], "November report is ready", key="rr:1")

    assert n.flush(NOW).retrying == 1
    with smtp_inbox() as back:  # the daemon's next run, with the server up again
        up = EmailSender(SmtpSettings(back.host, back.port, security="none", sender="bridge@example.ru"))
        result = notifier(store, only("email"), email=up).flush(NOW + timedelta(minutes=5))
        assert result.sent == 1 and len(back.messages) == 1


@responses.activate
def test_one_flush_delivers_each_channel_its_own_messages(store: Store, inbox: Inbox) -> None:
    responses.post(f"{TG}/bot{TOKEN}/sendMessage", json={"ok": True, "result": {"message_id": 5}})
    sender = EmailSender(SmtpSettings(inbox.host, inbox.port, security="none", sender="bridge@example.ru"))
    n = notifier(store, ALL, telegram=TelegramBot(TOKEN, base_url=TG), email=sender)
    n.notify("new_partner", [ANNA], "Welcome ООО Вектор", key="np:1")

    result = n.flush(NOW)

    assert result.by_channel == {"telegram": 1, "email": 1}
    assert len(inbox.messages) == 1 and len(responses.calls) == 1


class _BotApi(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b'{"ok": true, "result": {"message_id": 1}}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        return


def test_debug_logs_of_a_real_telegram_request_never_show_the_bot_token(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _BotApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    configure_logging(None, log_format="text", verbose=1)  # what `crm-bridge -v` sets up
    try:
        bot = TelegramBot(TOKEN, base_url=f"http://127.0.0.1:{server.server_address[1]}")
        n = notifier(store, only("telegram"), telegram=bot)
        n.notify("sync_failed", [ANNA], "Sync failed", key="sf:1")
        assert n.flush(NOW).sent == 1
    finally:
        server.shutdown()
        server.server_close()
        configure_logging(None, log_format="text", verbose=0)

    err = capsys.readouterr().err
    assert "/bot***/sendMessage" in err  # urllib3 logged the request line, redacted
    assert TOKEN not in err and "AAE-secret" not in err


def test_a_starttls_certificate_the_context_does_not_trust_is_retried_and_nothing_is_sent(
    store: Store, tls_inbox: Inbox
) -> None:
    settings = SmtpSettings(
        tls_inbox.host,
        tls_inbox.port,
        security="starttls",
        username=SMTP_USER,
        password=SMTP_PASSWORD,
        sender=SMTP_USER,
    )  # no context: the system's trust store, which does not know the test certificate
    n = notifier(store, only("email"), email=EmailSender(settings))
    n.notify("report_ready", [ANNA], "November report is ready", key="rr:1")

    result = n.flush(NOW)

    assert result.sent == 0 and result.retrying == 1 and tls_inbox.messages == []
    (item,) = outbox(store)
    assert (item.last_error or "").startswith(
        f"smtp {tls_inbox.host}:{tls_inbox.port}: SSLCertVerificationError: "
    )


SILENT_DROP = 10.0  # well under the 30-s default timeout, far over the 0.1 s the test sets, even under load


@contextmanager
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and says nothing (no SMTP greeting, no TLS handshake);
    each connection is dropped after ``SILENT_DROP`` seconds so that a client without a timeout is not
    stuck forever (its error then says the connection was closed, not that it timed out)."""
    listener = socket.create_server(("127.0.0.1", 0))
    dropping: list[tuple[socket.socket, threading.Timer]] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            timer = threading.Timer(SILENT_DROP, conn.close)
            timer.start()
            dropping.append((conn, timer))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        listener.close()
        for conn, timer in dropping:
            timer.cancel()
            conn.close()


@pytest.mark.parametrize(
    ("security", "error"),
    [
        ("none", "SMTPServerDisconnected: Connection unexpectedly closed: timed out"),  # no greeting
        ("ssl", "TimeoutError: "),  # no TLS handshake: "_ssl.c:NNN: The handshake operation timed out"
    ],
)
def test_an_smtp_server_that_does_not_answer_fails_after_the_timeout_set(security: str, error: str) -> None:
    message = Message(1, "rr:1", "report_ready", "Report ready", "Ready", "Анна", email="anna@firm.ru")
    with silent_server() as port:
        settings = SmtpSettings("127.0.0.1", port, security=security, sender="b@firm.ru", timeout=0.1)
        started = time.monotonic()

        (got,) = EmailSender(settings).deliver([message], NOW)

        assert time.monotonic() - started < SILENT_DROP  # the client gave up, the server did not drop it
    assert (got.ok, got.permanent) == (False, False)
    assert got.error.startswith(f"smtp 127.0.0.1:{port}: {error}") and got.error.endswith("timed out")
