"""amoCRM webhooks: a destination registered through /api/v4/webhooks receives form-encoded POSTs in
amoCRM's v2 vocabulary when leads, contacts and companies change, like hooks captured from a real
account (tests/sandbox/data/amocrm/webhook_captured.json)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from test_amocrm_support import Client, ManualClock, doc

from crm_bridge_amocrm.sandbox.emulator import create_emulator

PATIENCE = 120.0  # flush() waits for the deliveries up to this; only so a broken build cannot hang

TOKEN = "sandbox-amocrm-long-lived-token"


class Receiver:
    def __init__(self) -> None:
        self.calls: list[tuple[dict[str, str], dict[str, list[str]]]] = []
        self.arrived = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                receiver.calls.append(({k.lower(): v for k, v in self.headers.items()}, parse_qs(body)))
                receiver.arrived.set()
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/amo-hook"
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
def setup(receiver: Receiver) -> tuple:
    emulator = create_emulator(clock=ManualClock(), rate_limit=False)
    client = Client(emulator, token=TOKEN)
    settings = ["add_lead", "update_lead", "status_lead", "add_company", "add_contact"]
    reply = client.post("/api/v4/webhooks", {"destination": receiver.url, "settings": settings, "sort": 10})
    assert reply.status == 200 and reply.body["settings"] == settings
    return emulator, client


def payloads(emulator, receiver: Receiver) -> list[tuple[dict[str, str], dict[str, list[str]]]]:
    emulator.deliver.flush(PATIENCE)
    return receiver.calls


def test_a_new_lead_is_posted_as_a_form_with_the_captured_keys(setup: tuple, receiver: Receiver) -> None:
    emulator, client = setup
    field = client.post("/api/v4/leads/custom_fields", [{"name": "Some text field", "type": "text"}]).body
    fid = field["_embedded"]["custom_fields"][0]["id"]

    client.post(
        "/api/v4/leads",
        [
            {
                "name": "qaz",
                "price": 24234,
                "custom_fields_values": [{"field_id": fid, "values": [{"value": "asdfdsf"}]}],
            }
        ],
    )

    [(headers, form)] = payloads(emulator, receiver)
    captured = doc("amocrm/webhook_captured.json")
    assert headers["content-type"] == "application/x-www-form-urlencoded"
    assert headers["user-agent"] == captured["user_agent"]
    assert set(captured["add_lead"]) <= set(form)
    assert form["leads[add][0][name]"] == ["qaz"] and form["leads[add][0][price]"] == ["24234"]
    assert form["leads[add][0][custom_fields][0][values][0][value]"] == ["asdfdsf"]
    assert form["account[subdomain]"] == ["sandbox"]


def test_a_stage_change_sends_update_and_status_events_with_the_old_status(
    setup: tuple, receiver: Receiver
) -> None:
    emulator, client = setup
    lead = client.post("/api/v4/leads", [{"name": "deal"}]).body["_embedded"]["leads"][0]["id"]
    before = client.get(f"/api/v4/leads/{lead}").body["status_id"]

    client.patch(f"/api/v4/leads/{lead}", {"status_id": 142})

    headers, form = payloads(emulator, receiver)[-1]
    captured = doc("amocrm/webhook_captured.json")
    assert set(captured["status_lead"]) <= set(form)
    assert form["leads[status][0][old_status_id]"] == [str(before)]
    assert form["leads[status][0][status_id]"] == ["142"]
    assert form["leads[update][0][id]"] == [str(lead)]


def test_a_company_travels_as_a_contact_of_type_company(setup: tuple, receiver: Receiver) -> None:
    emulator, client = setup

    client.post("/api/v4/companies", [{"name": "Some company name"}])

    _, form = payloads(emulator, receiver)[-1]
    assert set(doc("amocrm/webhook_captured.json")["add_company"]) <= set(form)
    assert form["contacts[add][0][type]"] == ["company"]


def test_events_without_a_subscription_are_not_sent(setup: tuple, receiver: Receiver) -> None:
    emulator, client = setup
    company = client.post("/api/v4/companies", [{"name": "Acme"}]).body["_embedded"]["companies"][0]["id"]
    sent = len(payloads(emulator, receiver))

    client.patch(f"/api/v4/companies/{company}", {"name": "Acme 2"})

    assert len(payloads(emulator, receiver)) == sent


def test_a_deleted_webhook_stops_deliveries_and_the_list_becomes_empty(
    setup: tuple, receiver: Receiver
) -> None:
    emulator, client = setup

    assert client.delete("/api/v4/webhooks", {"destination": receiver.url}).status == 204
    client.post("/api/v4/leads", [{"name": "quiet"}])

    assert payloads(emulator, receiver) == []
    assert client.get("/api/v4/webhooks").status == 204


def test_an_unreachable_destination_is_logged_and_does_not_fail_the_api_call(setup: tuple) -> None:
    emulator, client = setup
    client.post(
        "/api/v4/webhooks", {"destination": "http://127.0.0.1:9/nowhere", "settings": ["add_contact"]}
    )

    reply = client.post("/api/v4/contacts", [{"name": "Ivan"}])
    emulator.deliver.flush(PATIENCE)

    assert reply.status == 200
    assert any("error" in entry for entry in emulator.dump()["webhook_deliveries"])
