"""The client-side leaky bucket: a burst, then the drain rate; shared across processes through the
state store's bucket; thread-safe in memory. The rolling window: the whole limit at once, then each
request waits for the oldest of the window to age out."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import responses
from http_fakes import BASE, ManualClock, RecordingBucket

from crm_bridge.errors import RateLimited
from crm_bridge.http import HttpClient, HttpPolicy, LimiterPolicy, MemoryBucket, RateBudget, RateLimiter
from crm_bridge.ports import Bucket
from crm_bridge.store import open_store

URL = f"{BASE}/leads"


def limited(clock: ManualClock, bucket: object = None, key: str = "") -> HttpClient:
    policy = HttpPolicy(
        name="b24", base_url=BASE, limiter=LimiterPolicy(capacity=3, drain_per_second=2, key=key)
    )
    return HttpClient(policy, bucket=bucket, clock=clock, sleep=clock.sleep, rng=random.Random(1))  # type: ignore[arg-type]


@responses.activate
def test_a_burst_up_to_capacity_goes_at_once_then_requests_follow_the_drain_rate() -> None:
    responses.add(responses.GET, URL, json={})
    clock = ManualClock()
    http = limited(clock)
    for _ in range(6):
        http.get("/leads")
    assert clock.sleeps == [pytest.approx(0.5)] * 3
    assert len(responses.calls) == 6


@responses.activate
def test_an_idle_pause_refills_the_burst() -> None:
    responses.add(responses.GET, URL, json={})
    clock = ManualClock()
    http = limited(clock)
    for _ in range(3):
        http.get("/leads")
    clock.now += 10
    for _ in range(3):
        http.get("/leads")
    assert clock.sleeps == []


@responses.activate
def test_two_processes_share_one_budget_through_the_bucket_store() -> None:
    responses.add(responses.GET, URL, json={})
    clock = ManualClock()
    shared = RecordingBucket()
    daemon, script = (
        limited(clock, shared, key="bitrix24:example"),
        limited(clock, shared, key="bitrix24:example"),
    )
    daemon.get("/leads")
    daemon.get("/leads")
    script.get("/leads")
    script.get("/leads")  # the 4th request of the pair: over the shared burst of 3
    assert clock.sleeps == [pytest.approx(0.5)]
    assert {t[:3] for t in shared.takes} == {("bitrix24:example", 3, 2)}


@responses.activate
def test_the_budget_key_defaults_to_the_crm_host() -> None:
    responses.add(responses.GET, URL, json={})
    shared = RecordingBucket()
    limited(ManualClock(), shared).get("/leads")
    assert shared.takes[0][0] == "crm.example.test"


@responses.activate
def test_clients_share_the_budget_through_a_real_state_store(tmp_path: Path) -> None:
    responses.add(responses.GET, URL, json={})
    clock = ManualClock()
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        first, second = limited(clock, store.bucket), limited(clock, store.bucket)
        for http in (first, second, first, second):
            http.get("/leads")
    finally:
        store.close()
    assert clock.sleeps == [pytest.approx(0.5)]


def test_a_budget_exhausted_by_someone_else_for_too_long_raises_rate_limited() -> None:
    clock = ManualClock()

    class Starved:
        def take(self, key: str, *, capacity: float, drain_per_second: float, now: float) -> float:
            return 100.0

    limiter = RateLimiter(
        LimiterPolicy(3, 2), "k", bucket=Starved(), clock=clock, sleep=clock.sleep, max_wait=250
    )
    with pytest.raises(RateLimited) as info:
        limiter.acquire()
    assert clock.sleeps == [100.0, 100.0] and info.value.retry_after == 100.0


def test_the_in_memory_bucket_never_admits_more_than_capacity_across_threads() -> None:
    bucket = MemoryBucket()

    def take(_: int) -> bool:
        return bucket.take("k", capacity=10, drain_per_second=0.5, now=100.0) == 0.0

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert sum(pool.map(take, range(200))) == 10


def test_a_limiter_policy_needs_room_and_a_drain_rate() -> None:
    with pytest.raises(ValueError):
        LimiterPolicy(capacity=0, drain_per_second=1)
    with pytest.raises(ValueError):
        LimiterPolicy(capacity=5, drain_per_second=0)


def test_admit_takes_one_request_into_every_bucket_or_none_and_says_the_longest_wait() -> None:
    from crm_bridge.budgets import Bucket, admit

    burst, day = Bucket("portal", 2.0, 2.0), Bucket("day", 3.0, window=60.0)
    now = 1_790_000_080.0  # 40 s into a minute window (windows start at multiples of 60 s)
    wait, states = admit([burst, day], {}, now)
    assert (wait, states) == (0.0, {"portal": (1.0, now), "day": (1.0, now - 40.0)})
    full = {"portal": (2.0, now), "day": (1.0, now - 40.0)}
    assert admit([burst, day], full, now) == (0.5, {})  # the burst drains one request in 0.5 s
    spent = {"portal": (0.0, now), "day": (3.0, now - 40.0)}
    assert admit([burst, day], spent, now) == (20.0, {})  # the day's window restarts in 20 s
    assert admit([burst, burst], {}, now)[1] == {"portal": (1.0, now)}  # one key counts once


class SlowCommit(MemoryBucket):
    """Grants like the state store, but the first grant's commit ends 0.3 s after the slot was booked."""

    def __init__(self, clock: ManualClock) -> None:
        super().__init__()
        self.clock = clock
        self.grants = 0

    def take_all(self, buckets, now, *, clock=None):  # type: ignore[no-untyped-def]
        wait = super().take_all(buckets, now, clock=clock)
        if wait == 0.0:
            self.grants += 1
            if self.grants == 1:
                self.clock.now += 0.3
        return wait


