"""The universal crm.item.add / get / update / list for leads, deals, contacts and companies
(entityTypeId 1, 2, 3, 4): camelCase names and typed values over the same records as the classic
methods; crm.item.update moves a deal to another funnel. References: b24restdocs
api-reference/crm/universal/crm-item-*.md, settings/performance/huge-data.md.
"""

from __future__ import annotations

import re
from typing import Any

from crm_bridge_bitrix24.sandbox import crm as crm
from crm_bridge_bitrix24.sandbox import fields as fields_
from crm_bridge_bitrix24.sandbox.crm import Ctx, value_of
from crm_bridge_bitrix24.sandbox.params import pick
from crm_bridge_bitrix24.sandbox.query import Answer, matches, need_dict, page, sort_rows, split_key
from crm_bridge_bitrix24.sandbox.state import B24Error, deal_stage_entity

_ITEM_TYPES = {1: "lead", 2: "deal", 3: "contact", 4: "company"}
_SPECIAL = {
    "DATE_CREATE": "createdTime",
    "DATE_MODIFY": "updatedTime",
    "CREATED_BY_ID": "createdBy",
    "MODIFY_BY_ID": "updatedBy",
    "MOVED_BY_ID": "movedBy",
    "CONTACT_IDS": "contactIds",
}


def camel(name: str, entity: str = "") -> str:
    """``ASSIGNED_BY_ID`` -> ``assignedById``; ``UF_CRM_1721244482250`` -> ``ufCrm_1721244482250``;
    a lead's ``STATUS_ID`` is ``stageId`` in crm.item."""
    if name in _SPECIAL:
        return _SPECIAL[name]
    if entity == "lead" and name in ("STATUS_ID", "STATUS_SEMANTIC_ID"):
        return "stageId" if name == "STATUS_ID" else "stageSemanticId"
    if name.startswith("UF_CRM_"):
        rest = name[7:]
        if rest[:1].isdigit():
            return "ufCrm_" + rest
        return "ufCrm" + "".join(p.capitalize() for p in rest.split("_"))
    head, *tail = name.lower().split("_")
    return head + "".join(p.capitalize() for p in tail)


def _known(ctx: Ctx, entity: str) -> list[str]:
    ufs = [u.field_name for u in ctx.state.userfields.values() if u.entity == entity]
    extra = ["CONTACT_IDS"] if entity == "deal" else []
    return [*fields_.STANDARD[entity], *extra, *ufs]


def uncamel(name: str, entity: str, known: list[str]) -> str:
    for field in known:
        if camel(field, entity) == name or field == name.upper():
            return field
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper()


