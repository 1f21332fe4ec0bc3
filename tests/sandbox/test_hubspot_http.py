"""The HubSpot emulator behind the sandbox HTTP server: real HTTP requests with ``requests`` whose
answers are checked against HubSpot's OpenAPI specs, the server's faults answered with HubSpot's
bodies (429 policy, 401 expired token, 207 partial batch), and the control API."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from test_amocrm_support import Reply
from test_hubspot_support import TOKEN, spec_problems

from crm_bridge.sandbox.faults import FaultPlan
from crm_bridge.sandbox.server import Sandbox

PATIENCE = 120.0  # only so a broken build cannot hang: the test waits for the delivery, nothing is timed

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox("hubspot") as sb:
        yield sb


def call(
    sandbox: Sandbox,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
) -> Reply:
    """One HTTP request; the answer must match the spec of the endpoint it came from."""
    answer = requests.request(
        method,
        f"{sandbox.base_url}{path}",
        json=body,
        params=params,
        headers=headers if headers is not None else AUTH,
        timeout=5,
    )
    reply = Reply(answer.status_code, answer.json() if answer.content else None, dict(answer.headers))
    sent = json.dumps(body).encode() if body is not None else b""
    problems = spec_problems(method, path, params or {}, sent, reply)
    assert not problems, f"{method} {path} -> {reply.status}: {problems}"
    return reply


def test_records_created_and_listed_over_http_match_the_spec(sandbox: Sandbox) -> None:
    created = call(
        sandbox, "POST", "/crm/v3/objects/companies", {"properties": {"name": "Acme"}, "associations": []}
    )
    listed = call(sandbox, "GET", "/crm/v3/objects/companies", params={"properties": "name"})

    assert created.status == 201 and listed.body["results"][0]["id"] == created.body["id"]
    assert listed.header("X-HubSpot-RateLimit-Max") == "100"
    assert sandbox.counts()["GET /crm/v3/objects/companies"] == 1


def test_injected_429_and_expired_token_carry_hubspot_bodies(sandbox: Sandbox) -> None:
    sandbox.faults.set(FaultPlan(sequence=[429], expire_token_at=2))

    limited = call(sandbox, "GET", "/crm/v3/owners")
    expired = call(sandbox, "GET", "/crm/v3/owners")
    fine = call(sandbox, "GET", "/crm/v3/owners")

    assert limited.status == 429 and limited.body["policyName"] == "TEN_SECONDLY_ROLLING"
    assert expired.status == 401 and expired.body["category"] == "EXPIRED_AUTHENTICATION"
    assert fine.status == 200


def test_an_injected_partial_batch_failure_is_a_207_with_the_rest_written(sandbox: Sandbox) -> None:
    sandbox.faults.set(FaultPlan(batch_fail={"inputs": 1}))
    inputs = [{"properties": {"name": f"C{i}"}, "associations": []} for i in range(3)]

    partial = call(sandbox, "POST", "/crm/v3/objects/companies/batch/create", {"inputs": inputs})
    whole = call(sandbox, "POST", "/crm/v3/objects/companies/batch/create", {"inputs": inputs})

    assert partial.status == 207 and len(partial.body["results"]) == 2 and partial.body["numErrors"] == 1
    assert whole.status == 201 and len(whole.body["results"]) == 3


def test_an_oauth_token_expires_when_the_sandbox_clock_passes_30_minutes(sandbox: Sandbox) -> None:
    oauth = sandbox.config_snippet()["oauth"]
    pair = requests.post(
        oauth["token_url"],
        timeout=5,
        data={
            "grant_type": "authorization_code",
            "client_id": oauth["client_id"],
            "client_secret": oauth["client_secret"],
            "redirect_uri": oauth["redirect_uri"],
            "code": oauth["authorization_code"],
        },
    ).json()
    bearer = {"Authorization": f"Bearer {pair['access_token']}"}

    before = call(sandbox, "GET", "/crm/v3/owners", headers=bearer)
    requests.post(f"{sandbox.base_url}/_sandbox/clock", json={"advance": 1800}, timeout=5)
    after = call(sandbox, "GET", "/crm/v3/owners", headers=bearer)

    assert before.status == 200 and after.status == 401
    assert after.body["message"].startswith("The OAuth token used to make this call expired")


def test_a_webhook_registered_through_the_control_api_gets_signed_event_batches(sandbox: Sandbox) -> None:
    received: list[tuple[dict[str, str], bytes]] = []
    done = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server API
            headers = {k.lower(): v for k, v in self.headers.items()}
            received.append((headers, self.rfile.read(int(self.headers["Content-Length"]))))
            done.set()
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/events"
    try:
        registered = requests.post(f"{sandbox.base_url}/_sandbox/webhooks", json={"url": url}, timeout=5)
        deal = call(
            sandbox, "POST", "/crm/v3/objects/deals", {"properties": {"dealname": "d"}, "associations": []}
        )
        assert done.wait(PATIENCE)
    finally:
        server.shutdown()
        server.server_close()

    headers, body = received[0]
    assert registered.status_code == 200
    event = json.loads(body)[0]
    assert event["subscriptionType"] == "deal.creation" and event["objectId"] == int(deal.body["id"])
    secret = sandbox.config_snippet()["webhooks"]["signing_secret"]
    message = b"POST" + url.encode() + body + headers["x-hubspot-request-timestamp"].encode()
    assert (
        headers["x-hubspot-signature-v3"]
        == base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()
    )
