"""The HubSpot transport's error mapping and 429 waits on the emulator: every status becomes the
crm-bridge error a caller acts on, with a message naming the request, HubSpot's category, message and
correlationId; a 429 is waited out by its policy (a quarter of the reported window a try for the
rolling window, 1 s for the per-second search limit, none for the daily quota: that one is handed back
with the time to midnight); an answer that is not JSON is a transient error."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import pytest
from hs_support import MemoryKV, SharedClock, Sleeps, config, make_adapter, spec_sandbox, violations

from crm_bridge.errors import (
    AuthError,
    CrmError,
    CrmFatalError,
    CrmValidationError,
    NotFound,
    PermissionDenied,
    RateLimited,
    TransientError,
)
from crm_bridge.ports import Entity
from crm_bridge.sandbox.faults import FaultPlan
from crm_bridge.sandbox.server import Sandbox
from crm_bridge_hubspot import HubSpotAdapter
from crm_bridge_hubspot.transport import seconds_to_midnight, zone_of

OWNERS = "hubspot: GET /crm/v3/owners answered HTTP"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


@pytest.mark.parametrize(
    ("status", "kind", "text"),
    [
        (400, CrmValidationError, "400 VALIDATION_ERROR: Invalid input"),
        (403, PermissionDenied, "403 ERROR: error"),
        (404, NotFound, "404 OBJECT_NOT_FOUND: resource not found"),
        (409, CrmValidationError, "409 ERROR: error"),
        (422, CrmValidationError, "422 ERROR: error"),
        (418, CrmFatalError, "418 ERROR: error"),
    ],
)
def test_a_refusal_becomes_the_error_of_its_status_naming_category_message_and_correlation_id(
    adapter: HubSpotAdapter, sandbox: Sandbox, sleeps: Sleeps, status: int, kind: type[CrmError], text: str
) -> None:
    sandbox.faults.set(FaultPlan(sequence=[status]))

    with pytest.raises(CrmError) as caught:
        adapter.list_users()

    error = caught.value
    assert type(error) is kind and (error.status, error.crm) == (status, "hubspot")
    assert error.code == text.split()[1].rstrip(":")
    assert re.fullmatch(f"{re.escape(f'{OWNERS} {text}')} \\(correlationId {UUID}\\)", error.message)
    assert sandbox.request_count() == 1 and sleeps.waits == []


def test_a_401_names_the_token_to_check(adapter: HubSpotAdapter, sandbox: Sandbox) -> None:
    sandbox.faults.set(FaultPlan(sequence=[401]))

    with pytest.raises(AuthError) as caught:
        adapter.list_users()

    assert caught.value.config_key == "crm.hubspot.access_token" and caught.value.status == 401
    assert caught.value.code == "EXPIRED_AUTHENTICATION"
    assert re.fullmatch(
        f"{OWNERS} 401 EXPIRED_AUTHENTICATION: The OAuth token used to make this call expired "
        f"0 second\\(s\\) ago\\. \\(correlationId {UUID}\\); check crm\\.hubspot\\.access_token",
        caught.value.message,
    )


def test_a_server_error_is_retried_and_then_is_transient(
    sandbox: Sandbox, kv: MemoryKV, sleeps: Sleeps
) -> None:
    made = make_adapter(config(sandbox, http={"max_retries": 2}), kv, sleeps)
    sandbox.faults.set(FaultPlan(sequence=[503, 500, 502]))

    with pytest.raises(TransientError) as caught:
        made.list_users()
    made.close()

    assert sandbox.request_count() == 3 and len(sleeps.waits) == 2
    assert caught.value.status == 502 and caught.value.code == "INTERNAL_ERROR"
    assert caught.value.message.startswith(f"{OWNERS} 502 INTERNAL_ERROR: bad gateway (correlationId ")


def test_an_answer_that_is_not_json_is_a_transient_error(adapter: HubSpotAdapter, sandbox: Sandbox) -> None:
    sandbox.faults.set(FaultPlan(malformed=["html"]))

    with pytest.raises(TransientError, match=r"^hubspot: GET /crm/v3/owners answered with no JSON$"):
        adapter.list_users()


@pytest.mark.parametrize(("window", "wait"), [(10.0, 2.5), (4.0, 1.0)])
def test_a_429_of_the_rolling_window_waits_a_quarter_of_the_reported_window_a_try(
    adapter: HubSpotAdapter, sandbox: Sandbox, sleeps: Sleeps, window: float, wait: float
) -> None:
    sandbox.emulator.limits.window = window  # type: ignore[attr-defined]  # X-HubSpot-RateLimit-Interval-Milliseconds
    sandbox.faults.set(FaultPlan(sequence=[429, 429]))

    assert adapter.list_users() is not None

    assert sleeps.waits == [wait, wait] and [r["status"] for r in sandbox.requests()] == [429, 429, 200]


@pytest.fixture
def clocked() -> Iterator[tuple[Sandbox, SharedClock]]:
    clock = SharedClock(datetime(2026, 12, 6, 22, 0, tzinfo=UTC).timestamp())
    with spec_sandbox(emulator_options={"time_zone": "UTC"}) as sandbox:
        sandbox.emulator.set_clock(clock)
        yield sandbox, clock
        assert not violations(sandbox)


def test_a_search_over_the_per_second_limit_waits_one_second(clocked: tuple[Sandbox, SharedClock]) -> None:
    sandbox, clock = clocked
    made = make_adapter(config(sandbox), MemoryKV(), clock.sleep, clock)
    made.catalog()  # the layout read, before the limits are on
    sandbox.emulator.limits.search_per_second = 1  # type: ignore[attr-defined]
    sandbox.emulator.set_rate_limit(True)
    sandbox.log.clear()
    clock.waits.clear()

    for _ in range(2):
        assert list(made.changed_since(Entity.PARTNER, None))
    made.close()

    statuses = [r["status"] for r in sandbox.requests()]
    assert statuses == [200, 429, 200] and [w for w in clock.waits if w > 0.01] == [1.0]


def test_a_429_of_the_daily_quota_is_not_waited_out_but_handed_back_with_the_time_to_midnight(
    clocked: tuple[Sandbox, SharedClock],
) -> None:
    sandbox, clock = clocked
    made = make_adapter(config(sandbox), MemoryKV(), clock.sleep, clock)
    sandbox.emulator.set_rate_limit(True)
    made.list_users()
    sandbox.emulator.limits.daily = 1  # type: ignore[attr-defined]  # spent elsewhere meanwhile

    with pytest.raises(RateLimited) as caught:
        made.list_users()
    made.close()

    assert caught.value.retry_after == 7200.0 and clock.waits == [] and sandbox.request_count() == 2
    assert caught.value.message.startswith(f"{OWNERS} 429 RATE_LIMITS: You have reached your daily limit.")


def test_an_account_time_zone_that_cannot_be_read_makes_the_quota_reset_at_midnight_utc(
    clocked: tuple[Sandbox, SharedClock], caplog: pytest.LogCaptureFixture
) -> None:
    sandbox, clock = clocked
    sandbox.emulator.limits.daily = 10  # type: ignore[attr-defined]
    sandbox.emulator.set_rate_limit(True)
    made = make_adapter(config(sandbox, daily_reserve=0.5), MemoryKV(), clock.sleep, clock)
    for _ in range(4):
        made.list_users()
    sandbox.faults.set(FaultPlan(sequence=[0, 404]))  # the answer at the reserve, then the details

    with caplog.at_level(logging.WARNING, logger="crm_bridge_hubspot"):
        made.list_users()
        with pytest.raises(RateLimited) as caught:
            made.list_users()
    made.close()

    assert caught.value.retry_after == 7200.0
    assert (
        "hubspot: could not read the account's time zone (hubspot: GET /account-info/v3/details"
        in caplog.text
    )
    assert "the daily quota is taken to reset at midnight UTC" in caplog.text
    assert (
        "(5 of 10 left, 5 kept in reserve); scheduled work pauses until 2026-12-07 00:00 UTC" in caplog.text
    )
    assert str(caught.value) == (
        "hubspot: paused: the daily API quota is nearly used up (5 of 10 left, 5 kept in reserve); "
        "work goes on after 2026-12-07 00:00 UTC"
    )


@pytest.mark.parametrize(
    ("details", "zone"),
    [
        ({"timeZone": "Asia/Tokyo", "utcOffsetMilliseconds": 0}, ZoneInfo("Asia/Tokyo")),
        ({"timeZone": "Mars/Olympus", "utcOffsetMilliseconds": -18_000_000}, timezone(timedelta(hours=-5))),
        ({"timeZone": "", "utcOffsetMilliseconds": 3_600_000}, timezone(timedelta(hours=1))),
        ({"utcOffsetMilliseconds": 86_399_999}, timezone(timedelta(milliseconds=86_399_999))),
        ({"utcOffsetMilliseconds": 86_400_000}, UTC),
        ({"utcOffsetMilliseconds": -86_400_000}, UTC),
        ({"utcOffsetMilliseconds": "3600000"}, UTC),
        ({"timeZone": 5}, UTC),
        ({}, UTC),
    ],
)
def test_the_accounts_zone_is_its_name_else_its_offset_else_utc(
    details: dict[str, object], zone: object
) -> None:
    assert zone_of(details) == zone


def test_an_unknown_zone_name_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="crm_bridge_hubspot"):
        zone_of({"timeZone": "Mars/Olympus"})

    assert caplog.messages == ["hubspot: unknown account time zone 'Mars/Olympus'; using its UTC offset"]


@pytest.mark.parametrize(
    ("now", "zone", "seconds"),
    [
        (datetime(2026, 12, 6, 22, 0, tzinfo=UTC), UTC, 7200.0),
        (datetime(2026, 12, 6, 23, 59, 59, 500_000, tzinfo=UTC), UTC, 1.0),  # at least a second
        (datetime(2026, 12, 6, 23, 59, 58, tzinfo=UTC), UTC, 2.0),
        # the DST day in New York is 23 hours long: midnight of 9 March is 04:00 UTC
        (datetime(2026, 3, 8, 5, 0, tzinfo=UTC), ZoneInfo("America/New_York"), 23 * 3600.0),
    ],
)
def test_the_quota_resets_at_the_next_midnight_of_the_zone(
    now: datetime, zone: object, seconds: float
) -> None:
    assert seconds_to_midnight(now.timestamp(), zone) == seconds  # type: ignore[arg-type]


def test_a_refused_oauth_refresh_names_the_settings_to_check(sandbox: Sandbox, kv: MemoryKV) -> None:
    oauth = sandbox.config_snippet()["oauth"]
    section = {
        "client_id": oauth["client_id"],
        "client_secret": oauth["client_secret"],
        "refresh_token": "revoked",
    }
    made = make_adapter(config(sandbox, oauth=section), kv, Sleeps())

    with pytest.raises(AuthError) as caught:
        made.list_users()
    made.close()

    assert caught.value.config_key == "crm.hubspot.oauth.refresh_token"
    assert str(caught.value).startswith("HubSpot refused to refresh the OAuth token: ")
    assert str(caught.value).endswith(
        "; check crm.hubspot.oauth.refresh_token and crm.hubspot.oauth.client_id/client_secret (install the "
        "app again if it was revoked)"
    )
    [sent] = sandbox.requests()
    assert sent["path"] == "/oauth/v1/token" and parse_qs(sent["body"]) == {
        "grant_type": ["refresh_token"],
        "client_id": [oauth["client_id"]],
        "client_secret": [oauth["client_secret"]],
        "refresh_token": ["revoked"],
    }
