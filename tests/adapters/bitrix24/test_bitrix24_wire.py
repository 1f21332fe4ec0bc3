"""Wire tests of the Bitrix24 adapter's reads: the requests it sends and how it reads the answers,
replaying the payload shapes of the official docs (bitrix24/b24restdocs) through ``responses``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import responses
from b24_wire_support import HOOK, TIME, _adapter, _batch, _catalog_kv, _sent, _status_row

from crm_bridge.ports import Entity


@responses.activate
def test_scope_answer_from_the_docs_is_read_and_missing_scopes_are_named() -> None:
    responses.post(HOOK + "scope", json={"result": ["crm", "user", "department"], "time": TIME})
    responses.post(HOOK + "batch", json=_batch({"c0": {"categories": []}, "c1": [], "c2": []}))

    checks = {c.name: c for c in _adapter().check()}

    assert checks["connection"].ok
    assert not checks["scopes"].ok and "task, im" in checks["scopes"].detail


@responses.activate
def test_the_layout_is_read_in_one_batch_shaped_like_the_docs() -> None:
    categories = {
        "categories": [
            {
                "id": 9,
                "name": "Partner leads",
                "sort": 200,
                "entityTypeId": 2,
                "isDefault": "N",
                "originId": "",
                "originatorId": "",
            },
            {"id": 0, "name": "General", "sort": 300, "entityTypeId": 2, "isDefault": "Y"},
        ]
    }
    company_ufs = [
        {
            "ID": "6799",
            "ENTITY_ID": "CRM_COMPANY",
            "FIELD_NAME": "UF_CRM_PARTNER_TIER",
            "USER_TYPE_ID": "enumeration",
            "XML_ID": None,
            "SORT": "150",
            "MULTIPLE": "N",
            "MANDATORY": "N",
            "EDIT_FORM_LABEL": "Tier",
            "LIST": [{"ID": "3157", "SORT": "10", "VALUE": "Gold", "DEF": "N", "XML_ID": "gold"}],
        }
    ]
    responses.post(HOOK + "batch", json=_batch({"c0": categories, "c1": company_ufs, "c2": []}))

    observed = _adapter().observe_layout()

    sent = _sent(responses.calls[0])
    assert sent["halt"] == 0
    assert list(sent["cmd"].values()) == [
        "crm.category.list?entityTypeId=2",
        "crm.company.userfield.list?order%5BID%5D=ASC&filter%5BLANG%5D=en",
        "crm.deal.userfield.list?order%5BID%5D=ASC&filter%5BLANG%5D=en",
    ]
    [tier] = observed.fields
    assert (tier.key, tier.code, tier.type.value) == ("tier", "UF_CRM_PARTNER_TIER", "enum")
    assert [(o.crm_id, o.key, o.label) for o in tier.options] == [("3157", "gold", "Gold")]
    assert observed.funnels == ()  # the company's own funnels are not ours


@responses.activate
def test_a_small_incremental_window_costs_one_keyset_request_without_a_count() -> None:
    rows = [
        {
            "ID": "37",
            "TITLE": "[A] Deal",
            "CATEGORY_ID": "9",
            "STAGE_ID": "C9:WON",
            "OPPORTUNITY": "19999.99",
            "ASSIGNED_BY_ID": "6",
            "DATE_CREATE": "2024-09-02T18:37:18+02:00",
            "DATE_MODIFY": "2024-09-02T18:40:00+02:00",
            "CLOSED": "Y",
            "CLOSEDATE": "2024-09-02T18:40:00+02:00",
            "ORIGINATOR_ID": "crm-bridge",
            "ORIGIN_ID": "ext-37",
            "UF_CRM_PARTNER_REF": "5",
            "CURRENCY_ID": "RUB",
        }
    ]
    listed_at = {**TIME, "start": 1725300000.0}  # 2024-09-02T18:00:00Z: after the row's DATE_MODIFY
    responses.post(HOOK + "crm.deal.list", json={"result": rows, "total": 0, "time": listed_at})
    from crm_bridge.ports import SyncCursor

    pages = list(
        _adapter(_catalog_kv()).changed_since(Entity.LEAD, SyncCursor(datetime(2024, 9, 1, tzinfo=UTC)))
    )

    sent = _sent(responses.calls[0])
    assert sent["start"] == -1 and sent["order"] == {"ID": "ASC"}
    assert sent["filter"] == {"CATEGORY_ID": 9, ">DATE_MODIFY": "2024-09-01T00:00:00+00:00"}
    [lead] = pages[-1].records
    assert (lead.crm_id, lead.stage, lead.stage_kind.value, lead.partner_id, lead.external_id) == (
        "37",
        "won",
        "won",
        "5",
        "ext-37",
    )
    assert str(lead.amount) == "19999.99" and lead.closed_at == datetime(2024, 9, 2, 16, 40, tzinfo=UTC)
    assert pages[-1].cursor is not None and pages[-1].cursor.last_id == "37"


def _keyset_portal(ids: list[int]) -> Any:
    """A ``batch`` callback answering ``crm.deal.list`` commands over ``ids`` as the docs describe:
    ``start=0`` counts (``total``), ``start=-1`` does not; ``>ID``/``<=ID`` bound, ``order[ID]`` sorts."""
    from urllib.parse import parse_qsl

    def row(i: int) -> dict[str, Any]:
        stamp = "2024-09-02T18:37:18+02:00"
        return {
            "ID": str(i),
            "TITLE": "x",
            "CATEGORY_ID": "9",
            "STAGE_ID": "C9:NEW",
            "DATE_CREATE": stamp,
            "DATE_MODIFY": stamp,
        }

    def answer(request: Any) -> tuple[int, dict[str, str], str]:

        cmds = json.loads(request.body)["cmd"]
        result: dict[str, Any] = {}
        totals: dict[str, int] = {}
        for key, cmd in cmds.items():
            q = dict(parse_qsl(cmd.partition("?")[2]))
            lo, hi = int(q.get("filter[>ID]", 0)), int(q.get("filter[<=ID]", 10**9))
            rows = [i for i in ids if lo < i <= hi]
            if q.get("order[ID]") == "DESC":
                rows.reverse()
            result[key] = [row(i) for i in rows[:50]]
            if q["start"] != "-1":
                totals[key] = len(rows)
        return 200, {}, json.dumps(_batch(result, totals=totals))

    return answer


@responses.activate
def test_a_backfill_counts_once_then_fills_each_batch_with_fifty_keyset_windows() -> None:
    responses.add_callback(responses.POST, HOOK + "batch", callback=_keyset_portal(list(range(1, 2601))))

    pages = list(_adapter(_catalog_kv()).changed_since(Entity.LEAD, None))

    ids = [r.crm_id for p in pages for r in p.records]
    assert len(ids) == 2600 == len(set(ids)) and len(responses.calls) == 3  # plan + 51 windows in 2
    plan = list(_sent(responses.calls[0])["cmd"].values())
    assert plan[0].endswith("start=0") and "filter%5BCATEGORY_ID%5D=9" in plan[0]  # the only count
    assert "order%5BID%5D=DESC" in plan[1] and plan[1].endswith("start=-1")  # the highest id
    windows = [c for call in responses.calls[1:] for c in _sent(call)["cmd"].values()]
    assert len(windows) == 51 and all(c.endswith("start=-1") for c in windows)
    assert any("filter%5B%3EID%5D=50&filter%5B%3C%3DID%5D=100&" in c for c in windows)  # one page each
    assert pages[-1].total == 2600 and pages[-1].cursor is not None and pages[-1].cursor.resume == ""


@responses.activate
def test_a_window_holding_more_than_a_page_goes_on_from_its_last_id() -> None:
    ids = list(range(1, 51)) + [1000 + i for i in range(120)] + [5000]  # a dense clump, a sparse tail
    responses.add_callback(responses.POST, HOOK + "batch", callback=_keyset_portal(ids))

    got = [int(r.crm_id) for p in _adapter(_catalog_kv()).changed_since(Entity.LEAD, None) for r in p.records]

    assert sorted(got) == ids and len(got) == len(set(got))


@responses.activate
def test_a_new_funnel_is_added_then_its_automatic_stages_are_renamed_and_the_leftovers_removed() -> None:
    from crm_bridge.domain.layout import (
        DesiredFunnel,
        DesiredStage,
        PlanAction,
        PlanItem,
        PlanObject,
        ProvisionPlan,
    )
    from crm_bridge.domain.model import StageKind

    stages = (
        DesiredStage("registered", "Registered", StageKind.OPEN, "", 10),
        DesiredStage("won", "Won", StageKind.WON, "", 20),
        DesiredStage("lost", "Lost", StageKind.LOST, "", 30),
    )
    funnel = DesiredFunnel("leads", "Partner leads", stages, 100)
    plan = ProvisionPlan(
        (
            PlanItem(PlanObject.FUNNEL, PlanAction.CREATE, "leads", desired=funnel),
            *(PlanItem(PlanObject.STAGE, PlanAction.CREATE, f"leads/{s.key}", desired=s) for s in stages),
        )
    )
    empty = _batch({"c0": {"categories": []}, "c1": [], "c2": []})
    added = {"category": {"id": 7, "name": "Partner leads", "sort": 100, "entityTypeId": 2, "isDefault": "N"}}
    auto = [
        _status_row(1, "NEW", 10, None),
        _status_row(2, "PREPARATION", 20, None),
        _status_row(3, "WON", 60, "S"),
        _status_row(4, "LOSE", 70, "F"),
        _status_row(5, "APOLOGY", 80, "F"),
    ]
    responses.post(HOOK + "batch", json=empty)  # observe
    responses.post(HOOK + "batch", json=_batch({"c0": added}))  # crm.category.add
    responses.post(HOOK + "batch", json=_batch({"c0": auto}))  # crm.status.list of the new funnel
    responses.post(HOOK + "batch", json=_batch({f"c{i}": True for i in range(6)}))  # updates + deletes
    renamed = [
        _status_row(1, "NEW", 10, None),
        _status_row(3, "WON", 20, "S"),
        _status_row(4, "LOSE", 30, "F"),
    ]
    final = _batch({"c0": {"categories": [added["category"]]}, "c1": [], "c2": [], "c3": renamed})
    responses.post(HOOK + "batch", json=final)  # observe again

    adapter = _adapter()
    adapter.observe_layout()
    observed = adapter.apply_plan(plan)

    assert list(_sent(responses.calls[1])["cmd"].values()) == [
        "crm.category.add?entityTypeId=2&fields%5Bname%5D=Partner+leads&fields%5Bsort%5D=100"
    ]
    assert list(_sent(responses.calls[2])["cmd"].values()) == [
        "crm.status.list?order%5BSORT%5D=ASC&filter%5BENTITY_ID%5D=DEAL_STAGE_7"
    ]
    ops = list(_sent(responses.calls[3])["cmd"].values())
    assert [o.split("?")[0] for o in ops] == ["crm.status.update"] * 3 + ["crm.status.delete"] * 2
    assert ops[0].startswith("crm.status.update?id=4&fields%5BNAME%5D=Lost&fields%5BSORT%5D=30")
    assert ops[-1] == "crm.status.delete?id=5&params%5BFORCED%5D=Y"
    [leads] = observed.funnels
    assert [(s.key, s.code) for s in leads.stages] == [
        ("registered", "C7:NEW"),
        ("won", "C7:WON"),
        ("lost", "C7:LOSE"),
    ]
    assert len(responses.calls) == 5


@responses.activate
def test_users_are_read_page_by_page_from_user_get() -> None:
    def user(i: int) -> dict[str, Any]:
        return {
            "ID": str(i),
            "ACTIVE": True,
            "NAME": "Vadim",
            "LAST_NAME": f"V{i}",
            "EMAIL": f"u{i}@example.com",
            "USER_TYPE": "employee",
        }

    responses.post(
        HOOK + "user.get",
        json={"result": [user(i) for i in range(1, 51)], "total": 60, "next": 50, "time": TIME},
    )
    responses.post(HOOK + "batch", json=_batch({"c0": [user(i) for i in range(51, 61)]}))

    users = _adapter().list_users()

    assert len(users) == 60 and users[0].name == "Vadim V1"
    assert _sent(responses.calls[0])["FILTER"] == {"USER_TYPE": "employee"}
    assert list(_sent(responses.calls[1])["cmd"].values())[0].endswith("start=50")
