"""amoCRM authentication and limits: Bearer tokens, the OAuth code and refresh grants with single-use
refresh tokens, access-token expiry, 7 requests per second, the account block and fault bodies."""

from __future__ import annotations

import base64
import json

import pytest
from test_amocrm_support import Client, ManualClock, doc, without_source

from crm_bridge_amocrm.sandbox.emulator import create_emulator

TOKEN = "sandbox-amocrm-long-lived-token"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def oauth_body(emulator, **grant: str) -> dict[str, str]:
    snippet = emulator.config_snippet("http://sandbox.test")["oauth"]
    return {
        "client_id": snippet["client_id"],
        "client_secret": snippet["client_secret"],
        "redirect_uri": snippet["redirect_uri"],
        **grant,
    }


def exchange_code(emulator) -> dict:
    code = emulator.config_snippet("http://sandbox.test")["oauth"]["authorization_code"]
    reply = Client(emulator).post(
        "/oauth2/access_token", oauth_body(emulator, grant_type="authorization_code", code=code)
    )
    assert reply.status == 200, reply.body
    return reply.body


def test_a_call_without_a_valid_token_gets_the_documented_401(clock: ManualClock) -> None:
    emulator = create_emulator(clock=clock)

    missing = Client(emulator).get("/api/v4/leads")
    wrong = Client(emulator, token="nope").get("/api/v4/leads")

    assert missing.status == wrong.status == 401
    assert missing.body == wrong.body == without_source(doc("amocrm/unauthorized.json"))
    assert missing.header("content-type") == "application/problem+json"


def test_the_authorization_code_grant_returns_a_24_hour_bearer_pair_that_works(clock: ManualClock) -> None:
    emulator = create_emulator(clock=clock)

    pair = exchange_code(emulator)

    assert set(pair) == {"token_type", "expires_in", "access_token", "refresh_token"}
    assert pair["token_type"] == "Bearer" and pair["expires_in"] == 86400
    claims = json.loads(base64.urlsafe_b64decode(pair["access_token"].split(".")[1] + "=="))
    assert claims["api_domain"] == "sandbox.amocrm.ru" and claims["exp"] - claims["iat"] == 86400
    assert Client(emulator, token=pair["access_token"]).get("/api/v4/account").status == 200


def test_an_authorization_code_works_once(clock: ManualClock) -> None:
    emulator = create_emulator(clock=clock)
    exchange_code(emulator)
    code = emulator.config_snippet("http://sandbox.test")["oauth"]["authorization_code"]

    again = Client(emulator).post(
        "/oauth2/access_token", oauth_body(emulator, grant_type="authorization_code", code=code)
    )

    assert again.status == 400 and again.body["hint"] == "Authorization code has been revoked"


def test_a_refresh_token_rotates_and_the_old_one_is_revoked_once_used(clock: ManualClock) -> None:
    emulator = create_emulator(clock=clock)
    first = exchange_code(emulator)
    client = Client(emulator)

    second = client.post(
        "/oauth2/access_token",
        oauth_body(emulator, grant_type="refresh_token", refresh_token=first["refresh_token"]),
    )
    replay = client.post(
        "/oauth2/access_token",
        oauth_body(emulator, grant_type="refresh_token", refresh_token=first["refresh_token"]),
    )
    third = client.post(
        "/oauth2/access_token",
        oauth_body(emulator, grant_type="refresh_token", refresh_token=second.body["refresh_token"]),
    )

    assert second.status == 200 and second.body["refresh_token"] != first["refresh_token"]
    assert replay.status == 401 and replay.body == without_source(doc("amocrm/token_revoked.json"))
    assert third.status == 200
    assert Client(emulator, token=third.body["access_token"]).get("/api/v4/users").status == 200


def test_an_access_token_stops_working_after_24_hours(clock: ManualClock) -> None:
    emulator = create_emulator(clock=clock, rate_limit=False)
    pair = exchange_code(emulator)
    client = Client(emulator, token=pair["access_token"])

    clock.advance(86399)
    assert client.get("/api/v4/account").status == 200
    clock.advance(1)

    assert client.get("/api/v4/account").status == 401


