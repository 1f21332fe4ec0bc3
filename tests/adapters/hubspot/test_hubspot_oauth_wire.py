"""A public app's token refresh against recorded HubSpot answers (``responses``): the form goes to the
configured token URL, a token endpoint out of reach is tried again twice (waiting on the adapter's
sleep) and told to its metrics hook, the pair lives as long as HubSpot's ``expires_in`` says (1800 s
when it says nothing), and a grant without a new refresh token leaves the old one in force (RFC 6749,
section 6)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests
import responses
from hs_support import MemoryKV, SharedClock

from crm_bridge.errors import AuthError, CrmRetriableError
from crm_bridge.http import KvTokenStore, TokenPair
from crm_bridge.ports import AdapterContext
from crm_bridge_hubspot.config import HubSpotConfig
from crm_bridge_hubspot.transport import HubSpotTransport

BASE = "https://api.hubapi.com"
OWNERS = f"{BASE}/crm/v3/owners"
TOKEN = f"{BASE}/oauth/v1/token"


@pytest.fixture
def wire() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(OWNERS, json={"results": []})
        yield mock


@pytest.fixture
def clock() -> SharedClock:
    return SharedClock(datetime(2026, 12, 6, 22, 0, tzinfo=UTC).timestamp())


class Metrics:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, int]] = []

    def __call__(self, crm: str, endpoint: str, status: int) -> None:
        self.seen.append((crm, endpoint, status))


def transport(
    clock: SharedClock, kv: MemoryKV | None = None, on_request: Any = None, **oauth: Any
) -> HubSpotTransport:
    section = {"client_id": "app-id", "client_secret": "app-secret", "refresh_token": "r1", **oauth}
    config = HubSpotConfig(oauth=section, tier="starter")  # type: ignore[arg-type]
    ctx = AdapterContext(kv=kv or MemoryKV(), clock=clock, sleep=clock.sleep, on_request=on_request)
    return HubSpotTransport(config, ctx, "portal")


def grant(access: str, refresh: str | None = "r2", expires_in: int | None = 1800) -> dict[str, Any]:
    body: dict[str, Any] = {"access_token": access, "token_type": "bearer"}
    if refresh is not None:
        body["refresh_token"] = refresh
    if expires_in is not None:
        body["expires_in"] = expires_in
    return body


def token_calls(wire: responses.RequestsMock, url: str = TOKEN) -> list[dict[str, list[str]]]:
    return [parse_qs(str(c.request.body)) for c in wire.calls if c.request.url == url]


def test_the_refresh_posts_the_form_to_the_configured_token_url_and_uses_the_new_token(
    wire: responses.RequestsMock, clock: SharedClock
) -> None:
    url = "https://auth.example.test/oauth/v1/token"
    wire.post(url, json=grant("a1"))

    transport(clock, token_url=url).call("GET", "/crm/v3/owners")

    refresh, owners = wire.calls
    assert refresh.request.url == url
    assert refresh.request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(str(refresh.request.body)) == {
        "grant_type": ["refresh_token"],
        "client_id": ["app-id"],
        "client_secret": ["app-secret"],
        "refresh_token": ["r1"],
    }
    assert owners.request.headers["Authorization"] == "Bearer a1"


def test_a_token_endpoint_out_of_reach_is_tried_again_twice_waiting_on_the_adapters_sleep(
    wire: responses.RequestsMock, clock: SharedClock
) -> None:
    wire.post(TOKEN, body=requests.ConnectTimeout("connect timeout"))
    wire.post(TOKEN, body=requests.ConnectTimeout("connect timeout"))
    wire.post(TOKEN, json=grant("a1"))
    metrics = Metrics()

    transport(clock, on_request=metrics).call("GET", "/crm/v3/owners")

    assert len(token_calls(wire)) == 3 and len(clock.waits) == 2
    told = [(crm, status) for crm, endpoint, status in metrics.seen if "oauth" in endpoint]
    assert told == [("hubspot-oauth", 0), ("hubspot-oauth", 0), ("hubspot-oauth", 200)]
    assert wire.calls[-1].request.headers["Authorization"] == "Bearer a1"


def test_a_token_endpoint_out_of_reach_three_times_is_an_outage_of_hubspot_not_bad_credentials(
    wire: responses.RequestsMock, clock: SharedClock
) -> None:
    for _ in range(3):
        wire.post(TOKEN, body=requests.ConnectTimeout("connect timeout"))
    wire.post(TOKEN, json=grant("a1"))

    with pytest.raises(CrmRetriableError) as caught:
        transport(clock).call("GET", "/crm/v3/owners")

    assert len(token_calls(wire)) == 3 and caught.value.crm == "hubspot"
    assert not isinstance(caught.value, AuthError)  # the run is tried again; nothing to fix in the config
    assert str(caught.value).startswith("HubSpot's OAuth token endpoint could not refresh the token now: ")


def test_a_refused_refresh_is_an_auth_error_naming_the_refresh_token(
    wire: responses.RequestsMock, clock: SharedClock
) -> None:
    wire.post(
        TOKEN, status=400, json={"status": "BAD_REFRESH_TOKEN", "message": "missing or unknown refresh token"}
    )

    with pytest.raises(AuthError) as caught:
        transport(clock).call("GET", "/crm/v3/owners")

    assert len(token_calls(wire)) == 1 and caught.value.crm == "hubspot"
    assert caught.value.config_key == "crm.hubspot.oauth.refresh_token"


def test_the_pair_lives_as_long_as_hubspots_expires_in_says(
    wire: responses.RequestsMock, clock: SharedClock
) -> None:
    wire.post(TOKEN, json=grant("a1", expires_in=3600))
    made = transport(clock)
    made.call("GET", "/crm/v3/owners")

    clock.now += 3000  # past the usual 1800 s, within this grant's 3600
    made.call("GET", "/crm/v3/owners")

    assert len(token_calls(wire)) == 1


def test_a_grant_without_expires_in_is_refreshed_a_minute_before_1800_seconds(
    wire: responses.RequestsMock, clock: SharedClock
) -> None:
    wire.post(TOKEN, json=grant("a1", expires_in=None))
    made = transport(clock)
    made.call("GET", "/crm/v3/owners")
    start = clock.now

    clock.now = start + 1739
    made.call("GET", "/crm/v3/owners")
    before = len(token_calls(wire))
    clock.now = start + 1740
    made.call("GET", "/crm/v3/owners")

    assert (before, len(token_calls(wire))) == (1, 2)


def test_a_grant_without_a_new_refresh_token_keeps_the_old_one_for_the_next_refresh(
    wire: responses.RequestsMock, clock: SharedClock
) -> None:
    wire.post(TOKEN, json=grant("a1", refresh="r2"))
    wire.post(TOKEN, json=grant("a2", refresh=None))
    wire.post(TOKEN, json=grant("a3", refresh="r3"))
    made = transport(clock)

    for _ in range(3):
        made.call("GET", "/crm/v3/owners")
        clock.now += 1800

    assert [form["refresh_token"] for form in token_calls(wire)] == [["r1"], ["r2"], ["r2"]]


def test_a_stored_pair_without_a_refresh_token_names_the_setting_once_it_expires(
    wire: responses.RequestsMock, clock: SharedClock
) -> None:
    kv = MemoryKV()
    KvTokenStore(kv, "hubspot.oauth_tokens").save(TokenPair("a0", "", clock() - 1))

    with pytest.raises(AuthError) as caught:
        transport(clock, kv).call("GET", "/crm/v3/owners")

    assert caught.value.config_key == "crm.hubspot.oauth.refresh_token" and len(wire.calls) == 0
