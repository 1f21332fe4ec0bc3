"""How each notification channel reports one batch, in-process: the CRM's bell or task (the CRM busy,
refusing, or refusing one message), and e-mail over a stand-in SMTP connection (a recipient refused
for good or for now, a server error, a dropped connection, an address that is none, a server that
cannot be reached) — what is retried, what is given up, and that no secret reaches the error."""

from __future__ import annotations

import smtplib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest

from crm_bridge.errors import AuthError
from crm_bridge.fake import FakeClock, FakeCRM
from crm_bridge.ports import WriteOutcome
from crm_bridge.redaction import redact
from crm_bridge.services.notify.channels import CrmNotifications, EmailSender, SmtpSettings
from crm_bridge.services.notify.message import Delivery, Message

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def message(n: int = 1, **kw: Any) -> Message:
    values: dict[str, Any] = {
        "outbox_id": n,
        "key": f"note:{n}",
        "event": "lead_assigned",
        "subject": "Новый лид",
        "text": "ООО Ромашка",
        "name": "Олег",
        "crm_user_id": "8",
        "email": "oleg@example.ru",
    }
    return Message(**{**values, **kw})


@pytest.fixture
def crm(fake_clock: FakeClock) -> FakeCRM:
    fake = FakeCRM(clock=fake_clock)
    fake.add_user("8", "Олег")
    return fake


def test_the_crm_bell_carries_subject_and_text_and_a_task_is_due_after_the_set_time(crm: FakeCRM) -> None:
    bell = CrmNotifications(crm)
    assert bell.deliver([], NOW) == []
    (sent,) = bell.deliver([message()], NOW)
    assert sent.ok and sent.detail is not None and sent.detail["crm_id"]
    (note,) = crm.state.notifications.values()
    assert (note.message, note.user_id, note.external_id) == ("Новый лид\nООО Ромашка", "8", "note:1")

    task = CrmNotifications(crm, mode="task", task_due=timedelta(hours=4))
    (done,) = task.deliver([message(2, subject="x" * 300)], NOW)
    assert done.ok
    (made,) = crm.state.tasks.values()
    assert (made.title, made.description, made.responsible_user_id) == ("x" * 255, "ООО Ромашка", "8")
    assert made.deadline == NOW + timedelta(hours=4) and made.external_id == "note:2"


def test_task_mode_needs_a_task_sink() -> None:
    class BellOnly:
        def send_notifications(self, drafts: Sequence[Any]) -> list[Any]:
            return []

    with pytest.raises(ValueError) as caught:
        CrmNotifications(BellOnly(), mode="task")  # type: ignore[arg-type]
    assert str(caught.value) == "the crm channel in task mode needs a TaskSink"


def test_a_busy_crm_is_retried_after_its_wait_and_a_refusing_one_later(crm: FakeCRM) -> None:
    bell = CrmNotifications(crm)
    crm.failures.fail_next("rate_limit", method="send_notifications")
    busy = bell.deliver([message(1), message(2)], NOW)
    assert busy == [Delivery(False, "injected rate limit on send_notifications", retry_after=1.0)] * 2

    class Refusing:
        def send_notifications(self, drafts: Sequence[Any]) -> list[Any]:
            raise AuthError("the webhook token https://b24.example.ru/rest/1/abcdef123456/ is revoked")

    refused = CrmNotifications(Refusing()).deliver([message()], NOW)  # type: ignore[arg-type]
    assert refused == [
        Delivery(False, redact("the webhook token https://b24.example.ru/rest/1/abcdef123456/ is revoked"))
    ]
    assert "abcdef123456" not in refused[0].error and refused[0].error


def test_a_message_the_crm_refuses_fails_alone(crm: FakeCRM) -> None:
    got = CrmNotifications(crm).deliver([message(1), message(2, crm_user_id="404")], NOW)
    assert got[0].ok is True and got[1].ok is False and not got[1].permanent
    assert "404" in got[1].error

    class Silent:
        def send_notifications(self, drafts: Sequence[Any]) -> list[WriteOutcome]:
            return [WriteOutcome(d.external_id, None, error="") for d in drafts]

    assert CrmNotifications(Silent()).deliver([message()], NOW) == [Delivery(False, "refused")]  # type: ignore[arg-type]


class Smtp:
    """An SMTP connection that answers each send_message from a script."""

    def __init__(self, *answers: Exception | None, quit_fails: bool = False) -> None:
        self.answers = list(answers)
        self.sent: list[EmailMessage] = []
        self.quit_fails, self.closed = quit_fails, False

    def send_message(self, mail: EmailMessage) -> None:
        answer = self.answers.pop(0) if self.answers else None
        if answer is not None:
            raise answer
        self.sent.append(mail)

    def quit(self) -> None:
        if self.quit_fails:
            raise smtplib.SMTPServerDisconnected("gone")
        self.closed = True

    def close(self) -> None:
        self.closed = True


