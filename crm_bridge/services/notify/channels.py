"""Delivery channels of the notification outbox: CRM-native (a notification through the adapter's
``NotificationSink``, or a task through its ``TaskSink``), the Telegram Bot API (``notify.telegram``)
and e-mail over SMTP. Each channel takes a batch of messages and answers one ``Delivery`` per message;
it never raises (a failure is a Delivery)."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from crm_bridge.errors import CrmBridgeError, CrmRetriableError
from crm_bridge.ports import NotificationDraft, NotificationSink, TaskDraft, TaskSink
from crm_bridge.redaction import redact
from crm_bridge.services.notify.message import SENT, Channel, Delivery, Message
from crm_bridge.services.notify.telegram import TelegramBot

__all__ = [
    "SENT",
    "Channel",
    "CrmNotifications",
    "Delivery",
    "EmailSender",
    "Message",
    "SmtpSettings",
    "TelegramBot",
]


class CrmNotifications:
    """The CRM's own bell notification (``mode: notification``) or a task (``mode: task``), batched
    through the adapter and idempotent by the outbox key."""

    name = "crm"

    def __init__(
        self,
        notifications: NotificationSink,
        *,
        tasks: TaskSink | None = None,
        mode: str = "notification",
        task_due: timedelta = timedelta(days=1),
    ):
        self._notifications = notifications
        # an adapter is both sinks as a rule; a separate task sink may be given
        self._tasks = (
            tasks if tasks is not None else notifications if isinstance(notifications, TaskSink) else None
        )
        if mode == "task" and self._tasks is None:
            raise ValueError("the crm channel in task mode needs a TaskSink")
        self._mode = mode
        self._task_due = task_due

    def deliver(self, messages: Sequence[Message], now: datetime) -> list[Delivery]:
        if not messages:
            return []
        try:
            if self._mode == "task" and self._tasks is not None:
                outcomes = self._tasks.create_tasks(
                    [
                        TaskDraft(m.key, m.subject[:255], m.text, m.crm_user_id, now + self._task_due)
                        for m in messages
                    ]
                )
            else:
                outcomes = self._notifications.send_notifications(
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
