"""amoCRM custom fields: ``/api/v4/{leads|contacts|companies}/custom_fields`` and the
``custom_fields_values`` payload carried by records ([{field_id|field_code, values:[{value, enum_id}]}])."""

from __future__ import annotations

import copy
from typing import Any

from crm_bridge.sandbox.core import SandboxResponse
from crm_bridge_amocrm.sandbox.store import MAX_BATCH, AmoState, Call, field_model
from crm_bridge_amocrm.sandbox.wire import (
    AmoError,
    as_int,
    field_error,
    no_content,
    problem,
    self_link,
    validation_failed,
)

FIELD_TYPES = (
    "text", "numeric", "checkbox", "select", "multiselect", "multitext", "date", "url", "textarea",
    "radiobutton", "streetaddress", "smart_address", "birthday", "legal_entity", "date_time", "items",
    "category", "price", "tracking_data", "linked_entity", "org_legal_name", "monetary", "chained_list",
    "file", "payer", "supplier",
)  # fmt: skip
ENUM_TYPES = ("select", "multiselect", "radiobutton", "multitext")
_CHOICE = "The value you selected is not a valid choice."


def _link(call: Call, entity: str, fid: int) -> dict[str, Any]:
    return self_link(f"{call.base}/api/v4/{entity}/custom_fields/{fid}")


def render_field(call: Call, entity: str, model: dict[str, Any]) -> dict[str, Any]:
    return {**copy.deepcopy(model), "_links": _link(call, entity, model["id"])}