@pytest.mark.parametrize(("stale_after", "grants", "gap"), [(0.0, 2, 0.2), (0.04, 3, 0.5)])
def test_a_slot_granted_after_stale_after_is_booked_afresh_so_the_next_request_keeps_its_distance(
    stale_after: float, grants: int, gap: float
) -> None:
    clock = ManualClock()
    bucket = SlowCommit(clock)
    limiter = RateLimiter(
        LimiterPolicy(1, 2), "k", bucket=bucket, clock=clock, sleep=clock.sleep, stale_after=stale_after
    )

    limiter.acquire()  # booked at t, granted at t + 0.3
    first_leaves = clock.now
    limiter.acquire()

    # off: the next request leaves 0.2 s after the late one (0.5 s after its booked slot); on: the late
    # one took a fresh slot when it was granted, and the next leaves a whole 1/2 s after it
    assert bucket.grants == grants
    assert clock.now - first_leaves == pytest.approx(gap, abs=1e-3)


@responses.activate
def test_a_rolling_window_lets_the_whole_limit_go_at_once_then_waits_for_the_oldest_to_age_out() -> None:
    responses.add(responses.GET, URL, json={})
    clock = ManualClock()
    policy = HttpPolicy(
        name="hubspot", base_url=BASE, budgets=(RateBudget.rolling_window("window", 5, 10.0),)
    )
    http = HttpClient(policy, clock=clock, sleep=clock.sleep, rng=random.Random(1))
    sent: list[float] = []
    for step in range(11):
        if step == 2:
            clock.now += 3.0  # the rest of the first five come 3 s after the first two
        http.get("/leads")
        sent.append(clock.now - 1_764_158_400.0)

    # the sixth waits for the first to be 10 s old, the eighth for the third (sent at 3 s), …
    assert sent == [0.0, 0.0, 3.0, 3.0, 3.0, 10.0, 10.0, 13.0, 13.0, 13.0, 20.0]
    assert all(sum(1 for t in sent if start <= t < start + 10.0) <= 5 for start in sent)


def test_the_in_memory_rolling_window_never_admits_more_than_its_limit_across_threads() -> None:
    bucket, window = MemoryBucket(), Bucket("hubspot:x:rolling", 100, window=10.0, rolling=True)
    with ThreadPoolExecutor(max_workers=8) as pool:
        waits = list(pool.map(lambda _: bucket.take_all([window], 1000.0), range(150)))
    assert waits.count(0.0) == 100 and all(w == pytest.approx(10.0) for w in waits if w)


@responses.activate
@pytest.mark.parametrize(("stale_after", "eighth"), [(0.0, 1.0), (0.04, 1.3)])
def test_a_rolling_window_grant_that_came_back_late_is_booked_afresh_with_the_policys_stale_after(
    stale_after: float, eighth: float
) -> None:
    # a CRM counting 7 in any second on arrival: the first request's commit ends 0.3 s after its place
    # was booked, so it leaves at 0.3 s; booked afresh then, the eighth waits for it to be 1 s old
    responses.add(responses.GET, URL, json={})
    clock = ManualClock()
    policy = HttpPolicy(
        name="amo",
        base_url=BASE,
        budgets=(RateBudget.rolling_window("window", 7, 1.0),),
        stale_after=stale_after,
    )
    http = HttpClient(policy, bucket=SlowCommit(clock), clock=clock, sleep=clock.sleep, rng=random.Random(1))
    start = clock.now
    sent = []
    for _ in range(8):
        http.get("/leads")
        sent.append(clock.now - start)

    assert sent[0] == pytest.approx(0.3)  # the late one
    assert sent[7] == pytest.approx(eighth)  # off: 0.7 s after the late one left, which amoCRM refuses
