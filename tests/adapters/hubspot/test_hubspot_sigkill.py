"""SIGKILL during a 10,000-deal push, then the push again: every deal exists exactly once.

The push runs in its own process (the adapter, 100 deals per call). HubSpot creates the 30th batch and
holds its answer; the process is killed with SIGKILL while it waits for that answer (the deals exist,
the push never hears of them). A second process pushes all 10,000 again: the external id is a
``hasUniqueValue`` property, so batches already created answer 409 and are read back instead."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from hs_support import MemoryKV, config, make_adapter, provision, spec_sandbox, violations
from sandbox_fixture import PATIENCE, AnswerGate

from crm_bridge.domain.layout import FieldEntity
from crm_bridge.sandbox.server import Sandbox

CHILD = Path(__file__).with_name("hs_push_child.py")
N = 10_000


def _push(sandbox: Sandbox, partner: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "HUBSPOT_BASE_URL": sandbox.base_url,
        "HUBSPOT_ACCESS_TOKEN": sandbox.config_snippet()["env"]["HUBSPOT_ACCESS_TOKEN"],
    }
    return subprocess.Popen(
        [sys.executable, str(CHILD), str(N), partner], env=env, stdout=subprocess.PIPE, text=True
    )


@pytest.fixture
def sandbox(answer_gate: AnswerGate) -> Iterator[Sandbox]:
    with spec_sandbox(sleep=answer_gate) as sb:
        yield sb
        assert not violations(sb), f"requests outside HubSpot's OpenAPI specs: {violations(sb)}"


def _deals(sandbox: Sandbox) -> int:
    """Deals HubSpot holds (read from its state without copying it: the gate asks on every answer)."""
    return len(sandbox.emulator.state.objects.get("deals", {}))  # type: ignore[attr-defined]


@pytest.mark.slow
def test_a_push_killed_midway_and_run_again_leaves_every_deal_exactly_once(
    sandbox: Sandbox, answer_gate: AnswerGate
) -> None:
    adapter = make_adapter(config(sandbox), MemoryKV())
    provision(adapter)
    ptype = adapter.catalog().field(FieldEntity.PARTNER, "partner_type")
    assert ptype is not None
    partner = str(
        sandbox.emulator.seed({"companies": [{"properties": {"name": "Vector", ptype.code: "reseller"}}]})[
            "companies"
        ][0]
    )
    adapter.close()

    sandbox.latency = 0.001  # the gate holds answers from inside the sandbox's latency sleep
    answer_gate.hold(lambda: _deals(sandbox) >= 3000)  # the answer to the 30th batch of 100
    first = _push(sandbox, partner)
    try:
        assert answer_gate.held.wait(PATIENCE), "the push made no progress"
        first.send_signal(signal.SIGKILL)
        first.wait(PATIENCE)
    finally:
        answer_gate.release()
        if first.poll() is None:
            first.kill()
            first.wait(PATIENCE)
    sandbox.latency = 0.0
    before = len(sandbox.emulator.dump()["objects"]["deals"])
    second = _push(sandbox, partner)
    out, _ = second.communicate(timeout=600)

    assert first.returncode == -signal.SIGKILL and before == 3000
    assert second.returncode == 0, out[-500:]
    assert int(out.split()[-1]) == N - before  # the rerun created exactly the missing ones
    deals = sandbox.emulator.dump()["objects"]["deals"]
    ids = Counter(d["properties"]["crm_bridge_external_id"] for d in deals)
    assert len(deals) == N and set(ids) == {f"deal-{i}" for i in range(N)} and max(ids.values()) == 1
