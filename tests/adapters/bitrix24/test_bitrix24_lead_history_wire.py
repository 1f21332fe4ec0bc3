"""Wire tests of the partner-lead stage history (lead_history.py) through ``changed_since``: the first
touch is the earliest move by time (not by history id), the furthest stage follows the funnel's order
(not the codes' spelling) and counts the stage a lead stands in now, a lead that never stood in an
open stage has none, and the answers of every command of the first round are kept."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import responses
from b24_support import MemoryKV
from b24_wire_support import HOOK, _adapter, _batch, _catalog_kv

from crm_bridge.domain.model import StageKind
from crm_bridge.ports import Entity, SyncCursor

CURSOR = SyncCursor(datetime(2024, 8, 1, tzinfo=UTC), "0")


def _lead_row(crm_id: int, stage: str) -> dict[str, Any]:
    return {
        "ID": str(crm_id),
        "TITLE": f"Lead {crm_id}",
        "STAGE_ID": stage,
        "CATEGORY_ID": "9",
        "DATE_CREATE": "2024-08-01T10:00:00+00:00",
        "DATE_MODIFY": "2024-08-09T10:00:00+00:00",
        "MOVED_TIME": "2024-08-08T10:00:00+00:00",
    }


def _item(item_id: int, type_id: int, owner: int, day: int, stage: str) -> dict[str, Any]:
    return {
        "ID": str(item_id),
        "TYPE_ID": str(type_id),
        "OWNER_ID": str(owner),
        "CREATED_TIME": f"2024-08-{day:02d}T10:00:00+00:00",
        "STAGE_ID": stage,
    }


def _kv() -> MemoryKV:
    kv = _catalog_kv()
    kv.data["bitrix24.catalog"]["stages"] = {  # the funnel's order: registered, qualified, demo
        "C9:NEW": ["leads", "registered", "open"],
        "C9:QUAL": ["leads", "qualified", "open"],
        "C9:DEMO": ["leads", "demo", "open"],
        "C9:WON": ["leads", "won", "won"],
        "C9:LOSE": ["leads", "lost", "lost"],
    }
    return kv


@responses.activate
def test_first_touch_by_time_furthest_stage_by_funnel_order_and_the_stage_a_lead_stands_in() -> None:
    rows = [_lead_row(1, "C9:LOSE"), _lead_row(2, "C9:QUAL"), _lead_row(3, "C9:LOSE")]
    responses.post(HOOK + "crm.deal.list", json={"result": rows, "time": {"start": 1724916859.0}})
    history = [
        _item(3, 1, 1, 1, "C9:NEW"),
        _item(4, 3, 1, 6, "C9:DEMO"),  # listed before item 5, but moved two days later
        _item(5, 2, 1, 4, "C9:QUAL"),
        _item(6, 2, 1, 7, "C9:LOSE"),
        _item(7, 1, 2, 1, "C9:NEW"),  # lead 2: its creation alone; it stands in C9:QUAL now
        _item(8, 2, 3, 2, "C9:LOSE"),  # lead 3: lost straight away
    ]
    responses.post(HOOK + "batch", json=_batch({"c0": {"items": history}}, totals={"c0": 6}))

    [page] = list(_adapter(_kv()).changed_since(Entity.LEAD, CURSOR))

    leads = {lead.crm_id: lead for lead in page.records}
    assert (leads["1"].first_touch_at, leads["1"].furthest_stage, leads["1"].stage_kind) == (
        datetime(2024, 8, 4, 10, tzinfo=UTC),
        "demo",
        StageKind.LOST,
    )
    assert (leads["2"].first_touch_at, leads["2"].furthest_stage) == (
        datetime(2024, 8, 8, 10, tzinfo=UTC),  # no move in the history: its last move stands in
        "qualified",
    )
    assert (leads["3"].first_touch_at, leads["3"].furthest_stage) == (
        datetime(2024, 8, 2, 10, tzinfo=UTC),
        None,
    )


@responses.activate
def test_every_command_of_the_first_round_keeps_its_leads_history() -> None:
    rows = [_lead_row(i, "C9:NEW") for i in range(1, 31)]  # 30 moved leads: 25 + 5 ids
    responses.post(HOOK + "crm.deal.list", json={"result": rows, "time": {"start": 1724916859.0}})
    responses.post(
        HOOK + "batch",
        json=_batch(
            {
                "c0": {"items": [_item(1, 2, 1, 2, "C9:QUAL")]},
                "c1": {"items": [_item(2, 2, 26, 3, "C9:DEMO")]},
            },
            totals={"c0": 1, "c1": 1},
        ),
    )

    [page] = list(_adapter(_kv()).changed_since(Entity.LEAD, CURSOR))

    leads = {lead.crm_id: lead for lead in page.records}
    assert (leads["1"].first_touch_at, leads["1"].furthest_stage) == (
        datetime(2024, 8, 2, 10, tzinfo=UTC),
        "qualified",
    )
    assert (leads["26"].first_touch_at, leads["26"].furthest_stage) == (
        datetime(2024, 8, 3, 10, tzinfo=UTC),
        "demo",
    )
    assert len(responses.calls) == 2  # the listing and one batch of two commands


@responses.activate
def test_a_stage_the_catalog_does_not_know_adds_no_furthest_stage() -> None:
    kv = _catalog_kv()
    catalog = kv.data["bitrix24.catalog"]
    catalog["funnels"] = {"leads": 0}  # the portal's general funnel: stage codes carry no prefix
    catalog["stages"] = {"NEW": ["leads", "registered", "open"], "XXXX": ["leads", "xxxx", "open"]}
    catalog["first_stage"] = {"leads": "NEW"}
    row = {**_lead_row(1, "GONE"), "CATEGORY_ID": "0"}  # a stage deleted since the catalog was read
    responses.post(HOOK + "crm.deal.list", json={"result": [row], "time": {"start": 1724916859.0}})
    history = {"items": [_item(1, 1, 1, 1, "NEW")]}
    responses.post(HOOK + "batch", json=_batch({"c0": history}, totals={"c0": 1}))

    [page] = list(_adapter(kv).changed_since(Entity.LEAD, CURSOR))

    [lead] = page.records
    assert (lead.stage, lead.stage_kind, lead.furthest_stage) == ("GONE", StageKind.OPEN, "registered")
