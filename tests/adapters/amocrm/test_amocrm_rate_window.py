"""The adapter's pace against amoCRM's limit as the sandbox enforces it ("not more than 7 requests per
second": at most 7 counted in any one second, 429 beyond), with no real time: the adapter's limiter and
the emulator read one manual clock, the limiter's waits move it, and each request is counted by the
emulator at the instant the limiter let it out plus a delivery delay the test chooses. Asserted from the
sandbox's request log: requests and 429 answers, never durations."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from amo_support import MemoryKV

from crm_bridge.ports import AdapterContext
from crm_bridge.sandbox.server import Sandbox
from crm_bridge_amocrm import AmoCrmAdapter, build_adapter
from crm_bridge_amocrm.config import AmoCrmConfig

REQUESTS = 64


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


def paced_adapter(sandbox: Sandbox, clock: Clock, **config: object) -> AmoCrmAdapter:
    snippet = sandbox.config_snippet()
    settings = AmoCrmConfig.model_validate(
        {
            "base_url": snippet["crm"]["amocrm"]["base_url"],
            "access_token": snippet["env"]["AMOCRM_ACCESS_TOKEN"],
            **config,
        }
    )  # the shipped rate limit unless the test names one
    return build_adapter(settings, AdapterContext(kv=MemoryKV(), clock=clock, sleep=clock.sleep))


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


def test_a_burst_at_the_shipped_pace_is_never_refused(limited: Sandbox, clock: Clock) -> None:
    adapter = paced_adapter(limited, clock)

    burst(adapter, clock, late_every=8, late=0.0)

    assert len(limited.requests()) == REQUESTS and four_twenty_nines(limited) == 0


def test_the_shipped_pace_absorbs_a_request_reaching_amocrm_50_ms_late(
    limited: Sandbox, clock: Clock
) -> None:
    # 6.6 requests/s puts 8 requests 7/6.6 = 1.0606 s apart: up to 60 ms of delivery jitter fits
    adapter = paced_adapter(limited, clock)

    burst(adapter, clock, late_every=8, late=0.05)

    assert len(limited.requests()) == REQUESTS and four_twenty_nines(limited) == 0


def test_a_request_later_than_the_margin_meets_a_429_which_is_waited_out(
    limited: Sandbox, clock: Clock
) -> None:
    adapter = paced_adapter(limited, clock)

    burst(adapter, clock, late_every=8, late=0.08)

    refused = four_twenty_nines(limited)
    assert refused > 0 and len(limited.requests()) == REQUESTS + refused  # each 429 resent once


def test_pacing_at_exactly_seven_per_second_leaves_no_margin(limited: Sandbox, clock: Clock) -> None:
    # what the margin is for: at 7/s, 8 requests are 1.0 s apart and one 10 ms late is refused
    adapter = paced_adapter(limited, clock, rate_limit={"burst": 1, "per_second": 7})

    burst(adapter, clock, late_every=8, late=0.01)

    assert four_twenty_nines(limited) > 0
