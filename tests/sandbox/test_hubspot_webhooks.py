"""HubSpot webhooks through the emulator: settings and subscriptions managed with the developer
hapikey (answers checked against the webhooks OpenAPI spec), and event batches POSTed to the target
URL with an X-HubSpot-Signature-v3 that verifies as HubSpot's request-validation guide describes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from test_amocrm_support import ManualClock
from test_hubspot_support import TOKEN, SpecClient

from crm_bridge_hubspot.sandbox.emulator import create_emulator

PATIENCE = 120.0  # flush() waits for the deliveries up to this; only so a broken build cannot hang

KEY = {"hapikey": "sandbox-developer-hapikey"}
SECRET = "sandbox-hubspot-client-secret"


class Receiver:
    def __init__(self) -> None:
        self.calls: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                receiver.calls.append(
                    (
                        {k.lower(): v for k, v in self.headers.items()},
                        self.rfile.read(int(self.headers["Content-Length"])),
                    )
                )
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hubspot-events"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture
def hs(receiver: Receiver) -> SpecClient:
    client = SpecClient(create_emulator(clock=ManualClock(), rate_limit=False), token=TOKEN)
    settings = client.put(
        "/webhooks/v3/1234567/settings",
        {"targetUrl": receiver.url, "throttling": {"maxConcurrentRequests": 10}},
        params=KEY,
    )
    assert settings.status == 200 and settings.body["targetUrl"] == receiver.url
    for event in (
        {"eventType": "company.creation", "active": True},
        {"eventType": "deal.propertyChange", "propertyName": "dealstage", "active": True},
    ):
        assert client.post("/webhooks/v3/1234567/subscriptions", event, params=KEY).status == 201
    return client


def delivered(hs: SpecClient, receiver: Receiver) -> list[tuple[dict[str, str], bytes]]:
    hs.emulator.deliver.flush(PATIENCE)
    return receiver.calls


def test_webhook_settings_need_the_developer_key(hs: SpecClient) -> None:
    assert hs.get("/webhooks/v3/1234567/settings").status == 401
    assert hs.get("/webhooks/v3/1234567/settings", params={"hapikey": "wrong"}).status == 401
    assert hs.get("/webhooks/v3/1234567/settings", params=KEY).status == 200
    assert len(hs.get("/webhooks/v3/1234567/subscriptions", params=KEY).body["results"]) == 2


def test_a_new_company_is_delivered_as_a_signed_event_array(hs: SpecClient, receiver: Receiver) -> None:
    company = hs.post("/crm/v3/objects/companies", {"properties": {"name": "Acme"}, "associations": []}).body[
        "id"
    ]

    [(headers, body)] = delivered(hs, receiver)

    events = json.loads(body)
    assert isinstance(events, list) and len(events) == 1
    event = events[0]
    assert event["subscriptionType"] == "company.creation" and event["objectId"] == int(company)
    assert {
        "eventId",
        "subscriptionId",
        "portalId",
        "appId",
        "occurredAt",
        "attemptNumber",
        "changeSource",
    } <= set(event)
    timestamp = headers["x-hubspot-request-timestamp"]
    message = b"POST" + receiver.url.encode() + body + timestamp.encode()
    expected = base64.b64encode(hmac.new(SECRET.encode(), message, hashlib.sha256).digest()).decode()
    assert hmac.compare_digest(headers["x-hubspot-signature-v3"], expected)
    assert headers["x-hubspot-signature"] == hashlib.sha256(SECRET.encode() + body).hexdigest()


def test_only_the_subscribed_property_change_is_delivered(hs: SpecClient, receiver: Receiver) -> None:
    deal = hs.post("/crm/v3/objects/deals", {"properties": {"dealname": "d"}, "associations": []}).body["id"]

    hs.patch(f"/crm/v3/objects/deals/{deal}", {"properties": {"dealname": "renamed"}})
    hs.patch(f"/crm/v3/objects/deals/{deal}", {"properties": {"dealstage": "closedwon"}})

    events = [e for _, body in delivered(hs, receiver) for e in json.loads(body)]
    assert [(e["subscriptionType"], e["propertyName"], e["propertyValue"]) for e in events] == [
        ("deal.propertyChange", "dealstage", "closedwon")
    ]


def test_a_paused_subscription_delivers_nothing(hs: SpecClient, receiver: Receiver) -> None:
    subscriptions = hs.get("/webhooks/v3/1234567/subscriptions", params=KEY).body["results"]
    creation = next(s for s in subscriptions if s["eventType"] == "company.creation")

    paused = hs.patch(f"/webhooks/v3/1234567/subscriptions/{creation['id']}", {"active": False}, params=KEY)
    hs.post("/crm/v3/objects/companies", {"properties": {"name": "Quiet"}, "associations": []})

    assert paused.body["active"] is False
    assert delivered(hs, receiver) == []


def test_a_batch_write_sends_its_events_in_one_post(hs: SpecClient, receiver: Receiver) -> None:
    hs.post(
        "/crm/v3/objects/companies/batch/create",
        {"inputs": [{"properties": {"name": f"C{i}"}, "associations": []} for i in range(3)]},
    )

    calls = delivered(hs, receiver)

    assert len(calls) == 1 and len(json.loads(calls[0][1])) == 3
