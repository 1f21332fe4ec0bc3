"""The adapter's pace against amoCRM's limit as the sandbox enforces it ("not more than 7 requests per
second": at most 7 counted in any one second, 429 beyond), with no real time: the adapter's limiter and
the emulator read one manual clock, the limiter's waits move it, and each request is counted by the
emulator at the instant the limiter let it out plus a delivery delay the test chooses. Asserted from the
sandbox's request log and the manual clock: requests, 429 answers and when each request left, never
durations. The shipped budget: at most 7 requests in any 7/6.7 s (a rolling window)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from amo_support import MemoryKV

from crm_bridge.http.limiter import MemoryBucket
from crm_bridge.ports import AdapterContext, Bucket, BucketStore
from crm_bridge.sandbox.server import Sandbox
from crm_bridge.store import open_store
from crm_bridge_amocrm import AmoCrmAdapter, build_adapter
from crm_bridge_amocrm.config import AmoCrmConfig

REQUESTS = 64
WINDOW = 7 / 6.7  # the shipped rate_limit: 7 requests in any 1.045 s


class Clock:
    """Unix time that moves only when the adapter's limiter sleeps. ``delay``: how late the request
    being sent now reaches the emulator (its limiter counts it at ``now + delay``)."""

    def __init__(self) -> None:
        self.now = 1_767_225_600.0
        self.delay = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def arrival(self) -> float:
        return self.now + self.delay


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def limited(clock: Clock) -> Iterator[Sandbox]:
    with Sandbox("amocrm", rate_limit=True, emulator_options={"block_after": None}) as sandbox:
        sandbox.emulator.set_clock(clock.arrival)
        yield sandbox


class SlowCommits:
    """The shared bucket (in memory here) whose every 8th grant is committed 0.2 s after the slot was
    booked, as a state store's commit on a busy disk can be: the request leaves that much later."""

    reads_clock_under_lock = True

    def __init__(self, clock: Clock) -> None:
        self.inner = MemoryBucket()
        self.clock = clock
        self.grants = 0

    def take(self, key: str, *, capacity: float, drain_per_second: float, now: float) -> float:
        return self.take_all([Bucket(key, capacity, drain_per_second)], now)

    def take_all(
        self, buckets: Sequence[Bucket], now: float, *, clock: Callable[[], float] | None = None
    ) -> float:
        wait = self.inner.take_all(buckets, now, clock=clock)
        if wait == 0.0:
            self.grants += 1
            if self.grants % 8 == 1:
                self.clock.now += 0.2
        return wait


def paced_adapter(
    sandbox: Sandbox, clock: Clock, bucket: BucketStore | None = None, **config: object
) -> AmoCrmAdapter:
    snippet = sandbox.config_snippet()
    settings = AmoCrmConfig.model_validate(
        {
            "base_url": snippet["crm"]["amocrm"]["base_url"],
            "access_token": snippet["env"]["AMOCRM_ACCESS_TOKEN"],
            **config,
        }
    )  # the shipped rate limit unless the test names one
    return build_adapter(
        settings, AdapterContext(kv=MemoryKV(), bucket=bucket, clock=clock, sleep=clock.sleep)
    )


def burst(adapter: AmoCrmAdapter, clock: Clock, late_every: int, late: float) -> None:
    """REQUESTS reads one after another, as fast as the limiter lets them out; every ``late_every``-th
    reaches amoCRM ``late`` seconds after leaving (the worst case for a window of 8: the first of eight
    late, the eighth on time)."""
    for n in range(REQUESTS):
        clock.delay = late if n % late_every == 0 else 0.0
        adapter.client.get("api/v4/account")
    clock.delay = 0.0


def four_twenty_nines(sandbox: Sandbox) -> int:
    return sum(1 for entry in sandbox.requests() if entry["status"] == 429)


@pytest.mark.parametrize(
    ("late", "refused"),
    [
        (0.0, False),
        # 7 in any 7/6.7 s puts 8 requests 1.045 s apart: up to 45 ms of delivery jitter fits
        (0.04, False),
        # beyond the margin amoCRM refuses the eighth; the adapter waits and sends it once more
        (0.06, True),
    ],
    ids=["on-time", "40ms-late", "60ms-late"],
)
def test_a_burst_at_the_shipped_pace(limited: Sandbox, clock: Clock, late: float, refused: bool) -> None:
    adapter = paced_adapter(limited, clock)

    burst(adapter, clock, late_every=8, late=late)

    answered_429 = four_twenty_nines(limited)
    assert (answered_429 > 0) is refused
    assert len(limited.requests()) == REQUESTS + answered_429  # each refused request resent once


def test_an_idle_adapter_sends_seven_at_once_and_the_eighth_when_the_first_leaves_the_window(
    limited: Sandbox, clock: Clock
) -> None:
    adapter = paced_adapter(limited, clock)
    start, sent = clock.now, []

    for _ in range(15):
        adapter.client.get("api/v4/account")
        sent.append(clock.now - start)  # the manual clock moves only while the limiter waits

    assert sent[:7] == [0.0] * 7  # no wait at all
    assert sent[7:14] == [pytest.approx(WINDOW)] * 7  # each as the one 7 before it ages out
    assert sent[14] == pytest.approx(2 * WINDOW)
    assert four_twenty_nines(limited) == 0 and len(limited.requests()) == 15


def test_two_adapters_on_one_state_store_share_the_window(
    limited: Sandbox, clock: Clock, tmp_path: Path
) -> None:
    # two processes of one installation: the daemon and a one-shot script, each with its own adapter
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        daemon = paced_adapter(limited, clock, store.bucket)
        script = paced_adapter(limited, clock, store.bucket)
        start, sent = clock.now, []
        for n in range(16):
            (daemon if n % 2 else script).client.get("api/v4/account")
            sent.append(clock.now - start)
    finally:
        store.close()

    # 7 between them at once, the eighth (the daemon's fourth) once the first is 1.045 s old
    assert sent[:7] == [0.0] * 7 and sent[7] == pytest.approx(WINDOW)
    assert all(sent[i] - sent[i - 7] >= WINDOW - 1e-6 for i in range(7, 16))
    assert four_twenty_nines(limited) == 0 and len(limited.requests()) == 16


def test_a_request_granted_late_takes_a_fresh_slot_so_the_next_ones_keep_their_distance(
    limited: Sandbox, clock: Clock
) -> None:
    # the 1x429 of the 100,000-lead backfill: a slot booked at t, committed at t + 0.2 s; the request
    # left then, close to the ones booked after it, and the eighth met a full window
    bucket = SlowCommits(clock)
    adapter = paced_adapter(limited, clock, bucket)

    burst(adapter, clock, late_every=8, late=0.0)

    assert len(limited.requests()) == REQUESTS and four_twenty_nines(limited) == 0
    assert bucket.grants > REQUESTS  # the stale slots were booked again


def test_pacing_at_exactly_seven_per_second_leaves_no_margin(limited: Sandbox, clock: Clock) -> None:
    # what the margin is for: at 7/s, 8 requests are 1.0 s apart and one 10 ms late is refused
    adapter = paced_adapter(limited, clock, rate_limit={"burst": 1, "per_second": 7})

    burst(adapter, clock, late_every=8, late=0.01)

    assert four_twenty_nines(limited) > 0
