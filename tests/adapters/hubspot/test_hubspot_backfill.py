"""A HubSpot backfill over sparse ids (other companies between the partners): id windows sized by the
records still to read, each bounded above (``id <= hi``), every page's cursor dated at the listing's
start; and a listing whose records are gone before the highest id is asked ends after the first page."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hs_support import MemoryKV, SharedClock, config, make_adapter, provision, request_bodies
from hs_support import field_code as _code

from crm_bridge.domain.layout import FieldEntity
from crm_bridge.ports import Entity, SyncCursor
from crm_bridge.sandbox.core import SandboxResponse
from crm_bridge.sandbox.server import Sandbox
from crm_bridge_hubspot import HubSpotAdapter

STARTED = datetime(2025, 12, 6, 5, 46, 40, tzinfo=UTC)  # the SharedClock's 1_765_000_000


def _windows(sandbox: Sandbox) -> list[tuple[str, str | None]]:
    """(id >, id <=) of every id-ordered company search after the first page and the highest id."""
    out = []
    for body in request_bodies(sandbox, "/companies/search")[2:]:
        [filters] = [g["filters"] for g in body["filterGroups"]]
        bounds = {f["operator"]: f["value"] for f in filters if f["propertyName"] == "hs_object_id"}
        out.append((bounds["GT"], bounds.get("LTE")))
    return sorted(out, key=lambda w: int(w[0]))


def test_a_sparse_backfill_walks_bounded_windows_sized_by_the_records_left(
    sandbox: Sandbox, kv: MemoryKV
) -> None:
    clock = SharedClock()
    adapter = make_adapter(config(sandbox, max_concurrency=2), kv, clock.sleep, clock)
    provision(adapter)
    ptype = _code(adapter, FieldEntity.PARTNER, "partner_type")
    companies = [
        {"properties": {"name": f"C{i}", **({ptype: "reseller"} if i % 2 == 0 else {})}} for i in range(900)
    ]
    ids = [int(i) for i in sandbox.emulator.seed({"companies": companies})["companies"]]
    sandbox.log.clear()

    pages = list(adapter.changed_since(Entity.PARTNER, None))

    read = [int(p.crm_id) for page in pages for p in page.records]
    assert sorted(read) == ids[0::2] and len(read) == 450 and {p.total for p in pages} == {450}
    first = ids[398]  # the first page: 200 partners, every other company
    offsets = [(int(lo) - first, None if hi is None else int(hi) - first) for lo, hi in _windows(sandbox)]
    assert offsets == [(0, 400), (400, 500)]  # 250 left over 500 ids: 2 pages, at half density
    assert all(p.cursor is not None and p.cursor.modified_at == STARTED for p in pages)
    assert pages[-1].cursor == SyncCursor(STARTED)
    adapter.close()


def test_records_gone_before_the_highest_id_is_asked_end_the_listing_after_the_first_page(
    provisioned: HubSpotAdapter, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    ptype = _code(provisioned, FieldEntity.PARTNER, "partner_type")
    sandbox.emulator.seed(
        {"companies": [{"properties": {"name": f"P{i}", ptype: "reseller"}} for i in range(200)]}
    )
    handle = sandbox.emulator.handle

    def emptied(request: Any) -> SandboxResponse:
        if request.path.endswith("/companies/search") and json.loads(request.body)["limit"] == 1:
            return SandboxResponse(status=200, body={"total": 0, "results": []})
        return handle(request)

    monkeypatch.setattr(sandbox.emulator, "handle", emptied)

    pages = list(provisioned.changed_since(Entity.PARTNER, None))

    assert [len(p.records) for p in pages] == [200]
    assert pages[0].cursor is not None and not pages[0].cursor.resume
    assert len(request_bodies(sandbox, "/companies/search")) == 2
