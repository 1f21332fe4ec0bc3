"""Deal funnels (crm.category.* with entityTypeId 2) and the crm.status.* directories (stages and their
semantics). References: b24restdocs api-reference/crm/universal/category/*, api-reference/crm/status/*.
"""

from __future__ import annotations

import re
from typing import Any

from crm_bridge_bitrix24.sandbox import defaults as defaults
from crm_bridge_bitrix24.sandbox.crm import Ctx
from crm_bridge_bitrix24.sandbox.params import pick
from crm_bridge_bitrix24.sandbox.portal import add_funnel_stages
from crm_bridge_bitrix24.sandbox.query import Answer, matches, need_dict, page, sort_rows
from crm_bridge_bitrix24.sandbox.state import (
    B24Error,
    Category,
    Status,
    deal_stage_entity,
    is_stage_directory,
    stage_prefix,
)

_STATUS_CODE = re.compile(r"^[A-Za-z0-9_\-]+$")
_ENTITY_NAMES = {1: "Lead", 3: "Contact", 4: "Company", 7: "Quote", 31: "SmartInvoice"}


def _entity_type(params: dict[str, Any]) -> int:
    """Only deals (2) have funnels in the sandbox; leads have none; an unknown id is "not found"."""
    value = pick(params, "entityTypeId")
    try:
        type_id = int(str(value))
    except (TypeError, ValueError):
        raise B24Error(400, "NOT_FOUND", "Smart process not found") from None
    if type_id == 2:
        return 2
    if type_id in _ENTITY_NAMES:
        name = _ENTITY_NAMES[type_id]
        raise B24Error(400, "ENTITY_TYPE_NOT_SUPPORTED", f"Entity type {name} is not supported")
    raise B24Error(400, "NOT_FOUND", "Smart process not found")


def _category(ctx: Ctx, params: dict[str, Any]) -> Category:
    _entity_type(params)
    try:
        cat = ctx.state.categories.get(int(str(pick(params, "id"))))
    except (TypeError, ValueError):
        cat = None
    if cat is None:
        raise B24Error(400, "NOT_FOUND", "Element not found")
    return cat


def category_list(ctx: Ctx, params: dict[str, Any]) -> Answer:
    _entity_type(params)
    cats = sorted(ctx.state.categories.values(), key=lambda c: (c.sort, c.id))
    answer = page(cats, pick(params, "start", default=0), lambda c: c.render())
    answer.result = {"categories": answer.result}
    return answer


def category_get(ctx: Ctx, params: dict[str, Any]) -> Answer:
    return Answer({"category": _category(ctx, params).render()})


def _sort(value: Any, default: int) -> int:
    try:
        return max(0, int(str(value))) if value not in (None, "") else default
    except ValueError:
        return default


def category_add(ctx: Ctx, params: dict[str, Any]) -> Answer:
    _entity_type(params)
    given = pick(params, "fields") or {}
    if not isinstance(given, dict):
        given = {}
    name = str(given.get("name") or "").strip()
    if not name:
        raise B24Error(400, "0", "Field 'NAME' is required")
    if len(name) > 255:
        raise B24Error(400, "0", "Field 'NAME' must be no longer than 255 characters")
    cat = Category(
        ctx.state.next_id("category"),
        name,
        _sort(given.get("sort"), 500),
        False,
        str(given.get("originId") or ""),
        str(given.get("originatorId") or ""),
    )
    ctx.state.categories[cat.id] = cat
    add_funnel_stages(ctx.state, cat.id)
    return Answer({"category": cat.render()}, records=1)


def category_update(ctx: Ctx, params: dict[str, Any]) -> Answer:
    cat = _category(ctx, params)
    given = pick(params, "fields") or {}
    if not isinstance(given, dict):
        given = {}
    if "name" in given:
        if not str(given["name"] or "").strip():
            raise B24Error(400, "0", "Field 'NAME' is required")
        cat.name = str(given["name"]).strip()
    if "sort" in given:
        cat.sort = _sort(given["sort"], cat.sort)
    # crm-category-add.md: "In deals, the isDefault field is not available for modification" — ignored.
    return Answer({"category": cat.render()}, records=1)


