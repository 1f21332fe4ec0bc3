"""crm.lead.* / crm.deal.* / crm.company.* / crm.contact.* (add, update, get, list, delete, fields)
and crm.duplicate.findbycomm, over the portal state. References: b24restdocs api-reference/crm/
deals/crm-deal-add.md, crm-deal-update.md, crm-deal-list.md, companies/*, leads/*, contacts/*,
duplicates/crm-duplicate-find-by-comm.md.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from crm_bridge.sandbox.bitrix24_params import pick
from crm_bridge.sandbox.bitrix24_query import Answer, matches, page, sort_rows
from crm_bridge.sandbox.bitrix24_state import (
    MULTI_FIELDS,
    B24Error,
    PortalState,
    deal_stage_entity,
    fmt_time,
)

COMMON = (
    "ID",
    "TITLE",
    "ASSIGNED_BY_ID",
    "CREATED_BY_ID",
    "MODIFY_BY_ID",
    "DATE_CREATE",
    "DATE_MODIFY",
    "OPENED",
    "COMMENTS",
    "SOURCE_ID",
    "ORIGINATOR_ID",
    "ORIGIN_ID",
    "CURRENCY_ID",
    "OPPORTUNITY",
)
STANDARD: dict[str, tuple[str, ...]] = {
    "deal": COMMON
    + (
        "CATEGORY_ID",
        "STAGE_ID",
        "STAGE_SEMANTIC_ID",
        "CLOSED",
        "CLOSEDATE",
        "BEGINDATE",
        "COMPANY_ID",
        "CONTACT_ID",
        "LEAD_ID",
        "TYPE_ID",
        "PROBABILITY",
        "IS_NEW",
    ),
    "lead": COMMON
    + (
        "NAME",
        "LAST_NAME",
        "SECOND_NAME",
        "COMPANY_TITLE",
        "STATUS_ID",
        "STATUS_SEMANTIC_ID",
        "COMPANY_ID",
        "CONTACT_ID",
        "HAS_PHONE",
        "HAS_EMAIL",
    ),
    "company": COMMON
    + ("COMPANY_TYPE", "INDUSTRY", "REVENUE", "EMPLOYEES", "HAS_PHONE", "HAS_EMAIL", "ORIGIN_VERSION"),
    "contact": COMMON
    + ("NAME", "LAST_NAME", "SECOND_NAME", "COMPANY_ID", "POST", "HAS_PHONE", "HAS_EMAIL", "ORIGIN_VERSION"),
}
_READ_ONLY = {
    "ID",
    "CREATED_BY_ID",
    "MODIFY_BY_ID",
    "DATE_CREATE",
    "DATE_MODIFY",
    "STAGE_SEMANTIC_ID",
    "STATUS_SEMANTIC_ID",
    "HAS_PHONE",
    "HAS_EMAIL",
    "IS_NEW",
}
_INT_FIELDS = {
    "ID",
    "ASSIGNED_BY_ID",
    "CREATED_BY_ID",
    "MODIFY_BY_ID",
    "CATEGORY_ID",
    "COMPANY_ID",
    "CONTACT_ID",
    "LEAD_ID",
}


@dataclass
class Ctx:
    """What a method call sees: the portal, the time, the calling user, and change events to emit."""

    state: PortalState
    now: float
    user_id: int
    events: list[tuple[str, int]] = field(default_factory=list)


def value_of(row: dict[str, Any], name: str) -> Any:
    if name in MULTI_FIELDS:
        return [m["VALUE"] for m in row.get(name, [])]
    return row.get(name)


def _money(value: Any, name: str) -> str:
    try:
        return f"{Decimal(str(value or 0)):.2f}"
    except InvalidOperation:
        raise B24Error(400, "", f"Field {name} must be a number") from None


def _multi(existing: list[dict[str, Any]], given: Any, ctx: Ctx) -> list[dict[str, Any]]:
    """Multi-fields: entries without ID are added; with ID they change; DELETE=Y or empty VALUE removes."""
    items = [dict(m) for m in existing]
    if isinstance(given, dict):
        given = list(given.values())
    for entry in given or []:
        if not isinstance(entry, dict):
            continue
        if entry.get("ID"):
            for item in items:
                if str(item["ID"]) == str(entry["ID"]):
                    if entry.get("DELETE") == "Y" or entry.get("VALUE") == "":
                        items.remove(item)
                    else:
                        item.update({k: entry[k] for k in ("VALUE", "VALUE_TYPE") if k in entry})
                    break
        elif entry.get("VALUE"):
            items.append(
                {
                    "ID": str(ctx.state.next_id("multifield")),
                    "VALUE_TYPE": entry.get("VALUE_TYPE", "WORK"),
                    "VALUE": str(entry["VALUE"]),
                }
            )
    return items


def _apply_fields(
    entity: str, row: dict[str, Any], fields: dict[str, Any], ctx: Ctx, *, creating: bool
) -> None:
    state = ctx.state
    for raw_name, value in fields.items():
        name = str(raw_name).upper()
        if name in _READ_ONLY:
            continue
        if name in MULTI_FIELDS:
            row[name] = _multi(row.get(name, []), value, ctx)
        elif name.startswith("UF_"):
            uf = state.userfield(entity, name)
            if uf is None:
                continue  # unknown user fields are ignored, as the portal does
            row[name] = _uf_value(uf, value)
        elif name in STANDARD[entity] or name == "CONTACT_IDS":
            if name in ("OPPORTUNITY", "REVENUE"):
                row[name] = _money(value, name)
            elif name in _INT_FIELDS:
                row[name] = None if value in (None, "", "0", 0) and name != "CATEGORY_ID" else str(int(value))
            else:
                row[name] = value
    if entity == "deal":
        _deal_stage(row, ctx, creating=creating)
    elif entity == "lead":
        _lead_status(row, ctx)
    for name in ("PHONE", "EMAIL"):
        if name in STANDARD[entity] or f"HAS_{name}" in STANDARD[entity]:
            row[f"HAS_{name}"] = "Y" if row.get(name) else "N"


def _uf_value(uf: Any, value: Any) -> Any:
    if uf.user_type_id == "enumeration":
        ids = {str(i["ID"]) for i in uf.items}
        values = value if isinstance(value, list) else [value]
        kept = [str(v) for v in values if str(v) in ids]
        if uf.multiple:
            return kept
        return kept[0] if kept else None
    if uf.multiple:
        return [str(v) for v in (value if isinstance(value, list) else [value])]
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value) if not isinstance(value, str) else value


def _deal_stage(row: dict[str, Any], ctx: Ctx, *, creating: bool) -> None:
    category = int(row.get("CATEGORY_ID") or 0)
    if category not in ctx.state.categories:
        raise B24Error(400, "", f"Deal category {category} not found")
    row["CATEGORY_ID"] = str(category)
    stages = ctx.state.stages_of(deal_stage_entity(category))
    codes = {s.status_id: s for s in stages}
    if not row.get("STAGE_ID"):
        row["STAGE_ID"] = stages[0].status_id
    elif row["STAGE_ID"] not in codes:
        raise B24Error(400, "", f"Stage {row['STAGE_ID']} does not belong to the deal category {category}")
    semantics = codes[row["STAGE_ID"]].semantics
    row["STAGE_SEMANTIC_ID"] = {None: "P", "S": "S", "F": "F"}[semantics]
    row["CLOSED"] = "N" if semantics is None else "Y"
    if semantics is not None and not row.get("CLOSEDATE"):
        row["CLOSEDATE"] = fmt_time(ctx.now)


def _lead_status(row: dict[str, Any], ctx: Ctx) -> None:
    stages = ctx.state.stages_of("STATUS")
    codes = {s.status_id: s for s in stages}
    if not row.get("STATUS_ID"):
        row["STATUS_ID"] = stages[0].status_id
    elif row["STATUS_ID"] not in codes:
        raise B24Error(400, "", f"Status {row['STATUS_ID']} not found")
    row["STATUS_SEMANTIC_ID"] = {None: "P", "S": "S", "F": "F"}[codes[row["STATUS_ID"]].semantics]


def _record(entity: str, ctx: Ctx, record_id: Any) -> dict[str, Any]:
    try:
        key = int(record_id)
    except (TypeError, ValueError):
        raise B24Error(400, "", "ID is not defined or invalid.") from None
    row = ctx.state.records[entity].get(key)
    if row is None:
        raise B24Error(400, "", "Not found")
    return row


def add(entity: str, ctx: Ctx, params: dict[str, Any]) -> Answer:
    fields = pick(params, "fields") or {}
    if not isinstance(fields, dict):
        raise B24Error(400, "", "Parameter 'fields' must be array.")
    record_id = ctx.state.next_id(entity)
    stamp = fmt_time(ctx.now)
    row: dict[str, Any] = {
        "ID": str(record_id),
        "CREATED_BY_ID": str(ctx.user_id),
        "MODIFY_BY_ID": str(ctx.user_id),
        "DATE_CREATE": stamp,
        "DATE_MODIFY": stamp,
        "ASSIGNED_BY_ID": str(ctx.user_id),
        "OPENED": "Y",
        "CURRENCY_ID": "RUB",
        "OPPORTUNITY": "0.00",
        "ORIGINATOR_ID": None,
        "ORIGIN_ID": None,
    }
    if entity == "deal":
        row.update({"CATEGORY_ID": "0", "IS_NEW": "Y", "BEGINDATE": stamp})
    if entity in ("deal", "lead") and not str(fields.get("TITLE", fields.get("title", ""))).strip():
        fields = {**fields, "TITLE": f"{'Сделка' if entity == 'deal' else 'Лид'} #{record_id}"}
    _apply_fields(entity, row, fields, ctx, creating=True)
    ctx.state.records[entity][record_id] = row
    touch(ctx, entity)
    ctx.events.append((f"ONCRM{entity.upper()}ADD", record_id))
    return Answer(record_id, records=1)


def update(entity: str, ctx: Ctx, params: dict[str, Any]) -> Answer:
    row = _record(entity, ctx, pick(params, "id"))
    fields = pick(params, "fields") or {}
    if entity == "deal":
        fields = {
            k: v for k, v in fields.items() if str(k).upper() != "CATEGORY_ID"
        }  # crm.item.update moves funnels
    candidate = dict(row)
    _apply_fields(entity, candidate, fields, ctx, creating=False)
    candidate["DATE_MODIFY"] = fmt_time(ctx.now)
    candidate["MODIFY_BY_ID"] = str(ctx.user_id)
    if entity == "deal":
        candidate["IS_NEW"] = "N"
    row.clear()
    row.update(candidate)
    touch(ctx, entity)
    ctx.events.append((f"ONCRM{entity.upper()}UPDATE", int(row["ID"])))
    return Answer(True, records=1)


def get(entity: str, ctx: Ctx, params: dict[str, Any]) -> Answer:
    row = _record(entity, ctx, pick(params, "id"))
    return Answer(render(entity, ctx.state, row, None), records=1)


def delete(entity: str, ctx: Ctx, params: dict[str, Any]) -> Answer:
    row = _record(entity, ctx, pick(params, "id"))
    del ctx.state.records[entity][int(row["ID"])]
    touch(ctx, entity)
    ctx.events.append((f"ONCRM{entity.upper()}DELETE", int(row["ID"])))
    return Answer(True, records=1)


def render(entity: str, state: PortalState, row: dict[str, Any], select: list[str] | None) -> dict[str, Any]:
    """A record as the API returns it: standard fields (and UF_*/multi-fields when asked)."""
    ufs = [uf.field_name for uf in state.userfields.values() if uf.entity == entity]
    if select is None:  # get: everything but multi-fields unless present
        names = [*STANDARD[entity], *ufs, *[m for m in MULTI_FIELDS if row.get(m)]]
    else:
        names = []
        for item in select:
            name = str(item).upper()
            if name == "*":
                names.extend(STANDARD[entity])
            elif name == "UF_*":
                names.extend(ufs)
            elif name in STANDARD[entity] or name in ufs or name in MULTI_FIELDS:
                names.append(name)
        if "ID" not in names:
            names.insert(0, "ID")
    out: dict[str, Any] = {}
    for name in dict.fromkeys(names):
        value = row.get(name)
        if name in MULTI_FIELDS:
            if value:
                out[name] = [{**m, "TYPE_ID": name} for m in value]
            continue
        out[name] = value
    return out


def list_(entity: str, ctx: Ctx, params: dict[str, Any]) -> Answer:
    filters = pick(params, "filter") or {}
    select = pick(params, "select")
    if isinstance(select, dict):
        select = list(select.values())
    if not select:
        select = ["*"]
    order = pick(params, "order") or {"ID": "ASC"}
    start = pick(params, "start", default=0)
    rows = _matching(entity, ctx, filters, order, fast=str(start) == "-1")
    return page(rows, start, lambda r: render(entity, ctx.state, r, select))


def _matching(
    entity: str, ctx: Ctx, filters: dict[str, Any], order: dict[str, Any], *, fast: bool
) -> list[Any]:
    """Rows matching ``filters`` in ``order``. Ordered by ID ascending with ``start=-1`` (the docs'
    fast listing), the scan walks ids from the ``>ID`` bound and stops after one page, which is what
    makes that mode cheap on a real portal too; other listings are cached per table version."""
    table = ctx.state.records[entity]
    id_asc = {str(k).upper(): str(v).upper() for k, v in order.items()} == {"ID": "ASC"}
    if fast and id_asc:
        ids = sorted(table)  # dict keys are already ascending ids; sorted() keeps this robust
        lower = None
        for key, value in filters.items():
            if str(key).upper() == ">ID":
                lower = int(value) + 1
            elif str(key).upper() == ">=ID":
                lower = int(value)
        begin = bisect_left(ids, lower) if lower is not None else 0
        out: list[Any] = []
        for record_id in ids[begin:]:
            row = table[record_id]
            if matches(row, filters, value_of):
                out.append(row)
                if len(out) >= 50:
                    break
        return out
    key = (
        entity,
        ctx.state.sequences.get(f"version:{entity}", 0),
        repr(sorted(filters.items(), key=str)),
        repr(list(order.items())),
    )
    cached = _CACHE.get(key)
    if cached is None:
        cached = [r for r in table.values() if matches(r, filters, value_of)]
        sort_rows(cached, order, value_of)
        if len(_CACHE) > 64:
            _CACHE.clear()
        _CACHE[key] = cached
    return cached


_CACHE: dict[tuple[Any, ...], list[Any]] = {}


def touch(ctx: Ctx, entity: str) -> None:
    """Bump the table version so cached listings of ``entity`` are recomputed."""
    ctx.state.sequences[f"version:{entity}"] = ctx.state.sequences.get(f"version:{entity}", 0) + 1


def fields_(entity: str, ctx: Ctx, params: dict[str, Any]) -> Answer:
    out: dict[str, Any] = {}
    for name in STANDARD[entity]:
        ftype = "integer" if name in _INT_FIELDS else "datetime" if name.startswith("DATE") else "string"
        if name == "OPPORTUNITY":
            ftype = "double"
        out[name] = {
            "type": ftype,
            "isRequired": False,
            "isReadOnly": name in _READ_ONLY,
            "isImmutable": False,
            "isMultiple": False,
            "isDynamic": False,
            "title": name,
        }
    for name in MULTI_FIELDS:
        out[name] = {
            "type": "crm_multifield",
            "isRequired": False,
            "isReadOnly": False,
            "isImmutable": False,
            "isMultiple": True,
            "isDynamic": False,
            "title": name,
        }
    for uf in ctx.state.userfields.values():
        if uf.entity != entity:
            continue
        desc: dict[str, Any] = {
            "type": uf.user_type_id,
            "isRequired": uf.mandatory,
            "isReadOnly": False,
            "isImmutable": False,
            "isMultiple": uf.multiple,
            "isDynamic": True,
            "title": uf.field_name,
            "listLabel": uf.label,
            "formLabel": uf.label,
            "filterLabel": uf.label,
            "settings": uf.settings,
        }
        if uf.user_type_id == "enumeration":
            desc["items"] = [{"ID": str(i["ID"]), "VALUE": i["VALUE"]} for i in uf.items]
        out[uf.field_name] = desc
    return Answer(out)


_DIGITS = re.compile(r"\D+")


def find_by_comm(ctx: Ctx, params: dict[str, Any]) -> Answer:
    kind = str(pick(params, "type", default="")).upper()
    values = pick(params, "values") or []
    if kind not in ("EMAIL", "PHONE"):
        raise B24Error(400, "", "Parameter 'type' is not defined or invalid")
    if not isinstance(values, list) or not values:
        raise B24Error(400, "", "Parameter 'values' is not defined or invalid")
    if len(values) > 20:
        raise B24Error(400, "", "Too many values: no more than 20 are allowed")
    entity_type = str(pick(params, "entity_type", default="") or "").upper()
    wanted = [entity_type] if entity_type else ["LEAD", "CONTACT", "COMPANY"]

    def norm(v: Any) -> str:
        return _DIGITS.sub("", str(v))[-10:] if kind == "PHONE" else str(v).strip().lower()

    needles = {norm(v) for v in values}
    found: dict[str, list[int]] = {}
    for name in wanted:
        entity = name.lower()
        if entity not in ctx.state.records:
            raise B24Error(400, "", f"Entity type {name} is not supported")
        ids = [
            rid
            for rid, row in ctx.state.records[entity].items()
            if any(norm(m["VALUE"]) in needles for m in row.get(kind, []))
        ]
        if ids:
            found[name] = sorted(ids)
    return Answer(found if found else [], records=sum(len(v) for v in found.values()))
