"""The Bitrix24 emulator behind the sandbox HTTP server: webhook and OAuth authentication (refresh-token
rotation, ``expired_token`` after the server clock moves), the rate limit over HTTP, and outbound
events delivered form-encoded to a local receiver."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import pytest
import requests
from test_bitrix24_support import doc, shape_differences

from crm_bridge.sandbox.server import Sandbox

ERRORS = doc("system_errors.json")["errors"]


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox("bitrix24") as sb:
        yield sb


def hook(sb: Sandbox) -> str:
    return str(sb.config_snippet()["env"]["B24_WEBHOOK_URL"])


def refresh(sb: Sandbox, token: str) -> requests.Response:
    oauth = sb.config_snippet()["oauth"]
    params = {
        "grant_type": "refresh_token",
        "client_id": oauth["client_id"],
        "client_secret": oauth["client_secret"],
        "refresh_token": token,
    }
    return requests.get(oauth["token_url"], params=params, timeout=5)


class Receiver:
    """A local HTTP endpoint that records the form-encoded POSTs it gets."""

    def __init__(self) -> None:
        self.posts: list[tuple[dict[str, str], dict[str, str]]] = []
        self.arrived = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - stdlib name
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                owner.posts.append((dict(parse_qsl(body)), dict(self.headers.items())))
                owner.arrived.set()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/b24"
        server = self.server
        threading.Thread(target=lambda: server.serve_forever(poll_interval=0.05), daemon=True).start()

    def wait(self, count: int = 1) -> list[tuple[dict[str, str], dict[str, str]]]:
        for _ in range(1200):  # woken by each arrival; the bound (120 s) only stops a broken build hanging
            if len(self.posts) >= count:
                break
            self.arrived.wait(0.1)
            self.arrived.clear()
        return self.posts

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def test_a_wrong_webhook_secret_is_401_no_auth_found(sandbox: Sandbox) -> None:
    reply = requests.post(f"{sandbox.base_url}/rest/1/not-the-secret/crm.deal.list.json", json={}, timeout=5)
    other_user = requests.post(hook(sandbox).replace("/rest/1/", "/rest/2/") + "scope", timeout=5)

    assert (reply.status_code, reply.json()) == (
        401,
        {"error": "NO_AUTH_FOUND", "error_description": ERRORS["NO_AUTH_FOUND"]["error_description"]},
    )
    assert other_user.status_code == 401


def test_refreshing_rotates_the_pair_and_an_old_refresh_token_stops_working(sandbox: Sandbox) -> None:
    first = refresh(sandbox, sandbox.config_snippet()["oauth"]["refresh_token"])
    pair = first.json()
    reused = refresh(sandbox, sandbox.config_snippet()["oauth"]["refresh_token"])
    second = refresh(sandbox, pair["refresh_token"])

    assert first.status_code == 200
    assert shape_differences(pair, doc("oauth_refresh.json")["response"]) == []
    assert pair["client_endpoint"] == f"{sandbox.base_url}/rest/"
    assert pair["scope"] == "crm,task,user,im,department" and pair["expires_in"] == 3600
    assert (reused.status_code, reused.json()["error"]) == (400, "invalid_grant")
    assert second.status_code == 200 and second.json()["access_token"] != pair["access_token"]


def test_an_access_token_works_for_an_hour_then_answers_expired_token(sandbox: Sandbox) -> None:
    pair = refresh(sandbox, sandbox.config_snippet()["oauth"]["refresh_token"]).json()
    url = f"{pair['client_endpoint']}crm.deal.add"

    added = requests.post(
        url, json={"auth": pair["access_token"], "fields": {"TITLE": "via oauth"}}, timeout=5
    )
    by_query = requests.get(
        f"{pair['client_endpoint']}crm.deal.get", params={"auth": pair["access_token"], "id": 1}, timeout=5
    )
    sandbox.advance(3601)
    expired = requests.post(url, json={"auth": pair["access_token"], "fields": {}}, timeout=5)
    renewed = refresh(sandbox, pair["refresh_token"]).json()
    again = requests.post(url, json={"auth": renewed["access_token"], "fields": {}}, timeout=5)
    unknown = requests.post(url, json={"auth": "nonsense", "fields": {}}, timeout=5)

    assert added.status_code == 200 and by_query.json()["result"]["TITLE"] == "via oauth"
    assert (expired.status_code, expired.json()) == (
        401,
        {"error": "expired_token", "error_description": ERRORS["expired_token"]["error_description"]},
    )
    assert again.status_code == 200
    assert (unknown.status_code, unknown.json()["error"]) == (401, "NO_AUTH_FOUND")


def test_the_oauth_endpoint_refuses_a_wrong_client(sandbox: Sandbox) -> None:
    oauth = sandbox.config_snippet()["oauth"]
    params = {"grant_type": "refresh_token", "client_id": oauth["client_id"], "client_secret": "wrong"}

    reply = requests.get(
        oauth["token_url"], params={**params, "refresh_token": oauth["refresh_token"]}, timeout=5
    )

    assert (reply.status_code, reply.json()["error"]) == (401, "invalid_client")


def test_over_the_rate_limit_the_answer_is_503_and_moving_the_clock_lets_calls_through() -> None:
    with Sandbox("bitrix24", rate_limit=True) as sb:
        url = hook(sb) + "scope"
        statuses = [requests.get(url, timeout=5).status_code for _ in range(80)]  # 503 unless 15 s pass
        refused = requests.get(url, timeout=5)
        sb.advance(30)  # the bucket drains 2 per second
        after = requests.get(url, timeout=5)

    assert statuses[:50] == [200] * 50 and 503 in statuses
    assert (refused.status_code, refused.json()["error"]) == (503, "QUERY_LIMIT_EXCEEDED")
    assert after.status_code == 200


def test_registered_outgoing_webhooks_get_form_encoded_events(sandbox: Sandbox, receiver: Receiver) -> None:
    registered = requests.post(
        f"{sandbox.base_url}/_sandbox/webhooks",
        json={"url": receiver.url, "options": {"events": ["ONCRMDEALADD", "ONTASKADD"]}},
        timeout=5,
    ).json()["registered"]
    deal_id = requests.post(
        hook(sandbox) + "crm.deal.add", json={"fields": {"TITLE": "hooked"}}, timeout=5
    ).json()
    requests.post(
        hook(sandbox) + "crm.deal.update", json={"id": deal_id["result"], "fields": {"TITLE": "x"}}, timeout=5
    )
    task = {"fields": {"TITLE": "call", "RESPONSIBLE_ID": 1}}
    requests.post(hook(sandbox) + "tasks.task.add", json=task, timeout=5)

    posts = receiver.wait(2)

    assert len(posts) == 2  # the update was not subscribed
    (deal_form, headers), (task_form, _) = posts
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert deal_form["event"] == "ONCRMDEALADD" and deal_form["data[FIELDS][ID]"] == str(deal_id["result"])
    assert deal_form["auth[application_token]"] == registered["application_token"]
    documented = doc("event_outgoing_webhook.json")["payload"]
    expected_keys = {"event", "event_handler_id", "ts", "data[FIELDS][ID]"} | {
        f"auth[{k}]" for k in documented["auth"]
    }
    assert set(deal_form) == expected_keys
    assert task_form["event"] == "ONTASKADD" and task_form["data[FIELDS_AFTER][ID]"] == "1"
    assert task_form["data[FIELDS_BEFORE]"] == "undefined"


def test_event_bind_needs_an_application_token_and_then_delivers_with_one(
    sandbox: Sandbox, receiver: Receiver
) -> None:
    by_webhook = requests.post(
        hook(sandbox) + "event.bind", json={"event": "ONCRMLEADADD", "handler": receiver.url}, timeout=5
    )
    pair = refresh(sandbox, sandbox.config_snippet()["oauth"]["refresh_token"]).json()
    rest = pair["client_endpoint"]
    bind = {"auth": pair["access_token"], "event": "ONCRMLEADADD", "handler": receiver.url}

    bound = requests.post(f"{rest}event.bind", json=bind, timeout=5)
    twice = requests.post(f"{rest}event.bind", json=bind, timeout=5)
    listed = requests.post(f"{rest}event.get", json={"auth": pair["access_token"]}, timeout=5).json()[
        "result"
    ]
    requests.post(
        f"{rest}crm.lead.add", json={"auth": pair["access_token"], "fields": {"TITLE": "evt"}}, timeout=5
    )
    form, _ = receiver.wait(1)[0]

    assert (by_webhook.status_code, by_webhook.json()["error"]) == (403, "WRONG_AUTH_TYPE")
    assert bound.json()["result"] is True and twice.json()["error"] == "ERROR_HANDLER_ALREADY_EXIST"
    assert listed == [{"event": "ONCRMLEADADD", "handler": receiver.url, "auth_type": "1", "offline": 0}]
    assert form["event"] == "ONCRMLEADADD" and form["auth[access_token]"] and form["auth[scope]"]
