"""amoCRM ``custom_fields_values`` on records: validation of ``[{field_id|field_code, values:[{value,
enum_id|enum_code}]}]`` against the field's type and enums, and merging into a stored record."""

from __future__ import annotations

from typing import Any

from crm_bridge_amocrm.sandbox.store import AmoState
from crm_bridge_amocrm.sandbox.wire import as_int, field_error

_CHOICE = "The value you selected is not a valid choice."


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