def list_fields(call: Call, entity: str) -> SandboxResponse:
    fields = sorted(call.state.fields[entity].values(), key=lambda f: (f["sort"], f["id"]))
    types = call.query.get("filter", {}).get("type") if isinstance(call.query.get("filter"), dict) else None
    if types:
        wanted = set(
            types if isinstance(types, list) else list(types.values()) if isinstance(types, dict) else [types]
        )
        fields = [f for f in fields if f["type"] in wanted]
    page = max(as_int(call.query.get("page")) or 1, 1)
    limit = min(max(as_int(call.query.get("limit")) or 50, 1), MAX_BATCH)
    chunk = fields[(page - 1) * limit : page * limit]
    if not chunk:
        return no_content()
    page_count = -(-len(fields) // limit)
    href = f"{call.base}/api/v4/{entity}/custom_fields"
    links: dict[str, Any] = {"self": {"href": f"{href}?limit={limit}&page={page}"}}
    if page < page_count:
        links["next"] = {"href": f"{href}?limit={limit}&page={page + 1}"}
    body = {
        "_total_items": len(fields),
        "_page": page,
        "_page_count": page_count,
        "_links": links,
        "_embedded": {"custom_fields": [render_field(call, entity, f) for f in chunk]},
    }
    return SandboxResponse(body=body, records=len(chunk))


def get_field(call: Call, entity: str, fid: int) -> SandboxResponse:
    model = call.state.fields[entity].get(fid)
    if model is None:
        return no_content()
    return SandboxResponse(body=render_field(call, entity, model), records=1)


def add_fields(call: Call, entity: str) -> SandboxResponse:
    items = _array(call.body)
    errors: list[dict[str, Any]] = []
    codes = {f["code"] for f in call.state.fields[entity].values() if f.get("code")}
    for index, item in enumerate(items):
        problems = _check_definition(item, codes)
        if problems:
            errors.append({"request_id": str(item.get("request_id", index)), "errors": problems})
        elif item.get("code"):
            codes.add(item["code"])
    if errors:
        raise validation_failed(errors)
    created = []
    for index, item in enumerate(items):
        fid = call.state.next_id("field")
        enums = _new_enums(call.state, item.get("enums")) if item["type"] in ENUM_TYPES else None
        model = field_model(call.state, entity, fid, item, enums)
        call.state.fields[entity][fid] = model
        created.append(
            {**render_field(call, entity, model), "request_id": str(item.get("request_id", index))}
        )
    body = {"_total_items": len(created), "_embedded": {"custom_fields": created}}
    return SandboxResponse(body=body, records=len(created))


def update_fields(call: Call, entity: str, fid: int | None = None) -> SandboxResponse:
    items = (
        [dict(call.body, id=fid)] if fid is not None and isinstance(call.body, dict) else _array(call.body)
    )
    errors = []
    for index, item in enumerate(items):
        model = call.state.fields[entity].get(as_int(item.get("id")) or -1)
        if model is None:
            errors.append(
                {"request_id": str(index), "errors": [field_error("NotSupportedChoice", "id", _CHOICE)]}
            )
        elif "type" in item and item["type"] != model["type"]:
            errors.append(
                {
                    "request_id": str(index),
                    "errors": [field_error("InvalidType", "type", "Type cannot be changed.")],
                }
            )
    if errors:
        raise validation_failed(errors)
    updated = []
    for item in items:
        model = call.state.fields[entity][int(item["id"])]
        for key in (
            "name",
            "sort",
            "code",
            "is_api_only",
            "required_statuses",
            "group_id",
            "settings",
            "remind",
        ):
            if key in item:
                model[key] = item[key]
        if "enums" in item and model["type"] in ENUM_TYPES:
            model["enums"] = _merge_enums(call.state, model["enums"] or [], item["enums"] or [])
        updated.append(render_field(call, entity, model))
    if fid is not None:
        return SandboxResponse(body=updated[0], records=1)
    return SandboxResponse(body={"_total_items": len(updated), "_embedded": {"custom_fields": updated}})


def delete_field(call: Call, entity: str, fid: int) -> SandboxResponse:
    model = call.state.fields[entity].get(fid)
    if model is None:
        return problem(404, "Custom field not found")
    if not model["is_deletable"]:
        return problem(400, "Predefined field cannot be deleted")
    del call.state.fields[entity][fid]
    for record in call.state.records[entity].values():
        values = record.get("custom_fields_values") or []
        kept = [v for v in values if v["field_id"] != fid]
        record["custom_fields_values"] = kept or None
    return no_content()


def _array(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, list) or not all(isinstance(x, dict) for x in body):
        raise validation_failed(
            [{"request_id": "0", "errors": [field_error("InvalidType", "", "Expected array")]}]
        )
    if not body or len(body) > MAX_BATCH:
        raise AmoError(problem(400, f"Request must contain from 1 to {MAX_BATCH} items"))
    return body


def _check_definition(item: dict[str, Any], codes: set[str]) -> list[dict[str, str]]:
    problems = []
    if not isinstance(item.get("name"), str) or not item["name"].strip():
        problems.append(field_error("NotBlank", "name", "This value should not be blank."))
    if item.get("type") not in FIELD_TYPES:
        problems.append(field_error("NotSupportedChoice", "type", _CHOICE))
    elif item["type"] in ENUM_TYPES and item["type"] != "multitext":
        enums = item.get("enums")
        if (
            not isinstance(enums, list)
            or not enums
            or not all(isinstance(e, dict) and e.get("value") for e in enums)
        ):
            problems.append(field_error("NotBlank", "enums", "This value should not be blank."))
    if item.get("code") and item["code"] in codes:
        problems.append(field_error("NotUnique", "code", "This value is already used."))
    return problems


def _new_enums(state: AmoState, raw: Any) -> list[dict[str, Any]]:
    enums = []
    for index, item in enumerate(raw or []):
        enum = {"id": state.next_id("enum"), "value": str(item["value"]), "sort": item.get("sort", index + 1)}
        if item.get("code"):
            enum["code"] = item["code"]
        enums.append(enum)
    return enums


def _merge_enums(
    state: AmoState, current: list[dict[str, Any]], raw: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """PATCH enums: items with an id keep it (value/sort updated); items without one are new; the rest go."""
    by_id = {e["id"]: e for e in current}
    merged = []
    for index, item in enumerate(raw):
        known = by_id.get(as_int(item.get("id")) or -1)
        if known is not None:
            known = {
                **known,
                "value": str(item.get("value", known["value"])),
                "sort": item.get("sort", known["sort"]),
            }
            merged.append(known)
        else:
            merged.extend(_new_enums(state, [{"sort": index + 1, **item}]))
    return merged
