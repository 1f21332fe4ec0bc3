"""HubSpot CRM v3 batch endpoints: ``/crm/v3/objects/{type}/batch/{create|read|update|upsert|archive}``.

At most 100 inputs. Invalid values reject the whole batch (400/409); ids that do not exist make a
207 multi-status answer listing them under ``errors`` while the rest succeed. Upsert matches on a
``hasUniqueValue`` property (or ``email`` for contacts) and refuses two inputs with the same id.
"""

from __future__ import annotations

from typing import Any

from crm_bridge_hubspot.sandbox.objects import (
    archive_record,
    create_record,
    find,
    object_type_of,
    render,
    update_record,
)
from crm_bridge_hubspot.sandbox.store import DEFAULT_READ, iso
from crm_bridge_hubspot.sandbox.values import clean_properties, unique_properties
from crm_bridge_hubspot.sandbox.wire import HsCall, bool_param, fail, no_content, ok, standard_error

MAX_INPUTS = 100


def _inputs(call: HsCall) -> list[dict[str, Any]]:
    body = call.json_body()
    inputs = body.get("inputs")
    if not isinstance(inputs, list) or not all(isinstance(i, dict) for i in inputs):
        raise fail(400, "VALIDATION_ERROR", "Invalid input JSON: inputs must be an array of objects")
    if len(inputs) > MAX_INPUTS:
        raise fail(
            400, "VALIDATION_ERROR", f"Batch input size {len(inputs)} exceeds the limit of {MAX_INPUTS}"
        )
    return inputs


def _answer(call: HsCall, results: list[dict[str, Any]], errors: list[dict[str, Any]], status: int) -> Any:
    body: dict[str, Any] = {"status": "COMPLETE", "results": results}
    if errors:
        body["numErrors"] = len(errors)
        body["errors"] = errors
        status = 207
    body["startedAt"] = body["completedAt"] = iso(call.now)
    return ok(body, status=status, records=len(results))


def _missing(object_type: str, ids: list[str]) -> list[dict[str, Any]]:
    if not ids:
        return []
    message = (
        f"Could not get some {object_type} objects, they may be deleted or not exist. "
        "Check that ids are valid."
    )
    return [standard_error(404, "OBJECT_NOT_FOUND", message, {"ids": ids})]


def _injected(call: HsCall, count: int) -> int:
    """How many trailing inputs the injected partial failure takes (sandbox fault injection)."""
    taken = min(call.state.pending_batch_failures, count)
    call.state.pending_batch_failures -= taken
    return taken


def _injected_errors(inputs: list[dict[str, Any]], failed: int) -> list[dict[str, Any]]:
    if not failed:
        return []
    ids = [str(i.get("id", i.get("objectWriteTraceId", n))) for n, i in enumerate(inputs[-failed:])]
    return [
        standard_error(500, "INTERNAL_ERROR", "Internal error while processing the batch input", {"ids": ids})
    ]


def _names(object_type: str, record: dict[str, Any], asked: dict[str, Any]) -> list[str]:
    return sorted(set(DEFAULT_READ[object_type]) | set(asked))


def batch_create(call: HsCall, type_name: str) -> Any:
    object_type = object_type_of(type_name)
    inputs = _inputs(call)
    seen: dict[tuple[str, str], int] = {}
    for item in inputs:
        values = clean_properties(call.state, object_type, item.get("properties"), creating=True)
        for prop in unique_properties(call.state, object_type) & values.keys():
            key = (prop, values[prop].lower() if prop == "email" else values[prop])
            if values[prop] and key in seen:
                raise fail(409, "CONFLICT", f"Duplicate {prop} in batch input: {values[prop]}")
            seen[key] = 1
    failed = _injected(call, len(inputs))
    results = []
    for item in inputs[: len(inputs) - failed]:
        record = create_record(call, object_type, item)
        rendered = render(
            call.state, object_type, record, _names(object_type, record, item.get("properties") or {})
        )
        if item.get("objectWriteTraceId"):
            rendered["objectWriteTraceId"] = item["objectWriteTraceId"]
        results.append(rendered)
    return _answer(call, results, _injected_errors(inputs, failed), 201)


def batch_read(call: HsCall, type_name: str) -> Any:
    object_type = object_type_of(type_name)
    inputs = _inputs(call)
    body = call.json_body()
    id_property = body.get("idProperty")
    archived = bool_param(call.query, "archived")
    results, missing = [], []
    for item in inputs:
        key = str(item.get("id", ""))
        record = find(call, object_type, key, id_property, archived)
        if record is None:
            missing.append(key)
            continue
        results.append(
            render(
                call.state,
                object_type,
                record,
                body.get("properties") or None,
                None,
                body.get("propertiesWithHistory") or None,
            )
        )
    return _answer(call, results, _missing(object_type, missing), 200)


def batch_update(call: HsCall, type_name: str) -> Any:
    object_type = object_type_of(type_name)
    inputs = _inputs(call)
    found: list[tuple[dict[str, Any], dict[str, Any]]] = []
    missing = []
    for item in inputs:
        record = find(call, object_type, str(item.get("id", "")), item.get("idProperty"))
        if record is None:
            missing.append(str(item.get("id", "")))
            continue
        clean_properties(call.state, object_type, item.get("properties"), creating=False, record=record)
        found.append((item, record))
    failed = _injected(call, len(found))
    results = []
    for item, record in found[: len(found) - failed]:
        update_record(call, object_type, record, item.get("properties"))
        results.append(
            render(call.state, object_type, record, _names(object_type, record, item.get("properties") or {}))
        )
    errors = _missing(object_type, missing) + _injected_errors([i for i, _ in found], failed)
    return _answer(call, results, errors, 200)


def batch_upsert(call: HsCall, type_name: str) -> Any:
    object_type = object_type_of(type_name)
    inputs = _inputs(call)
    keys = []
    for item in inputs:
        prop = item.get("idProperty")
        if not prop or prop not in unique_properties(call.state, object_type):
            message = f"Unable to perform upsert by non-unique {object_type} property: {prop}"
            raise fail(400, "VALIDATION_ERROR", message)
        keys.append((prop, str(item.get("id", ""))))
    duplicates = sorted({k[1] for k in keys if keys.count(k) > 1})
    if duplicates:
        raise fail(400, "VALIDATION_ERROR", f"Duplicate IDs found in batch input: {duplicates}")
    plan = []
    for item, (prop, key) in zip(inputs, keys, strict=True):
        record = find(call, object_type, key, prop)
        properties = {**(item.get("properties") or {}), prop: key}
        clean_properties(call.state, object_type, properties, creating=record is None, record=record)
        plan.append((record, properties))
    failed = _injected(call, len(plan))
    results = []
    for record, properties in plan[: len(plan) - failed]:
        is_new = record is None
        if record is None:
            record = create_record(call, object_type, {"properties": properties})
        else:
            update_record(call, object_type, record, properties)
        rendered = render(call.state, object_type, record, _names(object_type, record, properties))
        results.append({**rendered, "new": is_new})
    return _answer(call, results, _injected_errors(inputs, failed), 200)


def batch_archive(call: HsCall, type_name: str) -> Any:
    object_type = object_type_of(type_name)
    for item in _inputs(call):
        record = call.state.objects[object_type].get(str(item.get("id", "")))
        if record is not None:
            archive_record(call, object_type, record)
    return no_content()