def test_wrong_client_credentials_are_refused_by_the_token_endpoint(clock: ManualClock) -> None:
    emulator = create_emulator(clock=clock)
    body = oauth_body(emulator, grant_type="refresh_token", refresh_token="x")
    body["client_secret"] = "guess"

    reply = Client(emulator).post("/oauth2/access_token", body)

    assert reply.status == 401 and reply.body["hint"] == "Client authentication failed"


def test_the_eighth_request_within_one_second_gets_429(clock: ManualClock) -> None:
    client = Client(create_emulator(clock=clock), token=TOKEN)

    statuses = [client.get("/api/v4/account").status for _ in range(8)]
    clock.advance(1.0)

    assert statuses == [200] * 7 + [429]
    assert client.get("/api/v4/account").status == 200


def test_rate_limit_off_lets_bursts_through(clock: ManualClock) -> None:
    emulator = create_emulator(clock=clock)
    emulator.set_rate_limit(False)
    client = Client(emulator, token=TOKEN)

    assert {client.get("/api/v4/account").status for _ in range(50)} == {200}


def test_repeated_violations_block_the_account_with_403_even_for_tokens(clock: ManualClock) -> None:
    emulator = create_emulator(clock=clock, block_after=5, block_seconds=600)
    client = Client(emulator, token=TOKEN)
    for _ in range(7 + 4):
        client.get("/api/v4/account")

    fifth_refusal = client.get("/api/v4/account")
    clock.advance(5)
    later = client.get("/api/v4/account")
    token_call = Client(emulator).post(
        "/oauth2/access_token", oauth_body(emulator, grant_type="refresh_token", refresh_token="x")
    )
    clock.advance(600)

    assert fifth_refusal.status == 429
    assert (
        later.status == 403 and later.header("content-type") == "text/html" and "403 Forbidden" in later.body
    )
    assert token_call.status == 403
    assert client.get("/api/v4/account").status == 200


def test_without_a_block_threshold_violations_only_ever_get_429(clock: ManualClock) -> None:
    client = Client(create_emulator(clock=clock, block_after=None), token=TOKEN)

    statuses = {client.get("/api/v4/account").status for _ in range(200)}

    assert statuses == {200, 429}


def test_an_unpaid_account_answers_402(clock: ManualClock) -> None:
    reply = Client(create_emulator(clock=clock, payment_required=True), token=TOKEN).get("/api/v4/leads")

    assert reply.status == 402 and reply.body["type"] == "https://httpstatus.es/402"


@pytest.mark.parametrize("status", [401, 429, 500, 502, 503, 504])
def test_injected_failures_look_like_amocrm_problem_answers(status: int) -> None:
    answer = create_emulator().error_response(status)

    assert answer.status == status
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.body["status"] == status and answer.body["type"] == f"https://httpstatus.es/{status}"


def test_an_injected_403_is_the_block_page() -> None:
    answer = create_emulator().error_response(403)

    assert answer.status == 403 and "nginx" in answer.body


def test_config_snippet_points_crm_bridge_at_the_sandbox_with_a_token_from_the_environment() -> None:
    snippet = create_emulator().config_snippet("http://127.0.0.1:8123")

    assert snippet["crm"] == {
        "kind": "amocrm",
        "amocrm": {"base_url": "http://127.0.0.1:8123", "access_token": "${AMOCRM_ACCESS_TOKEN}"},
    }
    assert snippet["env"]["AMOCRM_ACCESS_TOKEN"] == TOKEN


def test_reset_returns_to_a_fresh_account_and_revokes_oauth_tokens(clock: ManualClock) -> None:
    emulator = create_emulator(clock=clock, rate_limit=False)
    pair = exchange_code(emulator)
    client = Client(emulator, token=TOKEN)
    client.post("/api/v4/leads", [{"name": "x"}])

    emulator.reset()

    assert client.get("/api/v4/leads").status == 204
    assert Client(emulator, token=pair["access_token"]).get("/api/v4/leads").status == 401
    assert exchange_code(emulator)["access_token"]
