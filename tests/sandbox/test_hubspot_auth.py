"""HubSpot authentication and limits through the emulator: 401 bodies, OAuth tokens that expire after
30 minutes, refresh, the 100-per-10-seconds window with its X-HubSpot-RateLimit-* headers, the daily
cap and the bodies used for injected failures (checked against the specs' Error schema)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from test_amocrm_support import Client, ManualClock, doc, without_source
from test_hubspot_support import TOKEN, SpecClient, error_schema_errors

from crm_bridge_hubspot.sandbox.emulator import create_emulator


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def token_pair(emulator, clock: ManualClock) -> dict:
    oauth = emulator.config_snippet("http://sandbox.test")["oauth"]
    reply = Client(emulator).request(
        "POST",
        "/oauth/v1/token",
        form={
            "grant_type": "authorization_code",
            "client_id": oauth["client_id"],
            "client_secret": oauth["client_secret"],
            "redirect_uri": oauth["redirect_uri"],
            "code": oauth["authorization_code"],
        },
    )
    assert reply.status == 200, reply.body
    return reply.body


def test_an_unknown_token_gets_invalid_authentication(clock: ManualClock) -> None:
    reply = SpecClient(create_emulator(clock=clock), token="nope").get("/crm/v3/objects/contacts")

    expected = without_source(doc("hubspot/invalid_auth_401.json"))
    assert reply.status == 401
    assert {k: v for k, v in reply.body.items() if k != "correlationId"} == {
        k: v for k, v in expected.items() if k != "correlationId"
    }


def test_an_oauth_access_token_expires_after_30_minutes_with_the_documented_401(clock: ManualClock) -> None:
    emulator = create_emulator(clock=clock, rate_limit=False)
    pair = token_pair(emulator, clock)
    client = SpecClient(emulator, token=pair["access_token"])

    assert pair["expires_in"] == 1800 and pair["token_type"] == "bearer"
    clock.advance(1799)
    assert client.get("/crm/v3/objects/deals").status == 200
    clock.advance(1)
    reply = client.get("/crm/v3/objects/deals")

    documented = doc("hubspot/expired_token_401.json")
    assert reply.status == 401 and reply.body["category"] == documented["category"]
    assert reply.body["message"] == documented["message"]
    assert set(reply.body) == set(without_source(documented)) | {"status"} - {"_source"}


def test_the_refresh_grant_issues_a_new_access_token_and_keeps_the_refresh_token(clock: ManualClock) -> None:
    emulator = create_emulator(clock=clock, rate_limit=False)
    pair = token_pair(emulator, clock)
    oauth = emulator.config_snippet("http://sandbox.test")["oauth"]
    clock.advance(3600)
    form = {
        "grant_type": "refresh_token",
        "client_id": oauth["client_id"],
        "client_secret": oauth["client_secret"],
        "refresh_token": pair["refresh_token"],
    }

    renewed = Client(emulator).request("POST", "/oauth/v1/token", form=form)
    unknown = Client(emulator).request("POST", "/oauth/v1/token", form={**form, "refresh_token": "nope"})

    assert renewed.status == 200 and renewed.body["refresh_token"] == pair["refresh_token"]
    assert SpecClient(emulator, token=renewed.body["access_token"]).get("/crm/v3/owners").status == 200
    assert unknown.status == 400 and unknown.body["status"] == "BAD_REFRESH_TOKEN"


def test_token_introspection_reports_the_remaining_lifetime(clock: ManualClock) -> None:
    emulator = create_emulator(clock=clock)
    pair = token_pair(emulator, clock)
    clock.advance(100)

    reply = Client(emulator).get(f"/oauth/v1/access-tokens/{pair['access_token']}")

    assert reply.status == 200 and reply.body["expires_in"] == 1700 and reply.body["token_type"] == "access"


def test_every_crm_answer_carries_the_rate_limit_headers(clock: ManualClock) -> None:
    client = SpecClient(create_emulator(clock=clock), token=TOKEN)

    first = client.get("/crm/v3/owners")
    second = client.get("/crm/v3/owners")

    assert first.header("X-HubSpot-RateLimit-Max") == "100"
    assert first.header("X-HubSpot-RateLimit-Interval-Milliseconds") == "10000"
    assert (
        first.header("X-HubSpot-RateLimit-Remaining"),
        second.header("X-HubSpot-RateLimit-Remaining"),
    ) == ("99", "98")
    assert first.header("X-HubSpot-RateLimit-Daily") == "250000"
    assert second.header("X-HubSpot-RateLimit-Daily-Remaining") == "249998"


def test_the_101st_request_in_ten_seconds_gets_a_ten_secondly_429(clock: ManualClock) -> None:
    client = SpecClient(create_emulator(clock=clock), token=TOKEN)
    for _ in range(100):
        assert client.get("/crm/v3/owners").status == 200
        clock.advance(0.05)

    refused = client.get("/crm/v3/owners")
    clock.advance(5.01)  # the first request leaves the rolling window

    assert refused.status == 429 and refused.header("X-HubSpot-RateLimit-Remaining") == "0"
    documented = doc("hubspot/rate_limit_429.json")
    assert set(without_source(documented)) <= set(refused.body)
    assert refused.body["policyName"] == "TEN_SECONDLY_ROLLING" and refused.body["category"] == "RATE_LIMITS"
    assert refused.body["message"] == "You have reached your ten_secondly_rolling limit."
    assert client.get("/crm/v3/owners").status == 200


def test_the_daily_cap_answers_a_daily_429_until_midnight_in_the_accounts_time_zone(
    clock: ManualClock,
) -> None:
    clock.now = datetime(2026, 1, 2, 5, 0, tzinfo=UTC).timestamp() - 20  # 23:59:40 in New York
    client = SpecClient(create_emulator(clock=clock, daily_limit=3, time_zone="US/Eastern"), token=TOKEN)
    statuses = [client.get("/crm/v3/owners").status for _ in range(4)]
    refused = client.get("/crm/v3/owners").body["policyName"]
    clock.advance(30)

    assert statuses == [200, 200, 200, 429] and refused == "DAILY"
    assert client.get("/crm/v3/owners").status == 200


# PortalInformationResponse's required fields in HubSpot's account-info v3 spec
# (PublicApiSpecs/Account/Account Info/Rollouts/144923/v3/accountInfo.json)
ACCOUNT_FIELDS = {
    "accountType": str,
    "additionalCurrencies": list,
    "companyCurrency": str,
    "dataHostingLocation": str,
    "portalId": int,
    "timeZone": str,
    "uiDomain": str,
    "utcOffset": str,
    "utcOffsetMilliseconds": int,
}


@pytest.mark.parametrize(
    ("zone", "month", "offset", "millis"),
    [
        ("US/Eastern", 1, "-05:00", -18_000_000),
        ("US/Eastern", 7, "-04:00", -14_400_000),
        ("Asia/Kolkata", 1, "+05:30", 19_800_000),
    ],
)
def test_account_details_name_the_time_zone_and_its_offset_now(
    clock: ManualClock, zone: str, month: int, offset: str, millis: int
) -> None:
    clock.now = datetime(2026, month, 15, 12, 0, tzinfo=UTC).timestamp()
    client = SpecClient(create_emulator(clock=clock, time_zone=zone), token=TOKEN)

    answer = client.get("/account-info/v3/details")

    assert answer.status == 200
    assert {k: type(v) for k, v in answer.body.items()} == ACCOUNT_FIELDS
    assert (answer.body["timeZone"], answer.body["utcOffset"]) == (zone, offset)
    assert answer.body["utcOffsetMilliseconds"] == millis and answer.body["accountType"] == "STANDARD"
    assert answer.headers["X-HubSpot-RateLimit-Daily-Remaining"] == str(250_000 - 1)
    assert (
        SpecClient(create_emulator(clock=clock), token="wrong").get("/account-info/v3/details").status == 401
    )


def test_rate_limit_off_lets_any_burst_through(clock: ManualClock) -> None:
    emulator = create_emulator(clock=clock)
    emulator.set_rate_limit(False)
    client = Client(emulator, token=TOKEN)

    assert {client.get("/crm/v3/owners").status for _ in range(300)} == {200}


@pytest.mark.parametrize("status", [400, 401, 404, 429, 500, 502, 503, 504])
def test_injected_failures_carry_hubspots_error_body(status: int) -> None:
    answer = create_emulator().error_response(status)

    assert answer.status == status
    assert error_schema_errors("deals.v3", answer.body) == []
    assert answer.body["status"] == "error"


def test_config_snippet_names_the_private_app_token_and_the_oauth_app() -> None:
    snippet = create_emulator().config_snippet("http://127.0.0.1:8124")

    assert snippet["crm"]["hubspot"] == {
        "base_url": "http://127.0.0.1:8124",
        "access_token": "${HUBSPOT_ACCESS_TOKEN}",
    }
    assert snippet["env"]["HUBSPOT_ACCESS_TOKEN"] == TOKEN
    assert snippet["oauth"]["token_url"] == "http://127.0.0.1:8124/oauth/v1/token"


def test_reset_forgets_records_and_issued_tokens(clock: ManualClock) -> None:
    emulator = create_emulator(clock=clock, rate_limit=False)
    pair = token_pair(emulator, clock)
    client = SpecClient(emulator, token=TOKEN)
    client.post("/crm/v3/objects/companies", {"properties": {"name": "x"}, "associations": []})

    emulator.reset()

    assert client.get("/crm/v3/objects/companies").body["results"] == []
    assert SpecClient(emulator, token=pair["access_token"]).get("/crm/v3/owners").status == 401
    assert emulator.dump()["pipelines"]["deals"][0]["id"] == "default"