def category_delete(ctx: Ctx, params: dict[str, Any]) -> Answer:
    cat = _category(ctx, params)
    if cat.is_default:
        raise B24Error(400, "0", "Default deal category cannot be deleted")
    if any(int(r.get("CATEGORY_ID") or 0) == cat.id for r in ctx.state.records["deal"].values()):
        raise B24Error(400, "0", f"Deals related to the funnel {cat.name} found")
    del ctx.state.categories[cat.id]
    for status in [s for s in ctx.state.statuses.values() if s.entity_id == deal_stage_entity(cat.id)]:
        del ctx.state.statuses[status.id]
    return Answer(None)


def status_list(ctx: Ctx, params: dict[str, Any]) -> Answer:
    filters = need_dict(params, "filter", pick(params, "filter"))
    order = need_dict(params, "order", pick(params, "order")) or {"SORT": "ASC"}
    rows = [s.render() for s in ctx.state.statuses.values()]
    rows = sort_rows(
        [r for r in rows if matches(r, filters, lambda r, n: r.get(n))], order, lambda r, n: r.get(n)
    )
    return Answer(rows, total=len(rows), records=len(rows))


def status_entity_types(ctx: Ctx, params: dict[str, Any]) -> Answer:
    """The directories with their stage semantics (crm-status-entity-types.md)."""
    ru = ctx.state.language == "ru"
    out: list[dict[str, Any]] = [
        {
            "ID": "STATUS",
            "NAME": defaults.DIRECTORY_TITLES["STATUS"][0 if ru else 1],
            "SEMANTIC_INFO": _semantic_info(ctx, "STATUS"),
            "ENTITY_TYPE_ID": 1,
        }
    ]
    out += [{"ID": d[0], "NAME": d[1] if ru else d[2]} for d in defaults.DIRECTORIES]
    for cat in sorted(ctx.state.categories.values(), key=lambda c: c.id):
        entity_id = deal_stage_entity(cat.id)
        row: dict[str, Any] = {"ID": entity_id, "NAME": cat.name}
        if cat.id:
            row["PARENT_ID"] = "DEAL_STAGE"
        row["SEMANTIC_INFO"] = _semantic_info(ctx, entity_id)
        if cat.id:
            row["PREFIX"] = stage_prefix(cat.id).rstrip(":")
        row["FIELD_ATTRIBUTE_SCOPE"] = f"category_{cat.id}" if cat.id else ""
        row["ENTITY_TYPE_ID"] = 2
        row["CATEGORY_ID"] = str(cat.id) if cat.id else 0
        out.append(row)
    return Answer(out)


def _semantic_info(ctx: Ctx, entity_id: str) -> dict[str, Any]:
    stages = ctx.state.stages_of(entity_id)
    start = stages[0].status_id if stages else ""
    success = next((s.status_id for s in stages if s.semantics == "S"), "")
    failure = next((s.status_id for s in stages if s.semantics == "F" and s.system), "")
    return {
        "START_FIELD": start,
        "FINAL_SUCCESS_FIELD": success,
        "FINAL_UNSUCCESS_FIELD": failure,
        "FINAL_SORT": 0,
    }


def _status(ctx: Ctx, params: dict[str, Any]) -> Status:
    try:
        status_id = int(str(pick(params, "id")))
    except (TypeError, ValueError):
        raise B24Error(400, "", "Invalid identifier.") from None
    status = ctx.state.statuses.get(status_id)
    if status is None:
        raise B24Error(400, "", "Status is not found.")
    return status


def status_get(ctx: Ctx, params: dict[str, Any]) -> Answer:
    return Answer(_status(ctx, params).render())


def _known_directory(ctx: Ctx, entity_id: str) -> bool:
    if entity_id == "STATUS" or any(d[0] == entity_id for d in defaults.DIRECTORIES):
        return True
    return any(deal_stage_entity(c) == entity_id for c in ctx.state.categories)


