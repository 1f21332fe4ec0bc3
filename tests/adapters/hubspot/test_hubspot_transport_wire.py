"""The HubSpot transport against recorded answers (``responses``): error answers the emulator never
gives (HubSpot's documented 429 body without a ``category``, a proxy's HTML page, a JSON array), the
429 waits by header, and the daily quota's pause told in the account's time zone whatever the zone of
the machine crm-bridge runs on."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import responses
from hs_support import MemoryKV, SharedClock

from crm_bridge.errors import CrmError, CrmValidationError, RateLimited, TransientError
from crm_bridge.ports import AdapterContext
from crm_bridge_hubspot.config import HubSpotConfig
from crm_bridge_hubspot.transport import HubSpotTransport

BASE = "https://api.hubapi.com"
OWNERS = f"{BASE}/crm/v3/owners"
DETAILS = f"{BASE}/account-info/v3/details"
# HubSpot's 429 of the per-second search limit, as its usage guidelines quote it: no ``category``
SECONDLY = {
    "status": "error",
    "message": "You have reached your secondly limit.",
    "errorType": "RATE_LIMIT",
    "correlationId": "6828d000-aaaa-bbbb-cccc-000000000001",
    "policyName": "SECONDLY",
    "requestId": "ce6a6a91",
}


@pytest.fixture
def wire() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def clock() -> SharedClock:
    return SharedClock(datetime(2026, 12, 6, 22, 0, tzinfo=UTC).timestamp())


def transport(clock: SharedClock, **settings: Any) -> HubSpotTransport:
    config = HubSpotConfig(access_token="pat-na1-test", tier="starter", **settings)  # type: ignore[arg-type]
    return HubSpotTransport(config, AdapterContext(kv=MemoryKV(), clock=clock, sleep=clock.sleep), "portal")


@pytest.mark.parametrize(
    ("status", "answer", "kind", "text"),
    [
        (429, {"json": SECONDLY}, RateLimited, "429 RATE_LIMIT: You have reached your secondly limit. "
         "(correlationId 6828d000-aaaa-bbbb-cccc-000000000001)"),
        (502, {"body": "<html><body>502 Bad Gateway</body></html>"}, TransientError, "502 ERROR: no message"),
        (400, {"json": [{"message": "not the documented error object"}]}, CrmValidationError,
         "400 ERROR: no message"),
    ],
)  # fmt: skip
def test_an_error_answer_without_a_category_is_named_by_its_error_type_else_as_error(
    wire: responses.RequestsMock,
    clock: SharedClock,
    status: int,
    answer: dict[str, Any],
    kind: type[CrmError],
    text: str,
) -> None:
    wire.get(OWNERS, status=status, **answer)
    made = transport(clock, http={"max_retries": 0})

    with pytest.raises(CrmError) as caught:
        made.call("GET", "/crm/v3/owners")

    assert type(caught.value) is kind
    assert str(caught.value) == f"hubspot: GET /crm/v3/owners answered HTTP {text}"
    assert (caught.value.crm, caught.value.status, caught.value.code) == ("hubspot", status, "")


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({"Retry-After": "3"}, 3.0),  # HubSpot's own figure comes first
        ({}, 2.5),  # no window reported: a quarter of HubSpot's 10 s
        ({"X-HubSpot-RateLimit-Interval-Milliseconds": "ten seconds"}, 2.5),
        ({"X-HubSpot-RateLimit-Interval-Milliseconds": "8000"}, 2.0),
    ],
)
def test_a_429_of_the_rolling_window_waits_what_its_headers_say(
    wire: responses.RequestsMock, clock: SharedClock, headers: dict[str, str], wait: float
) -> None:
    body = {**SECONDLY, "policyName": "TEN_SECONDLY_ROLLING", "message": "ten_secondly_rolling limit"}
    wire.get(OWNERS, status=429, json=body, headers=headers)
    wire.get(OWNERS, json={"results": []})

    assert transport(clock).call("GET", "/crm/v3/owners") == {"results": []}

    assert [w for w in clock.waits if w > 0.01] == [wait] and len(wire.calls) == 2


def quota_headers(remaining: int) -> dict[str, str]:
    return {"X-HubSpot-RateLimit-Daily": "10", "X-HubSpot-RateLimit-Daily-Remaining": str(remaining)}


@pytest.fixture
def tokyo_machine() -> Iterator[None]:
    """The process's local time zone is Asia/Tokyo (as on a server set to local time)."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Tokyo"
    time.tzset()
    yield
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


