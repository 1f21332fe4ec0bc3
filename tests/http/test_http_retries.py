"""Retries, back-off, Retry-After, idempotency and error translation of the HTTP layer."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest
import requests
import responses
from http_fakes import BASE, ManualClock, client

from crm_bridge.errors import (
    AuthError,
    CrmFatalError,
    CrmValidationError,
    NotFound,
    PermissionDenied,
    RateLimited,
    TransientError,
)
from crm_bridge.http import HttpPolicy, parse_retry_after

URL = f"{BASE}/leads"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@responses.activate
def test_a_read_is_retried_after_server_errors_with_growing_capped_jittered_waits(clock: ManualClock) -> None:
    for _ in range(3):
        responses.add(responses.GET, URL, status=503)
    responses.add(responses.GET, URL, json={"ok": True})
    http = client(clock, backoff_base=1.0, backoff_cap=3.0)
    assert http.get("/leads").json() == {"ok": True}
    assert len(responses.calls) == 4
    first, second, third = clock.sleeps
    assert 0.5 <= first <= 1.0 and 1.0 <= second <= 2.0 and 1.5 <= third <= 3.0  # half fixed, half jitter


@responses.activate
def test_retry_after_seconds_replaces_the_back_off(clock: ManualClock) -> None:
    responses.add(responses.GET, URL, status=429, headers={"Retry-After": "7"})
    responses.add(responses.GET, URL, json={})
    client(clock).get("/leads")
    assert clock.sleeps == [7.0]


@responses.activate
def test_retry_after_as_an_http_date_is_measured_against_the_injected_clock(clock: ManualClock) -> None:
    when = datetime.fromtimestamp(clock.now + 12, tz=UTC)
    responses.add(responses.GET, URL, status=503, headers={"Retry-After": format_datetime(when, usegmt=True)})
    responses.add(responses.GET, URL, json={})
    client(clock).get("/leads")
    assert clock.sleeps == [pytest.approx(12.0)]


def test_unreadable_or_past_retry_after_values_do_not_stall() -> None:
    assert parse_retry_after("soon", 0.0) is None
    assert parse_retry_after(None, 0.0) is None
    assert parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 1_764_158_400.0) == 0.0
    assert parse_retry_after("-3", 0.0) == 0.0


@responses.activate
def test_an_adapter_hook_can_read_the_wait_from_the_body(clock: ManualClock) -> None:
    reset_at = clock.now + 42
    body = {"error": "OPERATION_TIME_LIMIT", "time": {"operating_reset_at": reset_at}}
    responses.add(responses.POST, URL, status=429, json=body)
    responses.add(responses.POST, URL, json={"result": 1})

    def from_body(response: requests.Response, now: float) -> float | None:
        reset = response.json().get("time", {}).get("operating_reset_at")
        return None if reset is None else reset - now

    http = client(clock, retry_after_from=from_body)
    http.post("/leads", json={}, idempotent=True)
    assert clock.sleeps == [pytest.approx(42.0)]


@responses.activate
def test_when_retries_run_out_the_error_carries_the_servers_wait(clock: ManualClock) -> None:
    responses.add(responses.GET, URL, status=429, headers={"Retry-After": "3"})
    with pytest.raises(RateLimited) as info:
        client(clock, max_retries=2).get("/leads")
    assert info.value.retry_after == 3.0 and info.value.status == 429 and info.value.crm == "testcrm"
    assert "gave up after 3 attempts" in str(info.value)
    assert len(responses.calls) == 3


@responses.activate
def test_a_wait_longer_than_the_policy_allows_fails_at_once_for_the_caller_to_reschedule(
    clock: ManualClock,
) -> None:
    responses.add(responses.GET, URL, status=503, headers={"Retry-After": "3600"})
    with pytest.raises(TransientError) as info:
        client(clock, max_retry_after=60).get("/leads")
    assert info.value.retry_after == 3600.0
    assert clock.sleeps == [] and len(responses.calls) == 1


@responses.activate
def test_a_write_without_an_idempotency_key_is_never_resent(clock: ManualClock) -> None:
    responses.add(responses.POST, URL, status=503)
    responses.add(responses.POST, URL, json={"id": 1})
    with pytest.raises(TransientError):
        client(clock).post("/leads", json={"title": "x"})
    assert len(responses.calls) == 1 and clock.sleeps == []


@pytest.mark.parametrize("method", ["POST", "PATCH", "PUT", "DELETE"])
@responses.activate
def test_a_write_marked_idempotent_is_retried(clock: ManualClock, method: str) -> None:
    responses.add(method, URL, status=502)
    responses.add(method, URL, json={"id": 1})
    assert client(clock).request(method, "/leads", json={}, idempotent=True).json() == {"id": 1}
    assert len(responses.calls) == 2


@responses.activate
def test_a_write_refused_before_running_is_retried_even_without_a_key(clock: ManualClock) -> None:
    responses.add(responses.POST, URL, status=503, json={"error": "QUERY_LIMIT_EXCEEDED"})
    responses.add(responses.POST, URL, json={"result": 5})

    def refused(response: requests.Response) -> bool:
        return response.json().get("error") == "QUERY_LIMIT_EXCEEDED"

    assert client(clock, refused_before_running=refused).post("/leads", json={}).json() == {"result": 5}


@responses.activate
def test_connection_errors_become_transient_errors_and_reads_are_retried(clock: ManualClock) -> None:
    responses.add(responses.GET, URL, body=requests.ConnectionError("connection reset"))
    responses.add(responses.GET, URL, json={"ok": 1})
    assert client(clock).get("/leads").json() == {"ok": 1}
    responses.replace(responses.GET, URL, body=requests.ConnectionError("connection reset"))
    with pytest.raises(TransientError) as info:
        client(clock, max_retries=0).get("/leads")
    assert isinstance(info.value.__cause__, requests.ConnectionError)
    assert info.value.retry_after is None


@responses.activate
def test_a_read_timeout_on_a_write_is_not_resent_but_a_connect_timeout_is(clock: ManualClock) -> None:
    responses.add(responses.POST, URL, body=requests.ReadTimeout("read timed out"))
    with pytest.raises(TransientError, match="ReadTimeout"):
        client(clock).post("/leads", json={})
    assert len(responses.calls) == 1
    responses.replace(responses.POST, URL, body=requests.ConnectTimeout("connect timed out"))
    responses.add(responses.POST, URL, json={"id": 2})
    assert client(clock).post("/leads", json={}).json() == {"id": 2}


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, CrmValidationError),
        (401, AuthError),
        (403, PermissionDenied),
        (404, NotFound),
        (418, CrmFatalError),
    ],
)
@responses.activate
def test_fatal_statuses_map_to_our_errors_and_are_not_retried(
    clock: ManualClock, status: int, error: type
) -> None:
    responses.add(responses.GET, URL, status=status)
    with pytest.raises(error) as info:
        client(clock).get("/leads?filter=1")
    assert info.value.status == status and len(responses.calls) == 1
    assert str(info.value) == f"testcrm: GET /leads answered HTTP {status}"


@responses.activate
def test_the_adapters_error_table_decides_what_a_failure_means(clock: ManualClock) -> None:
    responses.add(responses.GET, URL, status=503, json={"error": "OVERLOAD_LIMIT"})
    responses.add(responses.GET, f"{BASE}/deals", status=400, json={"error": "QUERY_LIMIT_EXCEEDED"})

    def table(response: requests.Response) -> CrmFatalError | RateLimited | None:
        code = response.json().get("error")
        if code == "OVERLOAD_LIMIT":
            return CrmFatalError("the portal is blocked: contact Bitrix24 support", code=code)
        if code == "QUERY_LIMIT_EXCEEDED":
            return RateLimited("too many requests", code=code)
        return None

    http = client(clock, translate_error=table, max_retries=1)
    with pytest.raises(CrmFatalError, match="contact Bitrix24 support"):
        http.get("/leads")
    assert len(responses.calls) == 1
    with pytest.raises(RateLimited) as info:
        http.get("/deals")
    assert info.value.code == "QUERY_LIMIT_EXCEEDED" and len(responses.calls) == 3


@responses.activate
def test_timeouts_and_user_agent_go_with_every_request(clock: ManualClock) -> None:
    responses.add(responses.GET, URL, status=500)
    responses.add(responses.GET, URL, json={})
    responses.add(responses.POST, URL, json={})
    http = client(clock, connect_timeout=3.5, read_timeout=20.0, user_agent="crm-bridge/test")
    http.get("/leads")
    http.post("/leads", data={"a": 1})
    assert [c.request.req_kwargs["timeout"] for c in responses.calls] == [(3.5, 20.0)] * 3
    assert {c.request.headers["User-Agent"] for c in responses.calls} == {"crm-bridge/test"}


def test_a_policy_without_timeouts_is_refused() -> None:
    with pytest.raises(ValueError, match="never waits forever"):
        HttpPolicy(name="x", base_url=BASE, read_timeout=0)


@responses.activate
def test_requests_are_counted_per_method_and_status_and_reported(clock: ManualClock) -> None:
    seen: list[tuple[str, str, int]] = []
    responses.add(responses.GET, URL, status=503)
    responses.add(responses.GET, URL, json={})
    responses.add(
        responses.POST, f"{BASE}/rest/1/abcdef123456/crm.lead.add", body=requests.ConnectionError("x")
    )
    http = client(clock)
    http._on_request = lambda crm, endpoint, status: seen.append((crm, endpoint, status))
    http.get("/leads")
    with pytest.raises(TransientError):
        http.post("/rest/1/abcdef123456/crm.lead.add", json={})
    assert http.counter.snapshot() == {("GET", 503): 1, ("GET", 200): 1, ("POST", 0): 1}
    assert seen[-1] == ("testcrm", "POST /rest/1/***/crm.lead.add", 0)
    assert http.counter.total() == 3


@responses.activate
def test_error_bodies_are_not_copied_into_messages(clock: ManualClock) -> None:
    responses.add(responses.GET, URL, status=404, body=json.dumps({"error": "lead of ivan@example.ru"}))
    with pytest.raises(NotFound) as info:
        client(clock).get("/leads")
    assert "ivan" not in str(info.value)
