"""Incremental sync on the amoCRM sandbox: a listing stopped after any page resumes from that page's
cursor without losing a record, and pages come in (updated_at, id) order across parallel windows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from amo_support import seed_partner

from crm_bridge.ports import Entity
from crm_bridge.sandbox.server import Sandbox
from crm_bridge_amocrm import AmoCrmAdapter, scan


def _seed(sandbox: Sandbox, adapter: AmoCrmAdapter, n: int) -> None:
    partner = int(seed_partner(sandbox, adapter))
    pipeline = adapter.catalog().funnels["leads"]
    base = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())
    for start in range(0, n, 250):
        leads = [
            {
                "name": f"L{i}",
                "pipeline_id": pipeline,
                "created_at": base + i * 3600,
                "updated_at": base + i * 3600,  # one an hour: spread over the windows
                "_embedded": {"companies": [{"id": partner}]},
            }
            for i in range(start, min(n, start + 250))
        ]
        sandbox.emulator.seed({"leads": leads})


@pytest.mark.parametrize("steal_ahead", [16, 2])  # 2: idle threads take work every 2 pages
def test_a_listing_resumed_from_any_page_cursor_loses_nothing(
    provisioned: AmoCrmAdapter, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, steal_ahead: int
) -> None:
    monkeypatch.setattr(scan, "STEAL_AHEAD", steal_ahead)
    _seed(sandbox, provisioned, 1_600)

    pages = list(provisioned.changed_since(Entity.LEAD, None))
    every = [r.crm_id for p in pages for r in p.records]
    stamps = [(r.modified_at, int(r.crm_id)) for p in pages for r in p.records]

    assert len(every) == 1_600 == len(set(every)) and stamps == sorted(stamps)
    for stop in range(len(pages) - 1):
        cursor = pages[stop].cursor
        before = {r.crm_id for p in pages[: stop + 1] for r in p.records}
        after = {r.crm_id for p in provisioned.changed_since(Entity.LEAD, cursor) for r in p.records}
        assert before | after == set(every), f"records lost when resuming after page {stop}"
    final = pages[-1].cursor
    assert [r for p in provisioned.changed_since(Entity.LEAD, final) for r in p.records] == []
