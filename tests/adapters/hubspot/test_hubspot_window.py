"""HubSpot's rolling 10-second window as the adapter keeps it, on the emulator counting the same window
on the same (injected) clock: the whole limit goes at once and the next request waits only for the
oldest of the window to age out (+1%), so 200 requests take one wait of 10.1 s and no 429."""

from __future__ import annotations

import pytest
from hs_support import MemoryKV, SharedClock, config, make_adapter, spec_sandbox, violations


@pytest.mark.parametrize(("limit", "requests"), [(100, 200), (100, 201), (190, 380)])
def test_the_limit_goes_at_once_and_the_next_request_waits_for_the_oldest_to_age_out(
    limit: int, requests: int
) -> None:
    clock = SharedClock()
    with spec_sandbox(emulator_options={"per_ten_seconds": limit}) as sandbox:
        sandbox.emulator.set_clock(clock)
        sandbox.emulator.set_rate_limit(True)
        adapter = make_adapter(
            config(sandbox, per_ten_seconds=limit, search_per_second=5), MemoryKV(), clock.sleep, clock
        )
        for _ in range(requests):
            adapter.list_users()
        adapter.close()
        statuses = [r["status"] for r in sandbox.requests()]
        assert not violations(sandbox)

    rounds = (requests - 1) // limit  # the requests past each full window wait for it once
    assert statuses == [200] * requests  # no 429
    assert sum(clock.waits) == pytest.approx(rounds * 10.1)
    assert len(clock.waits) == rounds  # one wait a window (a leaky bucket waited before most requests)
