"""The HTTP layer tells the daemon's metrics about every attempt, every retry and every client-side
rate-limit wait (``on_request`` being ``BridgeMetrics.http_observer``)."""

from __future__ import annotations

import random

import pytest
import responses
from http_fakes import BASE, ManualClock

from crm_bridge.http import HttpClient, HttpPolicy, LimiterPolicy
from crm_bridge.services.metrics import BridgeMetrics

URL = f"{BASE}/api/v4/leads"


def client(clock: ManualClock, metrics: BridgeMetrics, **policy: object) -> HttpClient:
    fields: dict[str, object] = {"name": "testcrm", "base_url": BASE, "max_retries": 3, **policy}
    return HttpClient(
        HttpPolicy(**fields),  # type: ignore[arg-type]
        clock=clock,
        sleep=clock.sleep,
        on_request=metrics.http_observer,
        rng=random.Random(3),
    )


@responses.activate
def test_each_attempt_and_each_retry_is_counted_by_status() -> None:
    responses.add(responses.GET, URL, status=503)
    responses.add(responses.GET, URL, status=429, headers={"Retry-After": "2"})
    responses.add(responses.GET, URL, json={})
    metrics = BridgeMetrics()

    client(ManualClock(), metrics).get("/api/v4/leads")

    def value(name: str, **labels: str) -> float:
        return metrics.value(name, crm="testcrm", **labels)

    for status in ("503", "429", "200"):
        assert value("crm_bridge_crm_requests_total", family="leads", status=status) == 1
    assert value("crm_bridge_crm_retries_total", reason="503") == 1
    assert value("crm_bridge_crm_retries_total", reason="429") == 1
    assert value("crm_bridge_rate_limit_waits_total") == 0


@responses.activate
def test_each_wait_for_the_client_side_rate_limiter_is_counted_with_its_seconds() -> None:
    responses.add(responses.GET, URL, json={})
    clock = ManualClock()
    metrics = BridgeMetrics()
    http = client(clock, metrics, limiter=LimiterPolicy(capacity=1, drain_per_second=1))

    for _ in range(3):
        http.get("/api/v4/leads")

    assert clock.sleeps == [pytest.approx(1.0)] * 2
    assert metrics.value("crm_bridge_rate_limit_waits_total", crm="testcrm") == 2
    assert metrics.value("crm_bridge_rate_limit_wait_seconds_total", crm="testcrm") == pytest.approx(2.0)
    assert metrics.value("crm_bridge_crm_retries_total", crm="testcrm", reason="200") == 0