def status_add(ctx: Ctx, params: dict[str, Any]) -> Answer:
    given = pick(params, "fields")
    if not isinstance(given, dict):
        raise B24Error(400, "", "Parameter 'fields' must be array.")
    entity_id, code = str(given.get("ENTITY_ID") or ""), str(given.get("STATUS_ID") or "")
    missing = [
        f"The field {n} is required." for n, v in (("ENTITY_ID", entity_id), ("STATUS_ID", code)) if not v
    ]
    if missing:
        raise B24Error(400, "", " ".join(missing))
    if not _known_directory(ctx, entity_id):
        raise B24Error(400, "", "Specified entity type is not supported.")
    if not str(given.get("NAME") or "").strip():
        raise B24Error(400, "", "The field Title is required.")
    category_id: int | None = None
    if entity_id.startswith("DEAL_STAGE"):
        category_id = 0 if entity_id == "DEAL_STAGE" else int(entity_id.rsplit("_", 1)[1])
        prefix = stage_prefix(category_id)
        if prefix and not code.startswith(prefix):
            code = prefix + code  # crm-status-add.md: DECISION in funnel 1 is saved as C1:DECISION
    if is_stage_directory(entity_id):
        bare = code.split(":", 1)[-1]
        limit = defaults.code_max(entity_id)
        if not _STATUS_CODE.match(bare) or len(code) > limit:
            raise B24Error(400, "", "Error on creating status.")  # the docs give no specific text
    elif len(code) > defaults.OTHER_CODE_MAX:
        raise B24Error(400, "", "Error on creating status.")
    existing = ctx.state.stages_of(entity_id)
    if any(s.status_id == code for s in existing):
        raise B24Error(400, "ERROR_CORE", "The specified status ID already exists.")
    semantics = {"S": "S", "F": "F"}.get(str(given.get("SEMANTICS") or "").upper())
    sort = _sort(given.get("SORT"), 10)
    won = next((s for s in existing if s.semantics == "S"), None)
    if is_stage_directory(entity_id) and semantics is None and won is not None and sort > won.sort:
        raise B24Error(
            400,
            "",
            "Cannot create more stages after the final stage because the final successful stage already "
            "exists. Try using sort order values less than that of the final stage.",
        )
    status = ctx.state.add_status(
        entity_id,
        code,
        str(given["NAME"]),
        sort,
        semantics,
        category_id=category_id,
        color=str(given.get("COLOR") or ("#39A8EF" if is_stage_directory(entity_id) else "")),
    )
    return Answer(status.id, records=1)


def status_update(ctx: Ctx, params: dict[str, Any]) -> Answer:
    """NAME, SORT, COLOR change; STATUS_ID and SEMANTICS are immutable (crm-status-fields.md)."""
    status = _status(ctx, params)
    given = pick(params, "fields")
    if not isinstance(given, dict):
        raise B24Error(400, "", "Parameter 'fields' must be array.")
    if "NAME" in given:
        if not str(given["NAME"] or "").strip():
            raise B24Error(400, "", "The field Title is required.")
        status.name = str(given["NAME"])
    if "SORT" in given:
        new_sort = _sort(given["SORT"], status.sort)
        won = next((s for s in ctx.state.stages_of(status.entity_id) if s.semantics == "S"), None)
        if is_stage_directory(status.entity_id) and status.semantics is None and won and new_sort > won.sort:
            raise B24Error(400, "", "Error on updating status.")
        status.sort = new_sort
    if "COLOR" in given:
        status.color = str(given["COLOR"])
    return Answer(True, records=1)


def status_delete(ctx: Ctx, params: dict[str, Any]) -> Answer:
    status = _status(ctx, params)
    extra = pick(params, "params") or {}
    forced = isinstance(extra, dict) and str(extra.get("FORCED", "N")).upper() == "Y"
    if status.system and not forced:
        raise B24Error(
            400,
            "",
            'CRM System Status can be deleted only if parameter FORCED is specified and equal to "Y".',
        )
    if status.entity_id.startswith("DEAL_STAGE") or status.entity_id == "STATUS":
        entity, field = ("deal", "STAGE_ID") if status.entity_id != "STATUS" else ("lead", "STATUS_ID")
        if any(r.get(field) == status.status_id for r in ctx.state.records[entity].values()):
            raise B24Error(400, "", "There are active items in this status.")
    del ctx.state.statuses[status.id]
    return Answer(True)
