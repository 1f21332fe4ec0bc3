"""A flood of 1,000 new partner leads in HubSpot drives the real daemon (``crm-bridge run``) through
webhooks: the events are coalesced into a few listing requests (counted in the sandbox's request log,
within the account's rate budget), each lead gets exactly one task, and a daemon killed with SIGKILL
mid-flood loses nothing (events stored before the 200; HubSpot retries what was not answered). The kill
lands in the work, not near it: HubSpot holds its answer to the daemon's first batch of the flood's tasks
(the tasks exist, the daemon has not heard so), the daemon is killed while it waits, and some of the
first leads have their task then while others have none."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from hubspot_flow import HubSpotFlow
from sandbox_fixture import AnswerGate, MakeSandbox

PATIENCE = 120.0  # flush() waits for the deliveries up to this; only so a broken build cannot hang

N = 1000


@pytest.mark.slow
def test_a_thousand_lead_flood_with_a_sigkill_midway_gives_every_lead_exactly_one_task(
    tmp_path: Path, make_sandbox: MakeSandbox, answer_gate: AnswerGate
) -> None:
    sb = make_sandbox("hubspot", latency_ms=1, sleep=answer_gate)  # with a latency the gate sees every answer
    flow = HubSpotFlow(tmp_path, sb)
    flow.start()
    try:
        sb.log.clear()
        answer_gate.hold(lambda: bool(flow.tasks_by_deal()))  # the answer that made the first tasks
        try:
            ids = flow.create_leads(400)
            assert answer_gate.held.wait(PATIENCE), "the daemon made no task for the flood"
            # mid-flood: the daemon waits for HubSpot's answer; deliveries in flight fail and are retried
            assert flow.kill() == -signal.SIGKILL, "the daemon was not running at the kill"
        finally:
            answer_gate.release()
        with_task = set(flow.tasks_by_deal()) & set(ids)
        assert 0 < len(with_task) < len(ids), f"not mid-work: {len(with_task)} of {len(ids)} with a task"
        ids += flow.create_leads(N - 400, start=400)
        flow.start()
        deadline = time.monotonic() + 240
        tasks = flow.tasks_by_deal()
        while not set(ids) <= set(tasks) and time.monotonic() < deadline:
            time.sleep(0.2)  # waiting for the event "every lead has a task", not timing anything
            tasks = flow.tasks_by_deal()
        sb.emulator.deliver.flush(PATIENCE)
    finally:
        flow.stop()
    tasks = flow.tasks_by_deal()
    missing = [d for d in ids if d not in tasks]
    assert not missing, f"{len(missing)} lead(s) without a task"
    assert all(tasks[d] == 1 for d in ids), {d: tasks[d] for d in ids if tasks[d] != 1}
    counts = sb.counts()
    reads = ("POST /crm/v3/objects/deals/search", "GET /crm/v3/objects/deals")
    listing = sum(n for e, n in counts.items() if e.startswith(reads))
    print("requests by endpoint during the flood:", dict(sorted(counts.items())))
    # coalesced: far fewer reads than events (a per-event re-read would be 1,000 requests)
    assert listing < N / 10, counts
