"""Deal funnels (crm.category.* with entityTypeId 2), stage directories (crm.status.*) and CRM user
fields (crm.<entity>.userfield.*). References: b24restdocs api-reference/crm/universal/category/*,
api-reference/crm/status/*, crm/companies/userfields/crm-company-userfield-add.md.
"""

from __future__ import annotations

import re
from typing import Any

from crm_bridge.sandbox.bitrix24_crm import Ctx
from crm_bridge.sandbox.bitrix24_params import pick
from crm_bridge.sandbox.bitrix24_query import Answer, matches, page, sort_rows
from crm_bridge.sandbox.bitrix24_state import (
    DEFAULT_DEAL_STAGES,
    B24Error,
    Category,
    UserField,
    deal_stage_entity,
    stage_prefix,
)

_STATUS_CODE = re.compile(r"^[A-Za-z0-9_\-]+$")
_UF_NAME = re.compile(r"^[A-Z0-9_]+$")
_UF_TYPES = {
    "string",
    "integer",
    "double",
    "boolean",
    "datetime",
    "date",
    "money",
    "url",
    "address",
    "enumeration",
    "file",
    "employee",
    "crm_status",
    "iblock_section",
    "iblock_element",
    "crm",
}


def _entity_type(params: dict[str, Any]) -> int:
    value = pick(params, "entityTypeId")
    if value in (None, ""):
        raise B24Error(400, "", "Required parameter 'entityTypeId' is missing")
    if int(value) == 1:
        raise B24Error(400, "ENTITY_TYPE_NOT_SUPPORTED", "Entity type 1 does not support categories")
    if int(value) != 2:
        raise B24Error(
            400, "ENTITY_TYPE_NOT_SUPPORTED", f"Entity type {value} is not supported by the sandbox"
        )
    return 2


def _category(ctx: Ctx, params: dict[str, Any]) -> Category:
    _entity_type(params)
    cat = ctx.state.categories.get(int(pick(params, "id", default=-1)))
    if cat is None:
        raise B24Error(400, "NOT_FOUND", "Category not found")
    return cat


def category_list(ctx: Ctx, params: dict[str, Any]) -> Answer:
    _entity_type(params)
    cats = sorted(ctx.state.categories.values(), key=lambda c: (c.sort, c.id))
    answer = page([c.render() for c in cats], pick(params, "start", default=0), lambda r: r)
    answer.result = {"categories": answer.result}
    return answer


def category_get(ctx: Ctx, params: dict[str, Any]) -> Answer:
    return Answer({"category": _category(ctx, params).render()})


def category_add(ctx: Ctx, params: dict[str, Any]) -> Answer:
    _entity_type(params)
    fields = pick(params, "fields") or {}
    name = str(fields.get("name", "")).strip()
    if not name:
        raise B24Error(400, "", "The field 'name' is required")
    if len(name) > 255:
        raise B24Error(400, "", "The field 'name' must be no longer than 255 characters")
    sort = max(0, int(fields.get("sort", 500) or 0))
    cat = Category(
        ctx.state.next_id("category"),
        name,
        sort,
        False,
        str(fields.get("originId", "") or ""),
        str(fields.get("originatorId", "") or ""),
    )
    ctx.state.categories[cat.id] = cat
    prefix = stage_prefix(cat.id)
    for code, stage_name, stage_sort, sem in DEFAULT_DEAL_STAGES:
        ctx.state.add_status(
            deal_stage_entity(cat.id),
            prefix + code,
            stage_name,
            stage_sort,
            sem,
            system=True,
            category_id=cat.id,
        )
    return Answer({"category": cat.render()}, records=1)


def category_update(ctx: Ctx, params: dict[str, Any]) -> Answer:
    cat = _category(ctx, params)
    fields = pick(params, "fields") or {}
    if "isDefault" in fields:
        raise B24Error(400, "", "The field 'isDefault' cannot be changed for deals")
    if "name" in fields:
        if not str(fields["name"]).strip():
            raise B24Error(400, "", "The field 'name' is required")
        cat.name = str(fields["name"]).strip()
    if "sort" in fields:
        cat.sort = max(0, int(fields["sort"] or 0))
    return Answer({"category": cat.render()}, records=1)


