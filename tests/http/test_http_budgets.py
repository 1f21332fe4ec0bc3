"""Several named request budgets per HTTP policy: a short window, a daily one and a path family's own,
each request admitted into every budget that applies at once; kept in the state store so clients of
several processes share them."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import responses
from http_fakes import BASE, ManualClock

from crm_bridge.errors import RateLimited
from crm_bridge.http import HttpClient, HttpPolicy, RateBudget
from crm_bridge.store import open_store

DAY = 86_400.0
START = 1_764_158_400.0  # 2025-11-26 12:00 UTC: a multiple of 10 s, noon (half a day to midnight UTC)
BUDGETS = (
    RateBudget.per_window("ten_seconds", 3, 10),
    RateBudget.per_window("daily", 5, DAY),
    RateBudget.per_window("search", 1, 1, paths=(r"/search$",)),
)


def make(clock: ManualClock, bucket: object = None, **policy: object) -> HttpClient:
    fields: dict[str, object] = {
        "name": "testcrm",
        "base_url": BASE,
        "rate_key": "testcrm:account-7",
        "budgets": BUDGETS,
    }
    fields.update(policy)
    return HttpClient(
        HttpPolicy(**fields),  # type: ignore[arg-type]
        bucket=bucket,  # type: ignore[arg-type]
        clock=clock,
        sleep=clock.sleep,
        rng=random.Random(3),
    )


@pytest.fixture
def api() -> responses.RequestsMock:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(f"{BASE}/contacts", json={})
        mock.post(f"{BASE}/contacts/search", json={})
        yield mock


def test_a_window_budget_waits_for_the_next_window(api: responses.RequestsMock) -> None:
    clock = ManualClock(START + 4)
    http = make(clock)
    for _ in range(4):
        http.get("/contacts")
    assert clock.sleeps == [pytest.approx(6.0)]  # three in [START, START+10), the fourth at START+10
    assert len(api.calls) == 4


def test_a_path_family_has_its_own_budget_on_top_of_the_others(api: responses.RequestsMock) -> None:
    clock = ManualClock(START)
    http = make(clock)
    http.post("/contacts/search", json={})
    http.get("/contacts")  # not a search: only the window and the daily budgets apply
    http.post("/contacts/search", json={})  # the search budget admits one per second
    assert clock.sleeps == [pytest.approx(1.0)]
    assert len(api.calls) == 3


def test_a_spent_daily_budget_fails_at_once_with_the_wait_until_the_next_day(
    api: responses.RequestsMock,
) -> None:
    clock = ManualClock(START)
    http = make(clock)
    for _ in range(5):
        http.get("/contacts")
        clock.now += 10  # a fresh ten-second window every time
    with pytest.raises(RateLimited) as info:
        http.get("/contacts")
    assert len(api.calls) == 5  # nothing sent over the budget
    assert info.value.retry_after == pytest.approx(DAY / 2 - 50)  # until midnight UTC
    assert "testcrm:account-7/daily" in str(info.value)
    assert max(clock.sleeps, default=0.0) < 300


def test_a_request_refused_by_one_budget_spends_none_of_the_others(api: responses.RequestsMock) -> None:
    clock = ManualClock(START)
    http = make(clock, budgets=(RateBudget.per_window("daily", 2, DAY), *BUDGETS[2:]))
    http.post("/contacts/search", json={})  # daily 1/2
    http.post("/contacts/search", json={})  # waits 1 s for the search budget; daily 2/2
    with pytest.raises(RateLimited):
        http.post("/contacts/search", json={})  # daily spent: the search budget must not be charged
    clock.now = START + DAY * 1.5 + 0.5  # the next day, within the same second of the search window
    http.post("/contacts/search", json={})
    assert clock.sleeps == [pytest.approx(1.0)]
    assert len(api.calls) == 3


def test_a_daily_window_can_start_at_a_time_zones_midnight(api: responses.RequestsMock) -> None:
    clock = ManualClock(START)  # 12:00 UTC = 15:00 in UTC+3
    http = make(clock, budgets=(RateBudget.per_window("daily", 1, DAY, offset=-3 * 3600),))
    http.get("/contacts")
    with pytest.raises(RateLimited) as info:
        http.get("/contacts")
    assert info.value.retry_after == pytest.approx(9 * 3600)  # midnight in UTC+3 = 21:00 UTC


def test_clients_of_two_processes_share_every_budget_through_the_state_store(
    api: responses.RequestsMock, tmp_path: Path
) -> None:
    clock = ManualClock(START)
    url = f"sqlite:///{tmp_path / 'state.db'}"
    daemon_store, script_store = open_store(url), open_store(url)  # two connections, as two processes
    try:
        daemon, script = make(clock, daemon_store.bucket), make(clock, script_store.bucket)
        daemon.post("/contacts/search", json={})
        script.post("/contacts/search", json={})  # the shared search budget: one per second
        daemon.get("/contacts")
        script.get("/contacts")  # the fourth request in the shared ten-second window
        assert clock.sleeps == [pytest.approx(1.0), pytest.approx(9.0)]
        for _ in range(1):
            daemon.get("/contacts")  # daily 5/5
        with pytest.raises(RateLimited):
            script.get("/contacts")
    finally:
        daemon_store.close()
        script_store.close()
    assert len(api.calls) == 5


def test_budgets_are_checked_when_declared() -> None:
    with pytest.raises(ValueError):
        RateBudget("burst", 10)  # neither a rate nor a window
    with pytest.raises(ValueError):
        RateBudget("burst", 10, per_second=1, window=10)
    with pytest.raises(ValueError):
        RateBudget.per_window("search", 0, 1)
    with pytest.raises(ValueError):
        HttpPolicy(name="x", base_url=BASE, budgets=(BUDGETS[0], BUDGETS[0]))
