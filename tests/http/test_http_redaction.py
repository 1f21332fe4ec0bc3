"""Secrets and personal data never reach log lines or error messages: tokens, client secrets,
Bitrix24 webhook secrets, e-mails and phones; one redacted DEBUG line per request, no bodies."""

from __future__ import annotations

import io
import logging
import random

import pytest
import requests
import responses
from http_fakes import ManualClock

from crm_bridge.errors import TransientError
from crm_bridge.http import BearerAuth, HttpClient, HttpPolicy, StaticToken
from crm_bridge.redaction import RedactingFilter, install_redaction, redact

WEBHOOK = "https://example.bitrix24.ru/rest/1/x7k2p9q4w8e1r5t3"


@pytest.mark.parametrize(
    ("text", "secret", "kept"),
    [
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig", "eyJhbGciOiJIUzI1NiJ9", "Bearer ***"),
        ("Authorization: Basic dXNlcjpwYXNz", "dXNlcjpwYXNz", "Basic ***"),  # all letters: still masked
        ("authorization: bearer tokenabc", "tokenabc", "bearer ***"),  # a word only when whole
        ("GET /crm.lead.list?auth=4f6a9c1e2b&start=50", "4f6a9c1e2b", "start=50"),
        ("token url: /oauth/token/?grant_type=refresh_token&refresh_token=r3fr3sh", "r3fr3sh", "grant_type"),
        ("client_id=app.1&client_secret=S3cr3tValue", "S3cr3tValue", "client_id=app.1"),
        ('{"access_token": "acc-123", "token_type": "Bearer", "expires_in": 3600}', "acc-123", "expires_in"),
        ("{'refresh_token': 'ref-456'}", "ref-456", "refresh_token"),
        ("auth[access_token]=abc987&auth[domain]=example.bitrix24.ru", "abc987", "example.bitrix24.ru"),
        (
            "POST https://example.bitrix24.ru/rest/1/x7k2p9q4w8e1r5t3/crm.deal.add",
            "x7k2p9q4w8e1r5t3",
            "crm.deal.add",
        ),
        ("X-Refresh-Token: def50200abc", "def50200abc", "X-Refresh-Token"),
        ("redirect?code=auth-code-1&state=xyz", "auth-code-1", "state=xyz"),
        ("duplicate of ivan.petrov@romashka.ru", "ivan.petrov@romashka.ru", "duplicate of [email]"),
        ("email=anna%40example.com", "anna%40example.com", "[email]"),
        ("customer +7 (912) 345-67-89 called", "345-67-89", "[phone]"),
        ("phone 89123456789.", "89123456789", "[phone]"),
        ("tel:+1 202 555 0143", "555 0143", "[phone]"),
    ],
)
def test_every_kind_of_secret_and_personal_datum_is_masked(text: str, secret: str, kept: str) -> None:
    out = redact(text)
    assert secret not in out
    assert kept in out


@pytest.mark.parametrize(
    "text",
    [
        "lead 18273645012 modified 2026-11-26 12:00:00 at 1764158400",
        "error code=QUERY_LIMIT_EXCEEDED, 50 of 250 rows, amount 1500000.00",
        '{"code": "NOT_FOUND", "page": 2}',
        "connect to 192.168.100.200:5432",
        "no OAuth tokens are stored: run `crm-bridge auth` first",
        "amoCRM refused the OAuth grant (invalid_grant)",
        "basic access to the portal; the Basic tier",
    ],
)
def test_ids_dates_amounts_and_error_codes_stay_readable(text: str) -> None:
    assert redact(text) == text


def test_the_logging_filter_redacts_messages_arguments_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    install_redaction(handler)
    install_redaction(handler)  # once is enough
    assert sum(isinstance(f, RedactingFilter) for f in handler.filters) == 1
    logger = logging.getLogger("crm_bridge.test.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("calling %s for %s", f"{WEBHOOK}/crm.lead.add", "buyer@example.ru")
        try:
            raise ValueError("token refresh_token=zzz-secret failed")
        except ValueError:
            logger.exception("refresh failed for +79123456789")
    finally:
        logger.removeHandler(handler)
    out = stream.getvalue()
    for secret in ("x7k2p9q4w8e1r5t3", "buyer@example.ru", "zzz-secret", "+79123456789"):
        assert secret not in out
    assert "/rest/1/***/crm.lead.add" in out and "refresh_token=***" in out


@responses.activate
def test_one_debug_line_per_request_without_bodies_headers_or_secrets(
    caplog: pytest.LogCaptureFixture,
) -> None:
    responses.add(responses.POST, f"{WEBHOOK}/crm.lead.add", json={"result": 7, "email": "a@b.ru"})
    clock = ManualClock()
    http = HttpClient(
        HttpPolicy(name="bitrix24", base_url=WEBHOOK),
        auth=BearerAuth(StaticToken("tok-secret-1")),
        clock=clock,
        sleep=clock.sleep,
        rng=random.Random(0),
    )
    with caplog.at_level(logging.DEBUG, logger="crm_bridge.http"):
        http.post("crm.lead.add", json={"fields": {"EMAIL": "c@d.ru"}}, params={"auth": "q-secret"})
    lines = [r.getMessage() for r in caplog.records if r.name == "crm_bridge.http"]
    assert len(lines) == 1
    (line,) = lines
    assert line.startswith("POST https://example.bitrix24.ru/rest/1/***/crm.lead.add?auth=*** -> 200 in ")
    for leaked in ("x7k2p9q4w8e1r5t3", "tok-secret-1", "q-secret", "c@d.ru", "a@b.ru", "EMAIL"):
        assert leaked not in line


@responses.activate
def test_connection_errors_name_the_call_but_not_the_webhook_secret() -> None:
    url = f"{WEBHOOK}/crm.lead.list"
    responses.add(
        responses.GET, url, body=requests.ConnectionError(f"Max retries exceeded with url: {url}?auth=a1")
    )
    clock = ManualClock()
    http = HttpClient(
        HttpPolicy(name="bitrix24", base_url=WEBHOOK, max_retries=0), clock=clock, sleep=clock.sleep
    )
    with pytest.raises(TransientError) as info:
        http.get("crm.lead.list")
    message = str(info.value)
    assert "x7k2p9q4w8e1r5t3" not in message and "auth=a1" not in message
    assert message.startswith("bitrix24: GET crm.lead.list failed: ConnectionError")


def test_installed_once_it_redacts_every_record_of_the_process_whatever_logger_and_handler() -> None:
    before = logging.getLogRecordFactory()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)  # no filter of its own, as a library's handler would be
    logger = logging.getLogger("somelibrary.connectionpool")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        install_redaction()
        installed = logging.getLogRecordFactory()
        install_redaction()  # a second call (the daemon after the CLI's entry) wraps nothing twice
        assert logging.getLogRecordFactory() is installed
        logger.warning("POST %s HTTP/1.1", f"{WEBHOOK}/batch.json")
        try:
            raise ValueError(f"no answer from {WEBHOOK}")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
        logging.setLogRecordFactory(before)
    text = stream.getvalue()
    assert "batch.json" in text and "failed" in text and "ValueError" in text
    assert "x7k2p9q4w8e1r5t3" not in text
