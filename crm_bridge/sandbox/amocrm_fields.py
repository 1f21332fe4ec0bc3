"""amoCRM custom fields: ``/api/v4/{leads|contacts|companies}/custom_fields`` and the
``custom_fields_values`` payload carried by records ([{field_id|field_code, values:[{value, enum_id}]}])."""

from __future__ import annotations

import copy
from typing import Any

from crm_bridge.sandbox.amocrm_store import MAX_BATCH, AmoState, Call, field_model
from crm_bridge.sandbox.amocrm_wire import (
    AmoError,
    as_int,
    field_error,
    no_content,
    problem,
    self_link,
    validation_failed,
)
from crm_bridge.sandbox.core import SandboxResponse

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


def normalize_values(
    state: AmoState, entity: str, raw: Any, errors: list[dict[str, str]]
) -> dict[int, list[dict[str, Any]] | None]:
    """Validate ``custom_fields_values``; returns field_id -> stored values (None clears the field)."""
    out: dict[int, list[dict[str, Any]] | None] = {}
    if raw is None:
        return out
    if not isinstance(raw, list):
        errors.append(
            field_error("InvalidType", "custom_fields_values", "This value should be of type array.")
        )
        return out
    by_code = {f["code"]: f for f in state.fields[entity].values() if f.get("code")}
    for i, entry in enumerate(raw):
        path = f"custom_fields_values.{i}.field_id"
        model = None
        if isinstance(entry, dict):
            model = state.fields[entity].get(as_int(entry.get("field_id")) or -1) or by_code.get(
                entry.get("field_code")
            )
        if model is None:
            errors.append(field_error("NotSupportedChoice", path, _CHOICE))
            continue
        values = entry.get("values")
        if values is None or values == []:
            out[model["id"]] = None
            continue
        if not isinstance(values, list):
            errors.append(field_error("InvalidType", f"custom_fields_values.{i}.values", "Expected array"))
            continue
        stored = _values_for(model, values, f"custom_fields_values.{i}", path, errors)
        if stored is not None:
            out[model["id"]] = stored
    return out


def _values_for(
    model: dict[str, Any], values: list[Any], prefix: str, choice_path: str, errors: list[dict[str, str]]
) -> list[dict[str, Any]] | None:
    kind = model["type"]
    enums = model.get("enums") or []
    stored: list[dict[str, Any]] = []
    if kind in ("select", "radiobutton") and len(values) > 1:
        errors.append(field_error("NotSupportedChoice", choice_path, "Only one value is allowed."))
        return None
    for j, value in enumerate(values):
        vpath = f"{prefix}.values.{j}.value"
        if not isinstance(value, dict):
            errors.append(field_error("InvalidType", vpath, "This value should be of type object."))
            return None
        if kind in ("select", "multiselect", "radiobutton"):
            enum = _find_enum(enums, value)
            if enum is None:
                errors.append(field_error("NotSupportedChoice", choice_path, _CHOICE))
                return None
            stored.append({"value": enum["value"], "enum_id": enum["id"], "enum_code": enum.get("code")})
        elif kind == "multitext":
            code = value.get("enum_code") or "WORK"
            enum = _find_enum(enums, {"enum_id": value["enum_id"]}) if "enum_id" in value else None
            enum = enum or next((e for e in enums if e["value"] == code), None)
            if enum is None or not isinstance(value.get("value"), str | int):
                errors.append(field_error("NotSupportedChoice", choice_path, _CHOICE))
                return None
            stored.append({"value": str(value["value"]), "enum_id": enum["id"], "enum_code": enum["value"]})
        elif kind == "checkbox":
            if not isinstance(value.get("value"), bool):
                errors.append(field_error("InvalidType", vpath, "This value should be of type bool."))
                return None
            stored.append({"value": value["value"]})
        elif kind in ("numeric", "price", "monetary"):
            number = value.get("value")
            if isinstance(number, bool) or not _is_number(number):
                errors.append(field_error("InvalidType", vpath, "This value should be of type numeric."))
                return None
            stored.append({"value": str(number)})
        elif kind in ("date", "date_time", "birthday"):
            if as_int(value.get("value")) is None and not isinstance(value.get("value"), str):
                errors.append(field_error("InvalidType", vpath, "This value should be a timestamp."))
                return None
            stored.append({"value": value["value"]})
        else:
            if value.get("value") is None or isinstance(value.get("value"), dict | list):
                errors.append(field_error("InvalidType", vpath, "This value should be of type string."))
                return None
            stored.append(
                {"value": value["value"] if isinstance(value["value"], str) else str(value["value"])}
            )
    return stored


def _find_enum(enums: list[dict[str, Any]], value: dict[str, Any]) -> dict[str, Any] | None:
    if "enum_id" in value:
        return next((e for e in enums if e["id"] == as_int(value["enum_id"])), None)
    if "enum_code" in value:
        return next((e for e in enums if e.get("code") == value["enum_code"]), None)
    return next((e for e in enums if e["value"] == str(value.get("value"))), None)


def _is_number(value: Any) -> bool:
    if isinstance(value, int | float):
        return True
    try:
        float(str(value))
    except ValueError:
        return False
    return True


def apply_values(
    state: AmoState, entity: str, record: dict[str, Any], changes: dict[int, list[dict[str, Any]] | None]
) -> None:
    """Merge validated values into a record: given fields replace theirs, None clears, others stay."""
    current = {v["field_id"]: v for v in record.get("custom_fields_values") or []}
    for fid, values in changes.items():
        if values is None:
            current.pop(fid, None)
            continue
        model = state.fields[entity][fid]
        current[fid] = {
            "field_id": fid,
            "field_name": model["name"],
            "field_code": model.get("code"),
            "field_type": model["type"],
            "values": values,
        }
    record["custom_fields_values"] = list(current.values()) or None