def category_delete(ctx: Ctx, params: dict[str, Any]) -> Answer:
    cat = _category(ctx, params)
    if cat.is_default:
        raise B24Error(400, "REMOVING_DISABLED", "The default category cannot be deleted")
    if any(int(r.get("CATEGORY_ID") or 0) == cat.id for r in ctx.state.records["deal"].values()):
        raise B24Error(400, "", f"Deals related to the funnel {cat.id} found")
    del ctx.state.categories[cat.id]
    for status in [s for s in ctx.state.statuses.values() if s.entity_id == deal_stage_entity(cat.id)]:
        del ctx.state.statuses[status.id]
    return Answer(None)


def _status_value(row: Any, name: str) -> Any:
    return row.render().get(name)


def status_list(ctx: Ctx, params: dict[str, Any]) -> Answer:
    filters = pick(params, "filter") or {}
    rows = [s for s in ctx.state.statuses.values() if matches(s.render(), filters, lambda r, n: r.get(n))]
    rendered = [s.render() for s in rows]
    sort_rows(rendered, pick(params, "order") or {"SORT": "ASC"}, lambda r, n: r.get(n))
    return Answer(rendered, total=len(rendered), records=len(rendered))


def status_entity_types(ctx: Ctx, params: dict[str, Any]) -> Answer:
    out = [
        {
            "ID": "STATUS",
            "NAME": "Статусы",
            "SEMANTIC_INFO": {
                "START_FIELD": "NEW",
                "FINAL_SUCCESS_FIELD": "CONVERTED",
                "FINAL_UNSUCCESS_FIELD": "JUNK",
                "FINAL_SORT": 0,
            },
            "PREFIX": "",
            "FIELD_ATTRIBUTE_SCOPE": "",
        },
        {"ID": "COMPANY_TYPE", "NAME": "Тип компании"},
    ]
    for cat in sorted(ctx.state.categories.values(), key=lambda c: c.id):
        prefix = stage_prefix(cat.id)
        out.append(
            {
                "ID": deal_stage_entity(cat.id),
                "NAME": f"Стадии сделки ({cat.name})",
                "PARENT_ID": "DEAL_STAGE",
                "SEMANTIC_INFO": {
                    "START_FIELD": prefix + "NEW",
                    "FINAL_SUCCESS_FIELD": prefix + "WON",
                    "FINAL_UNSUCCESS_FIELD": prefix + "LOSE",
                    "FINAL_SORT": 0,
                },
                "PREFIX": prefix.rstrip(":"),
                "ENTITY_TYPE_ID": 2,
                "CATEGORY_ID": cat.id,
            }
        )
    return Answer(out)


def _status(ctx: Ctx, params: dict[str, Any]) -> Any:
    try:
        status = ctx.state.statuses.get(int(pick(params, "id", default=-1)))
    except (TypeError, ValueError):
        status = None
    if status is None:
        raise B24Error(400, "", "Not found")
    return status


def status_get(ctx: Ctx, params: dict[str, Any]) -> Answer:
    return Answer(_status(ctx, params).render())