def _typed(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name == "CONTACT_IDS":
        return [int(v) for v in value]
    if name in fields_.INTEGER:
        return int(value)
    if name in fields_.MONEY:
        return float(value)
    return value


def _entity(params: dict[str, Any]) -> str:
    try:
        return _ITEM_TYPES[int(str(pick(params, "entityTypeId", default=0)))]
    except (KeyError, TypeError, ValueError):
        raise B24Error(400, "NOT_FOUND", "SPA not found") from None


def _item(
    entity: str, ctx: Ctx, row: dict[str, Any], select: list[str] | None, original: bool
) -> dict[str, Any]:
    known = _known(ctx, entity)
    names = known if not select or "*" in select else [uncamel(s, entity, known) for s in select]
    out: dict[str, Any] = {"id": int(row["ID"])}
    for name in names:
        if name.startswith("UF_") and original:
            out[name] = row.get(name)
        elif name == "CONTACT_IDS":
            out["contactIds"] = _typed(
                name, row.get(name) or ([row["CONTACT_ID"]] if row.get("CONTACT_ID") else [])
            )
        elif name in known:
            out[camel(name, entity)] = _typed(name, row.get(name))
    return out


def _fields(ctx: Ctx, entity: str, params: dict[str, Any]) -> dict[str, Any]:
    given = pick(params, "fields") or {}
    if not isinstance(given, dict):
        raise B24Error(400, "", "Parameter 'fields' must be array.")
    known = _known(ctx, entity)
    out = {uncamel(str(k), entity, known): v for k, v in given.items()}
    if entity == "lead" and "STAGE_ID" in out:
        out["STATUS_ID"] = out.pop("STAGE_ID")
    return out


def _row(entity: str, ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    try:
        row = ctx.state.records[entity].get(int(str(pick(params, "id"))))
    except (TypeError, ValueError):
        row = None
    if row is None:
        raise B24Error(400, "NOT_FOUND", "Item not found")
    return row


def item_add(ctx: Ctx, params: dict[str, Any]) -> Answer:
    entity = _entity(params)
    answer = crm.add(entity, ctx, {"fields": _fields(ctx, entity, params)})
    row = ctx.state.records[entity][answer.result]
    return Answer({"item": _item(entity, ctx, row, None, False)}, records=1)


def item_get(ctx: Ctx, params: dict[str, Any]) -> Answer:
    entity = _entity(params)
    original = str(pick(params, "useOriginalUfNames", default="N")).upper() == "Y"
    return Answer({"item": _item(entity, ctx, _row(entity, ctx, params), None, original)}, records=1)


def item_update(ctx: Ctx, params: dict[str, Any]) -> Answer:
    entity = _entity(params)
    row = _row(entity, ctx, params)
    given = _fields(ctx, entity, params)
    if entity == "deal" and "CATEGORY_ID" in given and str(given["CATEGORY_ID"]) != row["CATEGORY_ID"]:
        category = int(str(given.pop("CATEGORY_ID")))
        if category not in ctx.state.categories:
            raise B24Error(400, "CRM_FIELD_ERROR_VALUE_NOT_VALID", 'Invalid value for field "categoryId"')
        previous = (row["CATEGORY_ID"], row["STAGE_ID"])
        row["CATEGORY_ID"] = str(category)
        if "STAGE_ID" not in given:
            given["STAGE_ID"] = ctx.state.stages_of(deal_stage_entity(category))[0].status_id
        try:
            crm.update(entity, ctx, {"id": row["ID"], "fields": given})
        except B24Error:
            row["CATEGORY_ID"], row["STAGE_ID"] = previous
            raise
        ctx.events.append(("ONCRMDEALMOVETOCATEGORY", int(row["ID"])))
    else:
        given.pop("CATEGORY_ID", None)
        crm.update(entity, ctx, {"id": row["ID"], "fields": given})
    return Answer({"item": _item(entity, ctx, row, None, False)}, records=1)


def item_list(ctx: Ctx, params: dict[str, Any]) -> Answer:
    entity = _entity(params)
    known = _known(ctx, entity)
    filters: dict[str, Any] = {}
    for key, value in need_dict(params, "filter", pick(params, "filter")).items():
        op, name = split_key(str(key))
        filters[("" if op == "=" and not str(key).startswith("=") else op) + uncamel(name, entity, known)] = (
            value
        )
    order: dict[str, str] = {}
    for key, direction in (need_dict(params, "order", pick(params, "order")) or {"id": "ASC"}).items():
        if str(direction).upper() not in ("ASC", "DESC"):
            raise B24Error(
                400,
                "INVALID_ARG_VALUE",
                "Invalid order: allowed sort directions are ASC, DESC. "
                f"But got '{direction}' for field '{key}'",
            )
        order[uncamel(str(key), entity, known)] = str(direction).upper()
    select = pick(params, "select")
    select = [str(s) for s in (select.values() if isinstance(select, dict) else select or [])]
    original = str(pick(params, "useOriginalUfNames", default="N")).upper() == "Y"
    rows = [r for r in ctx.state.records[entity].values() if matches(r, filters, value_of)]
    sort_rows(rows, order, value_of)
    answer = page(rows, pick(params, "start", default=0), lambda r: _item(entity, ctx, r, select, original))
    answer.result = {"items": answer.result}
    return answer
