"""Delivery channels of the notification outbox: CRM-native (a notification or a task through the
adapter's ``TaskSink``), the Telegram Bot API and e-mail over SMTP. Each channel takes a batch of
messages and answers one ``Delivery`` per message; it never raises (a failure is a Delivery)."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any, Protocol

import requests

from crm_bridge.errors import CrmBridgeError, CrmRetriableError
from crm_bridge.ports import NotificationDraft, TaskDraft, TaskSink
from crm_bridge.redaction import redact

TELEGRAM_TEXT_LIMIT = 4096  # sendMessage: "1-4096 characters after entities parsing"


@dataclass(frozen=True, slots=True)
class Message:
    """One queued notification to one recipient through one channel."""

    outbox_id: int
    key: str  # the outbox idempotency key: also the CRM external id of the notification/task
    event: str
    subject: str
    text: str
    name: str
    crm_user_id: str = ""
    email: str = ""
    telegram_chat_id: str = ""


@dataclass(frozen=True, slots=True)
class Delivery:
    """What happened to one message. ``permanent`` failures are not retried; ``retry_after`` is the
    wait the other side asked for (seconds)."""

    ok: bool
    error: str = ""
    permanent: bool = False
    retry_after: float | None = None
    detail: dict[str, Any] | None = None


SENT = Delivery(True)


class Channel(Protocol):
    name: str

    def deliver(self, messages: Sequence[Message], now: datetime) -> list[Delivery]:
        """One Delivery per message, in order. Never raises."""
        ...


class CrmNotifications:
    """The CRM's own bell notification (``mode: notification``) or a task (``mode: task``), batched
    through the adapter and idempotent by the outbox key."""

    name = "crm"

    def __init__(
        self, sink: TaskSink, *, mode: str = "notification", task_due: timedelta = timedelta(days=1)
    ):
        self._sink = sink
        self._mode = mode
        self._task_due = task_due

    def deliver(self, messages: Sequence[Message], now: datetime) -> list[Delivery]:
        if not messages:
            return []
        try:
            if self._mode == "task":
                outcomes = self._sink.create_tasks(
                    [
                        TaskDraft(m.key, m.subject[:255], m.text, m.crm_user_id, now + self._task_due)
                        for m in messages
                    ]
                )
            else:
                outcomes = self._sink.send_notifications(
                    [NotificationDraft(m.key, m.crm_user_id, f"{m.subject}\n{m.text}") for m in messages]
                )
        except CrmRetriableError as exc:
            failed = Delivery(False, redact(str(exc)), retry_after=exc.retry_after)
            return [failed for _ in messages]
        except CrmBridgeError as exc:  # credentials, permissions: fixable, so retried with back-off
            return [Delivery(False, redact(str(exc))) for _ in messages]
        return [
            Delivery(True, detail={"crm_id": o.crm_id})
            if o.ok
            else Delivery(False, redact(o.error or "refused"))
            for o in outcomes
        ]


class TelegramBot:
    """``POST {base_url}/bot<token>/sendMessage`` per message (https://core.telegram.org/bots/api).
    The token is part of the URL path, so it is masked out of every error this channel reports."""

    name = "telegram"

    def __init__(
        self,
        token: str,
        *,
        base_url: str = "https://api.telegram.org",
        session: requests.Session | None = None,
        timeout: tuple[float, float] = (5.0, 20.0),
    ) -> None:
        self._token = token
        self._base = base_url.rstrip("/")
        self._session = session or requests.Session()
        self._timeout = timeout

    def _clean(self, text: str) -> str:
        return redact(text.replace(self._token, "***") if self._token else text)

    def deliver(self, messages: Sequence[Message], now: datetime) -> list[Delivery]:
        return [self._send(m) for m in messages]

    def _send(self, message: Message) -> Delivery:
        body = {
            "chat_id": message.telegram_chat_id,
            "text": f"{message.subject}\n{message.text}"[:TELEGRAM_TEXT_LIMIT],
            "disable_web_page_preview": True,
        }
        url = f"{self._base}/bot{self._token}/sendMessage"
        try:
            response = self._session.post(url, json=body, timeout=self._timeout)
        except requests.RequestException as exc:
            return Delivery(False, self._clean(f"telegram: {type(exc).__name__}: {exc}")[:300])
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if response.status_code == 200 and answer.get("ok"):
            message_id = (answer.get("result") or {}).get("message_id")
            return Delivery(True, detail={"message_id": message_id})
        status = int(answer.get("error_code") or response.status_code)
        description = self._clean(str(answer.get("description") or f"HTTP {response.status_code}"))[:300]
        error = f"telegram answered {status}: {description}"
        if status == 429:
            wait = (answer.get("parameters") or {}).get("retry_after")
            return Delivery(False, error, retry_after=float(wait) if wait is not None else None)
        # 400 (chat not found, bad text) and 403 (bot blocked by the user) will not change by waiting;
        # 401/404 (a wrong or revoked token) is fixed in the config, after which the retry goes through.
        return Delivery(False, error, permanent=status in (400, 403))


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 587
    security: str = "starttls"  # starttls | ssl | none
    username: str = ""
    password: str = ""
    sender: str = ""
    timeout: float = 30.0
    ssl_context: ssl.SSLContext | None = None  # default: the system's trust store


class EmailSender:
    """E-mail through one SMTP connection per batch (``smtplib``, STARTTLS or SSL when configured)."""

    name = "email"

    def __init__(
        self, settings: SmtpSettings, *, connect: Callable[[SmtpSettings], smtplib.SMTP] | None = None
    ) -> None:
        self._s = settings
        self._connect = connect or _connect

    def _clean(self, text: str) -> str:
        return redact(text.replace(self._s.password, "***") if self._s.password else text)

    def deliver(self, messages: Sequence[Message], now: datetime) -> list[Delivery]:
        if not messages:
            return []
        try:
            smtp = self._connect(self._s)
        except (OSError, smtplib.SMTPException) as exc:
            failed = Delivery(
                False, self._clean(f"smtp {self._s.host}:{self._s.port}: {type(exc).__name__}: {exc}")
            )
            return [failed for _ in messages]
        try:
            return [self._send(smtp, m) for m in messages]
        finally:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()

    def _send(self, smtp: smtplib.SMTP, message: Message) -> Delivery:
        mail = EmailMessage()
        mail["From"] = self._s.sender
        try:
            mail["To"] = formataddr((message.name, message.email)) if message.name else message.email
            Address(addr_spec=message.email)
        except (ValueError, IndexError) as exc:
            return Delivery(False, f"not an e-mail address: {type(exc).__name__}", permanent=True)
        mail["Subject"] = message.subject
        domain = self._s.sender.rpartition("@")[2] or None
        mail["Message-ID"] = make_msgid(idstring=str(message.outbox_id), domain=domain)
        mail.set_content(message.text)
        try:
            smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            return Delivery(
                False, f"smtp refused the recipient ({codes})", permanent=all(c >= 500 for c in codes)
            )
        except smtplib.SMTPResponseException as exc:
            text = self._clean(f"smtp answered {exc.smtp_code}: {exc.smtp_error!r}")[:300]
            return Delivery(False, text, permanent=exc.smtp_code >= 500)
        except (OSError, smtplib.SMTPException) as exc:
            return Delivery(False, self._clean(f"smtp: {type(exc).__name__}: {exc}")[:300])
        return Delivery(True, detail={"message_id": mail["Message-ID"]})


def _connect(s: SmtpSettings) -> smtplib.SMTP:
    context = s.ssl_context or ssl.create_default_context()
    smtp: smtplib.SMTP
    if s.security == "ssl":
        smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=context)
    else:
        smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
    try:
        smtp.ehlo()
        if s.security == "starttls":
            smtp.starttls(context=context)
            smtp.ehlo()
        if s.username:
            smtp.login(s.username, s.password)
    except BaseException:
        smtp.close()
        raise
    return smtp