def status_add(ctx: Ctx, params: dict[str, Any]) -> Answer:
    fields = pick(params, "fields") or {}
    entity_id = str(fields.get("ENTITY_ID", ""))
    code = str(fields.get("STATUS_ID", ""))
    if not entity_id or not code or not str(fields.get("NAME", "")).strip():
        raise B24Error(400, "", "Required fields: ENTITY_ID, STATUS_ID, NAME")
    category_id: int | None = None
    if entity_id.startswith("DEAL_STAGE"):
        category_id = 0 if entity_id == "DEAL_STAGE" else int(entity_id.rsplit("_", 1)[1])
        if category_id not in ctx.state.categories:
            raise B24Error(400, "", f"Entity {entity_id} not found")
        prefix = stage_prefix(category_id)
        if prefix and not code.startswith(prefix):
            code = prefix + code
    bare = code.split(":", 1)[-1]
    if not _STATUS_CODE.match(bare):
        raise B24Error(400, "", "STATUS_ID may contain only Latin letters, digits, '-' and '_'")
    limit = 21 if entity_id == "STATUS" else 22 if entity_id == "DEAL_STAGE" else 50
    if len(code) > limit:
        raise B24Error(400, "", f"STATUS_ID is too long: no more than {limit} characters")
    existing = ctx.state.stages_of(entity_id)
    if any(s.status_id == code for s in existing):
        raise B24Error(400, "", f"Status {code} already exists")
    semantics = {"": None, None: None, "S": "S", "F": "F", "P": None}.get(fields.get("SEMANTICS"), None)
    sort = int(fields.get("SORT", 10) or 10)
    won = next((s for s in existing if s.semantics == "S"), None)
    if semantics is None and won is not None and sort > won.sort:
        raise B24Error(
            400, "", "Cannot create more stages after the final stage. Please check the sort index"
        )
    status = ctx.state.add_status(
        entity_id,
        code,
        str(fields["NAME"]),
        sort,
        semantics,
        system=False,
        category_id=category_id,
        color=str(fields.get("COLOR", "") or ""),
    )
    return Answer(status.id, records=1)


def status_update(ctx: Ctx, params: dict[str, Any]) -> Answer:
    status = _status(ctx, params)
    fields = pick(params, "fields") or {}
    if "NAME" in fields:
        if not str(fields["NAME"]).strip():
            raise B24Error(400, "", "NAME must not be empty")
        status.name = str(fields["NAME"])
    if "SORT" in fields:
        new_sort = int(fields["SORT"])
        won = next((s for s in ctx.state.stages_of(status.entity_id) if s.semantics == "S"), None)
        if status.semantics is None and won is not None and new_sort > won.sort:
            raise B24Error(400, "", "Cannot move a stage after the final stage. Please check the sort index")
        status.sort = new_sort
    if "COLOR" in fields:
        status.color = str(fields["COLOR"])
    return Answer(True, records=1)


def status_delete(ctx: Ctx, params: dict[str, Any]) -> Answer:
    status = _status(ctx, params)
    forced = str((pick(params, "params") or {}).get("FORCED", "N")).upper() == "Y"
    if status.system and not forced:
        raise B24Error(400, "", "System statuses can be deleted only with params[FORCED]=Y")
    field = "STAGE_ID" if status.entity_id.startswith("DEAL_STAGE") else "STATUS_ID"
    entity = "deal" if field == "STAGE_ID" else "lead"
    if status.entity_id in ("STATUS",) or field == "STAGE_ID":
        if any(r.get(field) == status.status_id for r in ctx.state.records[entity].values()):
            raise B24Error(400, "", "There are active items in this status")
    del ctx.state.statuses[status.id]
    return Answer(True)


# -- user fields --------------------------------------------------------------------------------------
def _items(raw: Any) -> list[dict[str, Any]]:
    if isinstance(raw, dict):
        raw = list(raw.values())
    return [i for i in (raw or []) if isinstance(i, dict)]


def userfield_add(entity: str, ctx: Ctx, params: dict[str, Any]) -> Answer:
    fields = pick(params, "fields") or {}
    name = str(fields.get("FIELD_NAME", "")).upper()
    if not name:
        raise B24Error(400, "", "FIELD_NAME is required")
    if not name.startswith("UF_CRM_"):
        name = "UF_CRM_" + (name[3:] if name.startswith("UF_") else name)
    if not _UF_NAME.match(name):
        raise B24Error(400, "ERROR_CORE", "FIELD_NAME may contain only A-Z, 0-9 and _")
    if len(name) > 50:
        raise B24Error(400, "ERROR_CORE", "FIELD_NAME must be no longer than 50 characters including UF_CRM_")
    utype = str(fields.get("USER_TYPE_ID", ""))
    if utype not in _UF_TYPES:
        raise B24Error(400, "ERROR_CORE", f"Unknown USER_TYPE_ID {utype!r}")
    if ctx.state.userfield(entity, name) is not None:
        raise B24Error(400, "ERROR_CORE", f"A field named {name} already exists")
    label = fields.get("EDIT_FORM_LABEL") or fields.get("LABEL") or name
    if isinstance(label, dict):
        label = label.get("ru") or label.get("en") or next(iter(label.values()), name)
    uf = UserField(
        ctx.state.next_id("userfield"),
        entity,
        name,
        utype,
        str(label),
        str(fields.get("XML_ID", "") or ""),
        int(fields.get("SORT", 100) or 100),
        str(fields.get("MULTIPLE", "N")).upper() == "Y",
        str(fields.get("MANDATORY", "N")).upper() == "Y",
        dict(fields.get("SETTINGS") or {}),
    )
    if utype == "enumeration":
        _merge_items(uf, _items(fields.get("LIST")), ctx)
    ctx.state.userfields[uf.id] = uf
    return Answer(uf.id, records=1)