@pytest.mark.usefixtures("tokyo_machine")
def test_the_quota_pause_names_midnight_of_the_account_and_in_utc_whatever_the_machines_zone(
    wire: responses.RequestsMock, clock: SharedClock, caplog: pytest.LogCaptureFixture
) -> None:
    wire.get(OWNERS, json={"results": []}, headers=quota_headers(1))
    wire.get(DETAILS, json={"portalId": 62515, "timeZone": "America/New_York"})
    made = transport(clock, daily_reserve=0.5)
    with caplog.at_level(logging.WARNING, logger="crm_bridge_hubspot"):
        made.call("GET", "/crm/v3/owners")

    with pytest.raises(RateLimited) as caught:
        made.call("GET", "/crm/v3/owners")

    assert str(caught.value).endswith("work goes on after 2026-12-07 00:00 America/New_York (05:00 UTC)")
    assert caught.value.retry_after == 7 * 3600.0
    assert caplog.messages == [
        "hubspot: the daily API quota is nearly used up (1 of 10 left, 5 kept in reserve); scheduled work "
        "pauses until 2026-12-07 00:00 America/New_York (05:00 UTC) (midnight in the account's time zone)"
    ]


@pytest.mark.parametrize("daily", [None, "a lot"])
def test_an_answer_telling_the_remaining_quota_but_no_readable_daily_limit_keeps_the_configured_one(
    wire: responses.RequestsMock, clock: SharedClock, daily: str | None
) -> None:
    headers = {"X-HubSpot-RateLimit-Daily-Remaining": "200000"}
    if daily is not None:
        headers["X-HubSpot-RateLimit-Daily"] = daily
    wire.get(OWNERS, json={"results": []}, headers=headers)
    made = transport(clock)

    assert made.call("GET", "/crm/v3/owners") == {"results": []}

    assert (made.daily.remaining, made.daily.limit) == (200_000, 250_000) and len(wire.calls) == 1


def test_a_daily_429_after_the_pause_waits_for_midnight_of_the_accounts_zone(
    wire: responses.RequestsMock, clock: SharedClock
) -> None:
    wire.get(OWNERS, json={"results": []}, headers=quota_headers(1))
    wire.get(DETAILS, json={"portalId": 62515, "timeZone": "America/New_York"})
    made = transport(clock, daily_reserve=0.5)
    made.call("GET", "/crm/v3/owners")  # pauses until 05:00 UTC, midnight in New York
    clock.now = datetime(2026, 12, 7, 5, 0, 1, tzinfo=UTC).timestamp()
    wire.replace(responses.GET, OWNERS, status=429, json={**SECONDLY, "policyName": "DAILY"})

    with pytest.raises(RateLimited) as caught:
        made.call("GET", "/crm/v3/owners")

    assert caught.value.retry_after == 24 * 3600.0 - 1  # the next midnight in New York, not in UTC
    assert [c.request.url for c in wire.calls].count(DETAILS) == 1


def test_account_details_that_are_not_an_object_make_the_quota_reset_at_midnight_utc(
    wire: responses.RequestsMock, clock: SharedClock
) -> None:
    wire.get(OWNERS, json={"results": []}, headers=quota_headers(1))
    wire.get(DETAILS, json=[{"timeZone": "America/New_York"}])
    made = transport(clock, daily_reserve=0.5)
    made.call("GET", "/crm/v3/owners")

    with pytest.raises(RateLimited) as caught:
        made.call("GET", "/crm/v3/owners")

    assert caught.value.retry_after == 2 * 3600.0
    assert str(caught.value).endswith("work goes on after 2026-12-07 00:00 UTC")


def test_a_quota_used_up_to_the_last_request_is_told_to_the_metrics_as_none_left(
    wire: responses.RequestsMock, clock: SharedClock
) -> None:
    told: list[tuple[str, int, int, str]] = []
    wire.get(OWNERS, json={"results": []}, headers=quota_headers(0))
    wire.get(DETAILS, json={"portalId": 62515, "timeZone": "UTC"})
    config = HubSpotConfig(access_token="pat-na1-test", tier="starter")  # type: ignore[call-arg]
    ctx = AdapterContext(
        kv=MemoryKV(), clock=clock, sleep=clock.sleep, on_quota=lambda *quota: told.append(quota)
    )

    HubSpotTransport(config, ctx, "portal").call("GET", "/crm/v3/owners")

    assert told == [("hubspot", 0, 10, "daily_quota")]
