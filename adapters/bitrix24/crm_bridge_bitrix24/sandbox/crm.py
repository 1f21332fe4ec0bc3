"""crm.lead.* / crm.deal.* / crm.company.* / crm.contact.* (add, update, get, list, delete, fields) over
the portal state. References: b24restdocs api-reference/crm/deals/crm-deal-add.md, -update.md, -get.md,
-list.md, -delete.md, and the same pages for leads, companies and contacts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from crm_bridge_bitrix24.sandbox import defaults as defaults
from crm_bridge_bitrix24.sandbox import fields as fields_
from crm_bridge_bitrix24.sandbox.history import record_stage
from crm_bridge_bitrix24.sandbox.params import pick
from crm_bridge_bitrix24.sandbox.query import Answer, need_dict, page
from crm_bridge_bitrix24.sandbox.scan import matching
from crm_bridge_bitrix24.sandbox.scan import value_of as value_of  # re-exported (items, tests)
from crm_bridge_bitrix24.sandbox.state import (
    MULTI_FIELDS,
    B24Error,
    PortalState,
    deal_stage_entity,
    fmt_date,
    fmt_time,
)
from crm_bridge_bitrix24.sandbox.values import multi_value, scalar, uf_value

STANDARD = fields_.STANDARD
_FIRST_OF = {"TYPE_ID": "DEAL_TYPE", "SOURCE_ID": "SOURCE", "COMPANY_TYPE": "COMPANY_TYPE"}


@dataclass
class Ctx:
    """What a method call sees: the portal, the time, the calling user, and change events to emit."""

    state: PortalState
    now: float
    user_id: int
    events: list[tuple[str, int]] = field(default_factory=list)


def _fields_param(params: dict[str, Any]) -> dict[str, Any]:
    given = pick(params, "fields")
    if given in (None, "", []):
        return {}
    if not isinstance(given, dict):
        raise B24Error(400, "", "Parameter 'fields' must be array.")
    extra = pick(params, "params")
    if extra not in (None, "", []) and not isinstance(extra, dict):
        raise B24Error(400, "", "Parameter 'params' must be array.")
    return given


def _apply(entity: str, row: dict[str, Any], given: dict[str, Any], ctx: Ctx) -> None:
    state = ctx.state
    for raw_name, value in given.items():
        name = str(raw_name).upper()
        if name in fields_.READ_ONLY:
            continue
        if name in MULTI_FIELDS and entity in fields_.HAS_MULTI_FIELDS:
            row[name] = multi_value(row.get(name, []), value, state)
        elif name.startswith("UF_"):
            uf = state.userfield(entity, name)
            if uf is not None:  # unknown user fields are ignored, as the portal does
                row[name] = uf_value(uf, value)
        elif name == "CONTACT_IDS" and entity == "deal":
            ids = [str(int(v)) for v in (value if isinstance(value, list) else [value]) if str(v).strip()]
            row["CONTACT_IDS"] = ids
            row["CONTACT_ID"] = ids[0] if ids else None
        elif name in STANDARD[entity]:
            row[name] = scalar(name, value)
    if entity == "deal":
        _deal_stage(row, ctx)
    elif entity == "lead":
        _lead_status(row, ctx)
    if entity in fields_.HAS_MULTI_FIELDS:
        row["HAS_PHONE"] = "Y" if row.get("PHONE") else "N"
        row["HAS_EMAIL"] = "Y" if row.get("EMAIL") else "N"
        row["HAS_IMOL"] = "Y" if any(m["VALUE_TYPE"] == "OPENLINE" for m in row.get("IM", [])) else "N"


def _deal_stage(row: dict[str, Any], ctx: Ctx) -> None:
    category = int(row.get("CATEGORY_ID") or 0)
    if category not in ctx.state.categories:
        raise B24Error(400, "", f"Deal category {category} not found")
    row["CATEGORY_ID"] = str(category)
    stages = {s.status_id: s for s in ctx.state.stages_of(deal_stage_entity(category))}
    if not row.get("STAGE_ID"):
        row["STAGE_ID"] = next(iter(stages))
    elif row["STAGE_ID"] not in stages:
        raise B24Error(400, "", f"Stage {row['STAGE_ID']} does not belong to the deal category {category}")
    semantics = stages[row["STAGE_ID"]].semantics
    row["STAGE_SEMANTIC_ID"] = semantics or "P"
    row["CLOSED"] = "N" if semantics is None else "Y"


def _lead_status(row: dict[str, Any], ctx: Ctx) -> None:
    statuses = {s.status_id: s for s in ctx.state.stages_of("STATUS")}
    if not row.get("STATUS_ID"):
        row["STATUS_ID"] = next(iter(statuses))
    elif row["STATUS_ID"] not in statuses:
        raise B24Error(400, "", f"Status {row['STATUS_ID']} not found")
    semantics = statuses[row["STATUS_ID"]].semantics
    row["STATUS_SEMANTIC_ID"] = semantics or "P"
    row["DATE_CLOSED"] = fmt_time(ctx.now) if semantics else ""


def _new_row(entity: str, record_id: int, ctx: Ctx) -> dict[str, Any]:
    stamp, user = fmt_time(ctx.now), str(ctx.user_id)
    row: dict[str, Any] = {name: fields_.FLAGS.get(name) for name in STANDARD[entity]}
    row.update(ID=str(record_id), CREATED_BY_ID=user, MODIFY_BY_ID=user, ASSIGNED_BY_ID=user)
    row.update(DATE_CREATE=stamp, DATE_MODIFY=stamp, LAST_ACTIVITY_TIME=stamp, LAST_ACTIVITY_BY=user)
    for name, directory in _FIRST_OF.items():
        if name in row and (entity, name) != ("contact", "TYPE_ID"):
            row[name] = ctx.state.stages_of(directory)[0].status_id
    if entity == "contact":
        row["TYPE_ID"] = ctx.state.stages_of("CONTACT_TYPE")[0].status_id
    if entity in ("deal", "lead", "company"):
        row["CURRENCY_ID"] = "RUB"
    if entity in ("deal", "lead"):
        row.update(OPPORTUNITY="0.00", MOVED_BY_ID=user, MOVED_TIME=stamp)
        ru, en = defaults.RECORD_TITLE[entity]
        row["TITLE"] = f"{defaults.name_in(ctx.state.language, ru, en)} #{record_id}"
    if entity == "deal":
        row.update(CATEGORY_ID="0", IS_NEW="Y", TAX_VALUE="0.00", BEGINDATE=fmt_date(ctx.now))
        row["CLOSEDATE"] = fmt_date(ctx.now + 7 * 86400)  # crm-deal-add.md: creation date plus 7 days
    if entity == "company":
        row["REVENUE"] = "0"
    return row


def record(entity: str, ctx: Ctx, record_id: Any) -> dict[str, Any]:
    """The stored row, or the documented errors for a bad or unknown ``id``."""
    try:
        key = int(str(record_id))
    except (TypeError, ValueError):
        key = 0
    if key <= 0:
        raise B24Error(400, "", "ID is not defined or invalid.")
    row = ctx.state.records[entity].get(key)
    if row is None:
        raise B24Error(400, "", "Not found")
    return row


def add(entity: str, ctx: Ctx, params: dict[str, Any]) -> Answer:
    given = _fields_param(params)
    record_id = ctx.state.next_id(entity)
    row = _new_row(entity, record_id, ctx)
    try:
        _apply(entity, row, given, ctx)
    except B24Error:
        ctx.state.sequences[entity] -= 1
        raise
    ctx.state.records[entity][record_id] = row
    record_stage(ctx.state, entity, row, ctx.now, created=True)
    touch(ctx, entity)
    ctx.events.append((f"ONCRM{entity.upper()}ADD", record_id))
    return Answer(record_id, records=1)


def update(entity: str, ctx: Ctx, params: dict[str, Any]) -> Answer:
    row = record(entity, ctx, pick(params, "id"))
    given = _fields_param(params)
    if entity == "deal":  # crm-deal-update.md: the funnel is changed with crm.item.update only
        given = {k: v for k, v in given.items() if str(k).upper() != "CATEGORY_ID"}
    candidate = dict(row)
    _apply(entity, candidate, given, ctx)
    stamp = fmt_time(ctx.now)
    candidate.update(DATE_MODIFY=stamp, MODIFY_BY_ID=str(ctx.user_id))
    moved = "STAGE_ID" if entity == "deal" else "STATUS_ID"
    stage_moved = moved in candidate and candidate[moved] != row.get(moved)
    if stage_moved:
        candidate.update(MOVED_TIME=stamp, MOVED_BY_ID=str(ctx.user_id))
    if entity == "deal":
        candidate["IS_NEW"] = "N"
    row.clear()
    row.update(candidate)
    if stage_moved:
        record_stage(ctx.state, entity, row, ctx.now, created=False)
    touch(ctx, entity)
    ctx.events.append((f"ONCRM{entity.upper()}UPDATE", int(row["ID"])))
    return Answer(True, records=1)


def get(entity: str, ctx: Ctx, params: dict[str, Any]) -> Answer:
    row = record(entity, ctx, pick(params, "id"))
    return Answer(render(entity, ctx.state, row, None), records=1)


def delete(entity: str, ctx: Ctx, params: dict[str, Any]) -> Answer:
    row = record(entity, ctx, pick(params, "id"))
    del ctx.state.records[entity][int(row["ID"])]
    touch(ctx, entity)
    ctx.events.append((f"ONCRM{entity.upper()}DELETE", int(row["ID"])))
    return Answer(True, records=1)


def fields(entity: str, ctx: Ctx, params: dict[str, Any]) -> Answer:
    ufs = [uf for uf in ctx.state.userfields.values() if uf.entity == entity]
    return Answer(fields_.describe(entity, ufs))


def render(entity: str, state: PortalState, row: dict[str, Any], select: list[str] | None) -> dict[str, Any]:
    """A record as get (``select`` None: everything, multi-fields when filled) or list answers it.
    Masks: ``*`` all standard fields, ``UF_*`` all user fields; multi-fields only by name."""
    return renderer(entity, state, select)(row)


def renderer(
    entity: str, state: PortalState, select: list[str] | None
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """``render`` for many rows of one answer: the field names are worked out once."""
    ufs = [uf.field_name for uf in state.userfields.values() if uf.entity == entity]
    multi = MULTI_FIELDS if entity in fields_.HAS_MULTI_FIELDS else ()
    standard = STANDARD[entity]
    if select is None:
        names = [*standard, *ufs]
    else:
        names = ["ID"]
        for item in select:
            name = str(item).upper()
            if name == "*":
                names.extend(standard)
            elif name == "UF_*":
                names.extend(ufs)
            elif name in standard or name in ufs or name in multi:
                names.append(name)
    plain = [n for n in dict.fromkeys(names) if n not in MULTI_FIELDS]
    multis = [n for n in dict.fromkeys(names) if n in MULTI_FIELDS]
    if select is None:
        multis = list(multi)  # get: multi-fields when filled

    def one(row: dict[str, Any]) -> dict[str, Any]:
        out = {name: row.get(name) for name in plain}
        for name in multis:
            value = row.get(name)
            if value:
                out[name] = [{**m, "TYPE_ID": name} for m in value]
        return out

    return one


def list_(entity: str, ctx: Ctx, params: dict[str, Any]) -> Answer:
    filters = need_dict(params, "filter", pick(params, "filter"))
    order = need_dict(params, "order", pick(params, "order")) or {"ID": "ASC"}
    select = pick(params, "select")
    if isinstance(select, dict):
        select = list(select.values())
    if not select:
        select = ["*", "UF_*"]  # crm-deal-list.md: by default '*' + 'UF_*'
    start = pick(params, "start", default=0)
    rows = matching(entity, ctx, filters, order, fast=str(start).strip() == "-1")
    return page(rows, start, renderer(entity, ctx.state, select))


def touch(ctx: Ctx, entity: str) -> None:
    """Bump the table version so cached listings of ``entity`` are recomputed."""
    ctx.state.sequences[f"version:{entity}"] = ctx.state.sequences.get(f"version:{entity}", 0) + 1