def _merge_items(uf: UserField, given: list[dict[str, Any]], ctx: Ctx) -> None:
    for item in given:
        if item.get("ID"):
            current = next((i for i in uf.items if str(i["ID"]) == str(item["ID"])), None)
            if current is None:
                continue
            if str(item.get("DEL", "N")).upper() == "Y":
                uf.items.remove(current)
            else:
                current.update({k: item[k] for k in ("VALUE", "XML_ID", "SORT", "DEF") if k in item})
        elif str(item.get("VALUE", "")).strip():
            uf.items.append(
                {
                    "ID": ctx.state.next_id("enum"),
                    "VALUE": str(item["VALUE"]),
                    "XML_ID": str(item.get("XML_ID") or f"{ctx.state.sequences['enum']:x}"),
                    "SORT": int(item.get("SORT", 500) or 500),
                    "DEF": str(item.get("DEF", "N")).upper(),
                }
            )


def _uf(entity: str, ctx: Ctx, params: dict[str, Any]) -> UserField:
    try:
        uf = ctx.state.userfields.get(int(pick(params, "id", default=-1)))
    except (TypeError, ValueError):
        uf = None
    if uf is None or uf.entity != entity:
        raise B24Error(400, "", "The user field is not found")
    return uf


def userfield_get(entity: str, ctx: Ctx, params: dict[str, Any]) -> Answer:
    return Answer(_uf(entity, ctx, params).render())


def userfield_list(entity: str, ctx: Ctx, params: dict[str, Any]) -> Answer:
    filters = pick(params, "filter") or {}
    rows = [uf.render() for uf in ctx.state.userfields.values() if uf.entity == entity]
    rows = [r for r in rows if matches(r, filters, lambda row, n: row.get(n))]
    sort_rows(rows, pick(params, "order") or {"SORT": "ASC"}, lambda r, n: r.get(n))
    return Answer(rows, total=len(rows), records=len(rows))


def userfield_update(entity: str, ctx: Ctx, params: dict[str, Any]) -> Answer:
    uf = _uf(entity, ctx, params)
    fields = pick(params, "fields") or {}
    for key in ("EDIT_FORM_LABEL", "LABEL", "LIST_COLUMN_LABEL"):
        if key in fields:
            label = fields[key]
            uf.label = str(label.get("ru") or label.get("en")) if isinstance(label, dict) else str(label)
    if "SORT" in fields:
        uf.sort = int(fields["SORT"])
    if "MANDATORY" in fields:
        uf.mandatory = str(fields["MANDATORY"]).upper() == "Y"
    if "SETTINGS" in fields and isinstance(fields["SETTINGS"], dict):
        uf.settings.update(fields["SETTINGS"])
    if uf.user_type_id == "enumeration" and "LIST" in fields:
        _merge_items(uf, _items(fields["LIST"]), ctx)
    return Answer(True, records=1)


def userfield_delete(entity: str, ctx: Ctx, params: dict[str, Any]) -> Answer:
    uf = _uf(entity, ctx, params)
    del ctx.state.userfields[uf.id]
    for row in ctx.state.records[entity].values():
        row.pop(uf.field_name, None)
    return Answer(True)
