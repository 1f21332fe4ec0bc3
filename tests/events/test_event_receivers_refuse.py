"""The CRM event receiver (POST /v1/events/<token>) refuses every forged, stale, foreign, malformed or
huge request with 401/403/400/413, counts it in /metrics by CRM and reason, and queues nothing; a
genuine request is stored before its 200, and a redelivered event is stored once."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from events_world import B24_APP_TOKEN, HS_PORTAL, HS_SECRET, PUBLIC, TOKEN, World, build
from sandbox_fixture import MakeSandbox

from crm_bridge.sandbox.server import Sandbox

PATH = f"/v1/events/{TOKEN}"


def hs_headers(body: bytes, *, secret: str = HS_SECRET, stamp_ms: int | None = None) -> dict[str, str]:
    stamp = str(stamp_ms if stamp_ms is not None else int(time.time() * 1000))
    message = b"POST" + (PUBLIC + PATH).encode() + body + stamp.encode()
    signature = base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()
    return {
        "Content-Type": "application/json",
        "X-HubSpot-Signature-v3": signature,
        "X-HubSpot-Request-Timestamp": stamp,
    }


def hs_events(*ids: int, portal: int = HS_PORTAL) -> bytes:
    return json.dumps(
        [
            {
                "eventId": i,
                "subscriptionId": 1001,
                "portalId": portal,
                "appId": 1234567,
                "occurredAt": 1,
                "subscriptionType": "deal.creation",
                "attemptNumber": 0,
                "objectId": 5000 + i,
                "changeSource": "CRM_UI",
            }
            for i in ids
        ]
    ).encode()


@pytest.fixture
def hubspot(tmp_path: Path, make_sandbox: MakeSandbox) -> Iterator[World]:
    world = build(tmp_path, "hubspot", make_sandbox("hubspot"))
    yield world
    world.close()


def test_a_signed_hubspot_batch_is_queued_before_the_answer_and_a_redelivery_is_stored_once(
    hubspot: World,
) -> None:
    client = hubspot.client()
    body = hs_events(1, 2, 3)
    first = client.post(PATH, content=body, headers=hs_headers(body))
    assert first.status_code == 200 and first.json() == {"accepted": 3, "new": 3}
    assert hubspot.queued() == 3
    again = client.post(PATH, content=body, headers=hs_headers(body))  # HubSpot's retry of the same batch
    assert again.status_code == 200 and again.json()["new"] == 0
    assert hubspot.queued() == 3
    assert hubspot.metrics.value("crm_bridge_events_received_total", source="hubspot") == 3
    assert hubspot.refused("hubspot", "duplicate") == 3


@pytest.mark.parametrize(
    ("case", "status", "reason"),
    [
        ("forged signature", 401, "signature"),
        ("no signature", 401, "signature"),
        ("stale timestamp", 401, "stale"),
        ("replayed after 5 minutes", 401, "stale"),
        ("wrong path token", 401, "token"),
        ("another portal", 403, "account"),
        ("not json", 400, "malformed"),
        ("not a list of events", 400, "malformed"),
        ("huge body", 413, "too_large"),
    ],
)
def test_a_bad_hubspot_request_is_refused_counted_and_queues_nothing(
    hubspot: World, case: str, status: int, reason: str
) -> None:
    body = hs_events(7)
    headers = hs_headers(body)
    path = PATH
    if case == "forged signature":
        headers = hs_headers(body, secret="not-the-app-secret")
    elif case == "no signature":
        del headers["X-HubSpot-Signature-v3"]
    elif case == "stale timestamp":
        headers = hs_headers(body, stamp_ms=int(time.time() * 1000) - 6 * 60 * 1000)
    elif case == "replayed after 5 minutes":
        old = hs_headers(body, stamp_ms=int(time.time() * 1000) - 301_000)
        headers = old  # a captured, once-valid request sent again later
    elif case == "wrong path token":
        path = "/v1/events/" + "x" * len(TOKEN)
    elif case == "another portal":
        body = hs_events(7, portal=99999)
        headers = hs_headers(body)
    elif case == "not json":
        body = b"{not json"
        headers = hs_headers(body)
    elif case == "not a list of events":
        body = json.dumps({"eventId": 1}).encode()
        headers = hs_headers(body)
    elif case == "huge body":
        body = b"[" + b" " * (65 * 1024) + b"]"
        headers = hs_headers(body)
    answer = hubspot.client().post(path, content=body, headers=headers)
    assert answer.status_code == status, answer.text
    assert hubspot.refused("hubspot", reason) == 1
    assert hubspot.queued() == 0
    assert f'crm_bridge_events_rejected_total{{reason="{reason}",source="hubspot"}} 1.0' in (
        hubspot.client().get("/metrics").text
    )


@pytest.fixture
def amocrm(tmp_path: Path, make_sandbox: MakeSandbox) -> Iterator[tuple[World, Sandbox]]:
    sb = make_sandbox("amocrm")
    world = build(tmp_path, "amocrm", sb)
    yield world, sb
    world.close()


def amo_form(account: int, *, modified_by: int = 8000002, lead: int = 111) -> bytes:
    return urlencode(
        {
            "leads[add][0][id]": str(lead),
            "leads[add][0][name]": "Lead",
            "leads[add][0][last_modified]": "1765000000",
            "leads[add][0][modified_user_id]": str(modified_by),
            "leads[update][0][id]": str(lead + 1),
            "leads[update][0][last_modified]": "1765000001",
            "leads[update][0][modified_user_id]": str(modified_by),
            "account[id]": str(account),
            "account[subdomain]": "sandbox",
        }
    ).encode()


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def test_an_amocrm_hook_of_our_account_is_queued_and_our_own_changes_are_dropped(
    amocrm: tuple[World, Sandbox],
) -> None:
    world, sb = amocrm
    ours = int(sb.emulator.state.account_id)
    client = world.client()
    answer = client.post(PATH, content=amo_form(ours), headers=FORM)
    assert answer.status_code == 200 and answer.json()["accepted"] == 2
    api_user = world.app.adapter._account()[1]  # type: ignore[attr-defined]
    mine = client.post(PATH, content=amo_form(ours, modified_by=int(api_user or 0), lead=300), headers=FORM)
    assert mine.status_code == 200 and mine.json()["accepted"] == 1  # the add only: the update was ours
    assert world.queued() == 3


@pytest.mark.parametrize(
    ("case", "status", "reason"),
    [
        ("another account", 403, "account"),
        ("no account", 400, "malformed"),
        ("json instead of a form", 400, "malformed"),
        ("wrong path token", 401, "token"),
        ("huge body", 413, "too_large"),
    ],
)
def test_a_bad_amocrm_hook_is_refused_counted_and_queues_nothing(
    amocrm: tuple[World, Sandbox], case: str, status: int, reason: str
) -> None:
    world, sb = amocrm
    ours = int(sb.emulator.state.account_id)
    body, headers, path = amo_form(ours), FORM, PATH
    if case == "another account":
        body = amo_form(ours + 1)
    elif case == "no account":
        body = b"leads[add][0][id]=5"
    elif case == "json instead of a form":
        body, headers = b'{"leads": []}', {"Content-Type": "application/json"}
    elif case == "wrong path token":
        path = "/v1/events/guess"
    elif case == "huge body":
        body = amo_form(ours) + b"&pad=" + b"x" * (65 * 1024)
    answer = world.client().post(path, content=body, headers=headers)
    assert answer.status_code == status, answer.text
    assert world.refused("amocrm", reason) == 1
    assert world.queued() == 0


@pytest.fixture
def bitrix24(tmp_path: Path, make_sandbox: MakeSandbox) -> Iterator[World]:
    sb = make_sandbox("bitrix24", emulator_options={"domain": "127.0.0.1"})
    world = build(tmp_path, "bitrix24", sb)
    yield world
    world.close()


def b24_form(token: str = B24_APP_TOKEN, domain: str = "127.0.0.1") -> bytes:
    return urlencode(
        {
            "event": "ONCRMDEALADD",
            "event_handler_id": "3",
            "data[FIELDS][ID]": "42",
            "ts": "1765000000",
            "auth[domain]": domain,
            "auth[client_endpoint]": f"https://{domain}/rest/",
            "auth[member_id]": "5a9d2c0e7b1f4a3c8e6d0b2a4c6e8f01",
            "auth[application_token]": token,
        }
    ).encode()


@pytest.mark.parametrize(
    ("case", "status", "reason"),
    [
        ("genuine", 200, None),
        ("wrong application token", 401, "token"),
        ("another portal", 403, "account"),
        ("no record id", 400, "malformed"),
    ],
)
def test_bitrix24_outgoing_webhook_checks_the_application_token_and_the_portal(
    bitrix24: World, case: str, status: int, reason: str | None
) -> None:
    body = {
        "genuine": b24_form(),
        "wrong application token": b24_form(token="sandbox-application-tokeX"),
        "another portal": b24_form(domain="evil.bitrix24.ru"),
        "no record id": b24_form().replace(b"data%5BFIELDS%5D%5BID%5D=42", b"x=1"),
    }[case]
    answer = bitrix24.client().post(PATH, content=body, headers=FORM)
    assert answer.status_code == status, answer.text
    assert bitrix24.queued() == (1 if reason is None else 0)
    if reason is not None:
        assert bitrix24.refused("bitrix24", reason) == 1
