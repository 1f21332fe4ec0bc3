"""The demo runner (services.demo) on a small network against the HubSpot emulator (requests checked
against HubSpot's OpenAPI specs): what it seeds is what it syncs, and every fresh lead gets a manager
and a task on its deal."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hs_support import spec_sandbox, violations

from crm_bridge.demo_network import MANAGERS
from crm_bridge.sandbox.server import Sandbox
from crm_bridge.services.demo.run import run_demo

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
FRESH = 12


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with spec_sandbox() as sb:
        yield sb
        assert not violations(sb), violations(sb)


def test_the_demo_runs_on_hubspot_and_syncs_what_it_seeded(sandbox: Sandbox, tmp_path: Path) -> None:
    result = run_demo(tmp_path, sandbox, per_type=4, months=4, fresh_leads=FRESH, now=NOW)

    # 16 partners and 6 prospects (companies with their selection scores and an acquisition card each)
    assert result.seeded["partners"] == 16 and result.seeded["prospects"] == 6
    assert result.synced["partner"] == result.seeded["partners"] + result.seeded["prospects"]
    assert result.synced["lead"] == result.seeded["leads"]
    assert result.synced["deal"] == result.seeded["repeat_deals"] + result.seeded["prospects"]
    assert sum(n for _, n in result.per_manager) == FRESH
    dump = sandbox.emulator.dump()
    manager_ids = {str(m["crm_user_id"]) for m in MANAGERS}
    lead_tasks = [
        t for t in dump["objects"]["tasks"] if "Почему вам:" in (t["properties"].get("hs_task_body") or "")
    ]
    assert len(lead_tasks) == FRESH
    assert {t["properties"]["hubspot_owner_id"] for t in lead_tasks} <= manager_ids
