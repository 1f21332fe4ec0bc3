"""Helpers for the notification tests: a local SMTP server (aiosmtpd), plain, requiring STARTTLS, or
over implicit TLS (with a throw-away self-signed certificate), and AUTH. Tests wrap them in their own
fixtures."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

PORTAL = "fake:notify"
SMTP_USER = "bridge@example.ru"
SMTP_PASSWORD = "s3cr3t-smtp-pass"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Inbox:
    """What the local SMTP server received."""

    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    client_context: ssl.SSLContext | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        return "250 OK"


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login.decode() == SMTP_USER
        and auth_data.password.decode() == SMTP_PASSWORD
    )
    return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535 itself


@contextmanager
def smtp_inbox() -> Iterator[Inbox]:
    """A plain SMTP server (no TLS, no AUTH) on a free local port."""
    with _served(Inbox("127.0.0.1", free_port())) as inbox:
        yield inbox


@contextmanager
def _served(inbox: Inbox, **controller: Any) -> Iterator[Inbox]:
    """``inbox`` served by an aiosmtpd controller on its host and port (``controller``: its options)."""
    server = Controller(inbox, hostname=inbox.host, port=inbox.port, **controller)
    server.start()
    yield inbox
    server.stop()


def _self_signed(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A throw-away certificate for 127.0.0.1: the server's context, and a client's that trusts it."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    return server_ctx, ssl.create_default_context(cafile=str(cert))


@contextmanager
def tls_smtp_inbox(tmp_path: Path) -> Iterator[Inbox]:
    """An SMTP server that requires STARTTLS and then AUTH (login SMTP_USER / SMTP_PASSWORD)."""
    server_ctx, client_ctx = _self_signed(tmp_path)
    with _served(
        Inbox("127.0.0.1", free_port(), client_context=client_ctx),
        tls_context=server_ctx,
        require_starttls=True,
        authenticator=_authenticate,
        auth_required=True,
    ) as inbox:
        yield inbox


@contextmanager
def ssl_smtp_inbox(tmp_path: Path) -> Iterator[Inbox]:
    """An SMTP server over implicit TLS (SMTPS, as on port 465) that requires AUTH."""
    server_ctx, client_ctx = _self_signed(tmp_path)
    with _served(
        Inbox("127.0.0.1", free_port(), client_context=client_ctx),
        ssl_context=server_ctx,
        authenticator=_authenticate,
        auth_required=True,
        auth_require_tls=False,  # aiosmtpd offers AUTH only after STARTTLS unless told; here TLS is implicit
    ) as inbox:
        yield inbox
