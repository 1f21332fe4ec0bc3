"""Validation of HubSpot property values on create/update: every value is a string, must name an
existing, writable property, fit its type (number, date/datetime, bool, enumeration option *value*),
point at an existing owner, keep unique properties unique and, for deals, keep ``dealstage`` inside
``pipeline``. Errors use HubSpot's "Property values were not valid" list."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from crm_bridge_hubspot.sandbox.store import HsState
from crm_bridge_hubspot.sandbox.wire import fail, invalid_properties, property_problem

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$")


def to_millis(value: str) -> int | None:
    """ms-epoch or ISO date/datetime -> ms epoch (how HubSpot compares dates in search)."""
    if re.fullmatch(r"-?\d+", value or ""):
        return int(value)
    if value and _ISO.match(value):
        text = value.replace("Z", "+00:00").replace(" ", "T")
        parsed = datetime.fromisoformat(text if "T" in text else f"{text}T00:00:00+00:00")
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=datetime.now().astimezone().tzinfo)
        return int(parsed.timestamp() * 1000)
    return None


def unique_properties(state: HsState, object_type: str) -> set[str]:
    names = {n for n, p in state.properties[object_type].items() if p.get("hasUniqueValue")}
    return names | ({"email"} if object_type == "contacts" else set())


def unique_key(prop: str, value: str) -> str:
    return value.lower() if prop == "email" else value


def find_by_unique(state: HsState, object_type: str, prop: str, value: str) -> dict[str, Any] | None:
    """The live record holding ``value`` in unique property ``prop`` (an index kept by every write, so
    large accounts stay fast; an entry whose record changed since is checked and ignored)."""
    wanted = unique_key(prop, value)
    index = state.unique_index.get((object_type, prop))
    if index is None:
        index = {}
        for row in state.objects[object_type].values():
            value_held = row["properties"].get(prop)
            if not row["archived"] and value_held not in (None, ""):
                index.setdefault(unique_key(prop, value_held), row["id"])
        state.unique_index[(object_type, prop)] = index
    record = state.objects[object_type].get(index.get(wanted, ""))
    if record is None or record["archived"]:
        return None
    stored = record["properties"].get(prop)
    return record if stored not in (None, "") and unique_key(prop, stored) == wanted else None


def clean_properties(
    state: HsState, object_type: str, raw: Any, *, creating: bool, record: dict[str, Any] | None = None
) -> dict[str, str]:
    """Validated, stringified values; raises HsError (400 VALIDATION_ERROR / 409 CONFLICT)."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise fail(400, "VALIDATION_ERROR", "Invalid input JSON: properties must be an object")
    schema = state.properties[object_type]
    problems: list[dict[str, Any]] = []
    values: dict[str, str] = {}
    for name, value in raw.items():
        model = schema.get(name)
        if model is None or model.get("archived"):
            problems.append(
                property_problem(name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist')
            )
            continue
        if model["modificationMetadata"]["readOnlyValue"]:
            message = f'"{name}" is a read only property; its value cannot be set.'
            problems.append(property_problem(name, "READ_ONLY_VALUE", message))
            continue
        text = "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
        problem = _check_value(state, model, text)
        if problem:
            problems.append(problem)
        values[name] = text
    if object_type == "deals":
        _check_stage(state, values, record, problems, creating=creating)
    if object_type == "tasks" and creating and not values.get("hs_timestamp"):
        problems.append(property_problem("hs_timestamp", "REQUIRED_PROPERTY", "hs_timestamp is required"))
    if problems:
        raise invalid_properties(problems)
    for prop in unique_properties(state, object_type) & values.keys():
        if values[prop] == "":
            continue
        other = find_by_unique(state, object_type, prop, values[prop])
        if other is not None and (record is None or other["id"] != record["id"]):
            noun = "Contact" if object_type == "contacts" else object_type[:-1].capitalize()
            raise fail(409, "CONFLICT", f"{noun} already exists. Existing ID: {other['id']}")
    return values


def _check_value(state: HsState, model: dict[str, Any], text: str) -> dict[str, Any] | None:
    if text == "":
        return None
    name, kind = model["name"], model["type"]
    if name == "hubspot_owner_id" or model.get("referencedObjectType") == "OWNER":
        if text not in state.owners:
            return property_problem(name, "INVALID_OWNER_ID", f"{text} is not a valid owner id")
        return None
    if kind == "number":
        try:
            float(text)
        except ValueError:
            return property_problem(name, "INVALID_DECIMAL", f"{text} was not a valid number.")
    elif kind in ("date", "datetime"):
        if to_millis(text) is None:
            return property_problem(name, "INVALID_DATE", f"{text} was not a valid long or ISO 8601 date.")
    elif kind == "bool":
        if text not in ("true", "false"):
            return property_problem(name, "INVALID_BOOLEAN", f"{text} was not a valid boolean.")
    elif kind == "enumeration" and model["options"] and name not in ("pipeline", "dealstage"):
        allowed = [o["value"] for o in model["options"]]
        chosen = text.split(";") if model["fieldType"] == "checkbox" else [text]
        bad = [c for c in chosen if c not in allowed]
        if bad:
            message = f"{bad[0]} was not one of the allowed options: {allowed}"
            return property_problem(name, "INVALID_OPTION", message)
    return None


def _check_stage(
    state: HsState,
    values: dict[str, str],
    record: dict[str, Any] | None,
    problems: list[dict[str, Any]],
    *,
    creating: bool,
) -> None:
    """A deal's ``pipeline`` and ``dealstage`` must agree; a new deal without them lands in the first
    stage of the default pipeline."""
    current = record["properties"] if record else {}
    pipeline_id = values.get("pipeline") or current.get("pipeline") or "default"
    pipeline = state.pipelines["deals"].get(pipeline_id)
    if pipeline is None or pipeline["archived"]:
        allowed = [p["id"] for p in state.pipelines["deals"].values() if not p["archived"]]
        message = f"{pipeline_id} was not one of the allowed options: {allowed}"
        problems.append(property_problem("pipeline", "INVALID_OPTION", message))
        return
    stages = [s for s in pipeline["stages"] if not s["archived"]]
    stage: str | None = values.get("dealstage") or (
        current.get("dealstage") if "pipeline" not in values else None
    )
    if stage is None and (creating or "pipeline" in values):
        stage = min(stages, key=lambda s: s["displayOrder"])["id"]
    if stage not in [s["id"] for s in stages]:
        message = f"{stage} was not one of the allowed options: {[s['id'] for s in stages]}"
        problems.append(property_problem("dealstage", "INVALID_OPTION", message))
        return
    values["pipeline"], values["dealstage"] = pipeline_id, str(stage)
