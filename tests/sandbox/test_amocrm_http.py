"""The amoCRM emulator behind the sandbox HTTP server: real HTTP requests with ``requests``, the
server's fault injection answered with amoCRM's own bodies, the control API (seed, state, webhooks,
clock) and the CRM's rate limit switched on."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
import requests
from test_amocrm_support import doc, without_source

from crm_bridge.sandbox.faults import FaultPlan
from crm_bridge.sandbox.server import Sandbox

PATIENCE = 120.0  # only so a broken build cannot hang: the test waits for the delivery, nothing is timed

TOKEN = "sandbox-amocrm-long-lived-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox("amocrm") as sb:
        yield sb


def test_pipelines_and_a_bulk_add_work_over_http_with_hal_json(sandbox: Sandbox) -> None:
    pipelines = requests.get(f"{sandbox.base_url}/api/v4/leads/pipelines", headers=AUTH, timeout=5)
    added = requests.post(
        f"{sandbox.base_url}/api/v4/leads", json=[{"name": "over http"}], headers=AUTH, timeout=5
    )

    assert pipelines.status_code == 200 and pipelines.headers["Content-Type"] == "application/hal+json"
    lead = added.json()["_embedded"]["leads"][0]
    assert lead["_links"]["self"]["href"] == f"{sandbox.base_url}/api/v4/leads/{lead['id']}"
    assert sandbox.counts() == {"GET /api/v4/leads/pipelines": 1, "POST /api/v4/leads": 1}


def test_an_empty_list_is_204_with_no_body_over_http(sandbox: Sandbox) -> None:
    reply = requests.get(f"{sandbox.base_url}/api/v4/companies", headers=AUTH, timeout=5)

    assert reply.status_code == 204 and reply.content == b""


def test_injected_failures_and_an_expired_token_answer_like_amocrm(sandbox: Sandbox) -> None:
    sandbox.faults.set(FaultPlan(sequence=[429, 503, 0], expire_token_at=4))
    url = f"{sandbox.base_url}/api/v4/account"

    statuses = [requests.get(url, headers=AUTH, timeout=5) for _ in range(5)]

    assert [r.status_code for r in statuses] == [429, 503, 200, 401, 200]
    assert statuses[0].json()["type"] == "https://httpstatus.es/429"
    assert statuses[3].json() == without_source(doc("amocrm/unauthorized.json"))


def test_an_injected_partial_batch_failure_rejects_the_whole_bulk_add(sandbox: Sandbox) -> None:
    sandbox.faults.set(FaultPlan(batch_fail={"items": 1}))
    url = f"{sandbox.base_url}/api/v4/contacts"

    refused = requests.post(
        url, json=[{"name": "a"}, {"name": "b", "request_id": "b"}], headers=AUTH, timeout=5
    )
    accepted = requests.post(url, json=[{"name": "a"}, {"name": "b"}], headers=AUTH, timeout=5)

    assert refused.status_code == 400
    assert [e["request_id"] for e in refused.json()["validation-errors"]] == ["b"]
    assert accepted.status_code == 200
    assert len(requests.get(url, headers=AUTH, timeout=5).json()["_embedded"]["contacts"]) == 2


def test_the_control_api_seeds_reads_state_and_advances_the_clock_past_token_expiry(sandbox: Sandbox) -> None:
    control = f"{sandbox.base_url}/_sandbox"
    created = requests.post(f"{control}/seed", json={"companies": [{"name": "Partner A"}]}, timeout=5).json()
    oauth = sandbox.config_snippet()["oauth"]
    pair = requests.post(
        f"{sandbox.base_url}/oauth2/access_token",
        timeout=5,
        json={
            "client_id": oauth["client_id"],
            "client_secret": oauth["client_secret"],
            "redirect_uri": oauth["redirect_uri"],
            "grant_type": "authorization_code",
            "code": oauth["authorization_code"],
        },
    ).json()
    bearer = {"Authorization": f"Bearer {pair['access_token']}"}

    before = requests.get(f"{sandbox.base_url}/api/v4/companies", headers=bearer, timeout=5)
    requests.post(f"{control}/clock", json={"advance": 86400}, timeout=5)
    after = requests.get(f"{sandbox.base_url}/api/v4/companies", headers=bearer, timeout=5)
    state = requests.get(f"{control}/state", timeout=5).json()

    assert before.json()["_embedded"]["companies"][0]["id"] == created["created"]["companies"][0]
    assert after.status_code == 401
    assert [c["name"] for c in state["companies"]] == ["Partner A"]


def test_the_rate_limit_applies_over_http_when_switched_on() -> None:
    with Sandbox("amocrm", rate_limit=True) as sb:
        now = sb.clock()
        sb.emulator.set_clock(lambda: now)  # the CRM's clock stands: all 12 fall in one second, however slow
        statuses = [
            requests.get(f"{sb.base_url}/api/v4/account", headers=AUTH, timeout=5).status_code
            for _ in range(12)
        ]

    assert statuses == [200] * 7 + [429] * 5


def test_a_webhook_registered_through_the_control_api_receives_form_posts(sandbox: Sandbox) -> None:
    received: list[dict[str, list[str]]] = []
    done = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server API
            received.append(parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode()))
            done.set()
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        registered = requests.post(f"{sandbox.base_url}/_sandbox/webhooks", json={"url": url}, timeout=5)
        requests.post(f"{sandbox.base_url}/api/v4/leads", json=[{"name": "hooked"}], headers=AUTH, timeout=5)
        assert done.wait(PATIENCE)
    finally:
        server.shutdown()
        server.server_close()

    assert registered.status_code == 200 and "add_lead" in registered.json()["registered"]["settings"]
    assert received[0]["leads[add][0][name]"] == ["hooked"]