SMTP = SmtpSettings(
    "smtp.example.ru", 587, username="bridge", password="Secr3t-pass", sender="bridge@example.ru"
)


def sender(smtp: Smtp) -> EmailSender:
    return EmailSender(SMTP, connect=lambda s: smtp)  # type: ignore[arg-type,return-value]


def test_an_email_is_addressed_by_name_with_a_message_id_of_the_senders_domain() -> None:
    smtp = Smtp()
    (sent,) = sender(smtp).deliver([message(7)], NOW)
    (mail,) = smtp.sent
    assert mail["From"] == "bridge@example.ru" and mail["To"] == "Олег <oleg@example.ru>"
    assert mail["Subject"] == "Новый лид" and mail.get_content().strip() == "ООО Ромашка"
    assert mail["Message-ID"].startswith("<") and mail["Message-ID"].endswith(".7@example.ru>")
    assert sent == Delivery(True, detail={"message_id": mail["Message-ID"]})
    assert smtp.closed
    smtp = Smtp()
    sender(smtp).deliver([message(8, name="")], NOW)
    assert smtp.sent[0]["To"] == "oleg@example.ru"
    assert EmailSender(SMTP, connect=lambda s: Smtp()).deliver([], NOW) == []  # type: ignore[arg-type,return-value]


def test_each_smtp_answer_is_retried_or_given_up_as_it_says() -> None:
    smtp = Smtp(
        smtplib.SMTPRecipientsRefused({"oleg@example.ru": (550, b"no such user")}),
        smtplib.SMTPRecipientsRefused({"oleg@example.ru": (450, b"mailbox busy")}),
        smtplib.SMTPDataError(554, b"spam"),
        smtplib.SMTPDataError(451, b"try later, Secr3t-pass"),
        smtplib.SMTPServerDisconnected("connection lost"),
        quit_fails=True,
    )
    got = sender(smtp).deliver([message(i) for i in range(6)], NOW)
    assert got[:5] == [
        Delivery(False, "smtp refused the recipient ([550])", permanent=True),
        Delivery(False, "smtp refused the recipient ([450])", permanent=False),
        Delivery(False, "smtp answered 554: b'spam'", permanent=True),
        Delivery(False, "smtp answered 451: b'try later, ***'", permanent=False),
        Delivery(False, "smtp: SMTPServerDisconnected: connection lost"),
    ]
    assert got[5].ok and smtp.closed  # quit failed: the connection is closed all the same


def test_an_address_that_is_none_is_given_up() -> None:
    (got,) = sender(Smtp()).deliver([message(email="not an address")], NOW)
    assert got == Delivery(False, "not an e-mail address: InvalidHeaderDefect", permanent=True)


def test_an_smtp_server_that_cannot_be_reached_fails_the_whole_batch_without_the_password() -> None:
    def refuse(s: SmtpSettings) -> smtplib.SMTP:
        raise smtplib.SMTPAuthenticationError(535, b"bad password Secr3t-pass")

    got = EmailSender(SMTP, connect=refuse).deliver([message(1), message(2)], NOW)
    assert len(got) == 2 and got[0] == got[1] and got[0].ok is False and not got[0].permanent
    assert got[0].error.startswith("smtp smtp.example.ru:587: SMTPAuthenticationError: ")
    assert "Secr3t-pass" not in got[0].error and "***" in got[0].error


def test_without_a_password_an_smtp_error_is_shown_as_it_came() -> None:
    smtp = Smtp(smtplib.SMTPDataError(554, b"spam"))
    plain = EmailSender(
        SmtpSettings("relay.firm.ru", 25, security="none", sender="b@firm.ru"), connect=lambda s: smtp
    )  # type: ignore[arg-type,return-value]
    assert plain.deliver([message()], NOW) == [Delivery(False, "smtp answered 554: b'spam'", permanent=True)]


def test_a_500_answer_is_final_and_a_long_error_is_cut_to_300_characters() -> None:
    smtp = Smtp(
        smtplib.SMTPRecipientsRefused({"oleg@example.ru": (500, b"syntax")}),
        smtplib.SMTPDataError(500, b"syntax"),
        smtplib.SMTPDataError(421, b"x" * 400),
        smtplib.SMTPServerDisconnected("y" * 400),
    )
    got = sender(smtp).deliver([message(i) for i in range(4)], NOW)
    assert [d.permanent for d in got] == [True, True, False, False]
    assert [len(d.error) for d in got[2:]] == [300, 300]


def test_the_message_id_is_of_the_sender_addresses_domain_whatever_its_display_name() -> None:
    smtp = Smtp()
    named = SmtpSettings("smtp.firm.ru", 587, sender='"Sales @ Firm" <noreply@firm.ru>')

    EmailSender(named, connect=lambda s: smtp).deliver([message(7)], NOW)  # type: ignore[arg-type,return-value]

    (mail,) = smtp.sent
    assert mail["From"] == '"Sales @ Firm" <noreply@firm.ru>'
    assert mail["Message-ID"].endswith(".7@firm.ru>")
