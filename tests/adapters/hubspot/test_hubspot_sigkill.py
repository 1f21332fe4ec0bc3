"""SIGKILL during a 10,000-deal push, then the push again: every deal exists exactly once.

The push runs in its own process (the adapter, 100 deals per call). Once the sandbox has seen 30 batch
creates the process is killed with SIGKILL — wherever it is, possibly between HubSpot creating a batch
and the answer arriving. A second process pushes all 10,000 again: the external id is a
``hasUniqueValue`` property, so batches already created answer 409 and are read back instead."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from hs_support import MemoryKV, config, make_adapter, provision

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


def _creates(sandbox: Sandbox) -> int:
    return sandbox.counts().get("POST /crm/v3/objects/deals/batch/create", 0)


@pytest.mark.slow
def test_a_push_killed_midway_and_run_again_leaves_every_deal_exactly_once(sandbox: Sandbox) -> None:
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

    first = _push(sandbox, partner)
    deadline = time.monotonic() + 300
    while _creates(sandbox) < 30 and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)  # waiting for the event "30 batches sent", not timing anything
    first.send_signal(signal.SIGKILL)
    first.wait()
    before = len(sandbox.emulator.dump()["objects"]["deals"])
    second = _push(sandbox, partner)
    out, _ = second.communicate(timeout=600)

    assert first.returncode == -signal.SIGKILL and 0 < before < N
    assert second.returncode == 0, out[-500:]
    assert int(out.split()[-1]) == N - before  # the rerun created exactly the missing ones
    deals = sandbox.emulator.dump()["objects"]["deals"]
    ids = Counter(d["properties"]["crm_bridge_external_id"] for d in deals)
    assert len(deals) == N and set(ids) == {f"deal-{i}" for i in range(N)} and max(ids.values()) == 1
