"""crm.stagehistory.list: the history of stage moves of leads and deals. Reference: the REST docs'
"История движения по стадиям" (crm/stagehistory): ``entityTypeId`` 1 (lead), 2 (deal) or 5 (invoice);
``order``, ``filter`` (exact values, arrays of values, and =, !=, <, >, >=, <=; no LIKE), ``select``,
``start``; the answer is ``{"items": [...]}`` with the usual ``total``/``next``. Each item: ID, TYPE_ID
(1 created, 2 moved to an intermediate stage, 3 moved to a final stage), OWNER_ID, CREATED_TIME and, for
deals, CATEGORY_ID, STAGE_SEMANTIC_ID (P/S/F) and STAGE_ID; for leads STATUS_SEMANTIC_ID and STATUS_ID.
"""

from __future__ import annotations

from typing import Any

from crm_bridge_bitrix24.sandbox.params import pick
from crm_bridge_bitrix24.sandbox.query import Answer, matches, need_dict, page, sort_rows
from crm_bridge_bitrix24.sandbox.state import B24Error, PortalState, deal_stage_entity, fmt_time

_ENTITY_OF = {1: "lead", 2: "deal"}  # invoices (5) are not emulated


def _semantics(state: PortalState, entity: str, row: dict[str, Any]) -> str:
    directory = deal_stage_entity(int(row.get("CATEGORY_ID") or 0)) if entity == "deal" else "STATUS"
    code = row.get("STAGE_ID" if entity == "deal" else "STATUS_ID")
    found = next((s for s in state.stages_of(directory) if s.status_id == code), None)
    return (found.semantics if found else None) or "P"


def record_stage(state: PortalState, entity: str, row: dict[str, Any], now: float, *, created: bool) -> None:
    """Append the history item for a record just created or just moved to another stage."""
    if entity not in _ENTITY_OF.values():
        return
    semantics = _semantics(state, entity, row)
    item: dict[str, Any] = {
        "ID": str(state.next_id("stagehistory")),
        "TYPE_ID": "1" if created else ("2" if semantics == "P" else "3"),
        "OWNER_ID": str(row["ID"]),
        "CREATED_TIME": fmt_time(now),
    }
    if entity == "deal":
        item.update(CATEGORY_ID=str(row.get("CATEGORY_ID") or 0), STAGE_SEMANTIC_ID=semantics)
        item["STAGE_ID"] = row.get("STAGE_ID")
    else:
        item.update(STATUS_SEMANTIC_ID=semantics, STATUS_ID=row.get("STATUS_ID"))
    state.stage_history.setdefault(entity, []).append(item)


def backdate_creation(state: PortalState, entity: str, owner_id: int, stamp: str) -> None:
    """A seeded record created in the past was created at that time in its history too."""
    for item in state.stage_history.get(entity, []):
        if item["OWNER_ID"] == str(owner_id) and item["TYPE_ID"] == "1":
            item["CREATED_TIME"] = stamp


def _value(item: dict[str, Any], name: str) -> Any:
    return item.get(name)


def stagehistory_list(ctx: Any, params: dict[str, Any]) -> Answer:
    try:
        entity = _ENTITY_OF[int(str(pick(params, "entityTypeId")))]
    except (KeyError, TypeError, ValueError):
        raise B24Error(400, "", "entityTypeId is not supported") from None
    filters = need_dict(params, "filter", pick(params, "filter"))
    order = need_dict(params, "order", pick(params, "order")) or {"ID": "ASC"}
    select = pick(params, "select")
    names = [str(s).upper() for s in (select.values() if isinstance(select, dict) else select or [])]
    items = ctx.state.stage_history.get(entity, [])
    owners = filters.get("OWNER_ID", filters.get("=OWNER_ID"))
    if owners is not None:  # the usual question (these records' history): a set lookup, not a scan
        wanted = {str(o) for o in (owners if isinstance(owners, list) else [owners])}
        items = [i for i in items if i["OWNER_ID"] in wanted]
        filters = {k: v for k, v in filters.items() if k not in ("OWNER_ID", "=OWNER_ID")}
    rows = sort_rows([r for r in items if matches(r, filters, _value)], order, _value)

    def render(item: dict[str, Any]) -> dict[str, Any]:
        if not names or "*" in names:
            return dict(item)
        return {k: v for k, v in item.items() if k in names or k == "ID"}

    answer = page(rows, pick(params, "start", default=0), render)
    answer.result = {"items": answer.result}
    return answer
