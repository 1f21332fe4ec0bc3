"""amoCRM leads, contacts and companies: list (page/limit/filter/order/with), get, bulk add and update.

Adds and updates take JSON arrays; one invalid item rejects the whole request with 400
``validation-errors`` naming the item's ``request_id`` (or its index). Empty lists answer 204.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

from crm_bridge.sandbox.core import SandboxResponse
from crm_bridge_amocrm.sandbox import events
from crm_bridge_amocrm.sandbox.listing import candidates, filter_of, page_of, record_filter
from crm_bridge_amocrm.sandbox.render import render, with_params
from crm_bridge_amocrm.sandbox.store import (
    LOST_STATUS_ID,
    MAX_BATCH,
    WON_STATUS_ID,
    AmoState,
    Call,
    first_working_status,
)
from crm_bridge_amocrm.sandbox.values import apply_values, normalize_values
from crm_bridge_amocrm.sandbox.wire import AmoError, as_int, field_error, no_content, problem, self_link
from crm_bridge_amocrm.sandbox.wire import validation_failed as _failed

_CHOICE = "The value you selected is not a valid choice."
_CLOSED = (WON_STATUS_ID, LOST_STATUS_ID)
_DEFAULT_NAME = {"leads": "Сделка #{id}", "contacts": "Контакт #{id}", "companies": "Компания #{id}"}


def list_records(call: Call, entity: str) -> SandboxResponse:
    with_ = with_params(call)
    deleted = "only_deleted" in with_
    test = record_filter(call.state, entity, call.query)
    found = (r for r in candidates(call.state, entity, call.query) if r["is_deleted"] == deleted and test(r))
    if filter_of(call.query).get("updated_at") and call.query.get("order") == {"updated_at": "asc"}:
        # the index is in (updated_at, id) order already: stop once the page and one more are found
        page = max(as_int(call.query.get("page")) or 1, 1)
        limit = min(max(as_int(call.query.get("limit")) or 50, 1), MAX_BATCH)
        records = list(itertools.islice(found, page * limit + 1))
    else:
        records = list(found)
    return page_of(call, f"/api/v4/{entity}", entity, records, lambda r: render(call, entity, r, with_))


def get_record(call: Call, entity: str, rid: int) -> SandboxResponse:
    record = call.state.records[entity].get(rid)
    if record is None or record["is_deleted"]:
        return no_content()
    return SandboxResponse(body=render(call, entity, record, with_params(call)), records=1)


def add_records(call: Call, entity: str) -> SandboxResponse:
    items = _array(call.body)
    prepared = _validate_all(call, entity, items, creating=True)
    answers = []
    for index, (item, changes) in enumerate(prepared):
        rid = call.state.next_id(entity)
        record = _blank(call, entity, rid, item)
        _apply(call, entity, record, item, changes, creating=True)
        call.state.records[entity][rid] = record
        call.emit(entity, "add", record)
        record_added(call, entity, record)
        answers.append(
            {
                "id": rid,
                "request_id": str(item.get("request_id", index)),
                "_links": self_link(f"{call.base}/api/v4/{entity}/{rid}"),
            }
        )
    body = {"_links": self_link(f"{call.base}/api/v4/{entity}"), "_embedded": {entity: answers}}
    return SandboxResponse(body=body, records=len(answers))


def update_records(call: Call, entity: str, rid: int | None = None) -> SandboxResponse:
    if rid is not None:
        if not isinstance(call.body, dict):
            raise _failed(
                [{"request_id": "0", "errors": [field_error("InvalidType", "", "Expected object")]}]
            )
        items = [dict(call.body, id=rid)]
    else:
        items = _array(call.body)
    prepared = _validate_all(call, entity, items, creating=False)
    answers = []
    for index, (item, changes) in enumerate(prepared):
        record = call.state.records[entity][int(item["id"])]
        before = copy.deepcopy(record)
        _apply(call, entity, record, item, changes, creating=False)
        record["updated_at"] = as_int(item.get("updated_at")) or call.now
        record["updated_by"] = as_int(item.get("updated_by")) if "updated_by" in item else call.user_id
        _emit_update(call, entity, before, record)
        answer = {"id": record["id"], "updated_at": record["updated_at"]}
        if rid is None:
            answer["request_id"] = str(item.get("request_id", index))
        answer["_links"] = self_link(f"{call.base}/api/v4/{entity}/{record['id']}")
        answers.append(answer)
    if rid is not None:
        return SandboxResponse(body=answers[0], records=1)
    body = {"_links": self_link(f"{call.base}/api/v4/{entity}"), "_embedded": {entity: answers}}
    return SandboxResponse(body=body, records=len(answers))


def record_added(call: Call, entity: str, record: dict[str, Any]) -> None:
    """The ``<entity>_added`` event (with the lead's first status) for the events API."""
    after = events.status_value(record["pipeline_id"], record["status_id"]) if entity == "leads" else None
    kind = f"{events.ENTITY_NAMES[entity]}_added"
    events.record(call, kind, entity, record["id"], after, at=record["created_at"])


def _emit_update(call: Call, entity: str, before: dict[str, Any], after: dict[str, Any]) -> None:
    snapshot = {
        **after,
        "_old_status_id": before.get("status_id"),
        "_old_pipeline_id": before.get("pipeline_id"),
    }
    call.emit(entity, "update", snapshot)
    if entity == "leads" and (before["status_id"], before["pipeline_id"]) != (
        after["status_id"],
        after["pipeline_id"],
    ):
        call.emit(entity, "status", snapshot)
        events.record(
            call,
            "lead_status_changed",
            entity,
            after["id"],
            events.status_value(after["pipeline_id"], after["status_id"]),
            events.status_value(before["pipeline_id"], before["status_id"]),
            at=after["updated_at"],
        )
    if before["responsible_user_id"] != after["responsible_user_id"]:
        call.emit(
            entity, "responsible", {**snapshot, "_old_responsible_user_id": before["responsible_user_id"]}
        )


def _array(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, list) or not all(isinstance(x, dict) for x in body):
        raise _failed(
            [{"request_id": "0", "errors": [field_error("InvalidType", "", "Expected array of objects")]}]
        )
    if not body:
        raise AmoError(problem(400, "Request body is empty"))
    if len(body) > MAX_BATCH:
        raise AmoError(problem(400, f"Too many entities in one request: {len(body)} > {MAX_BATCH}"))
    return body


def _validate_all(
    call: Call, entity: str, items: list[dict[str, Any]], *, creating: bool
) -> list[tuple[dict[str, Any], dict[int, Any]]]:
    errors: list[dict[str, Any]] = []
    prepared = []
    for index, item in enumerate(items):
        problems: list[dict[str, str]] = []
        if not creating and (as_int(item.get("id")) or -1) not in call.state.records[entity]:
            problems.append(field_error("NotSupportedChoice", "id", _CHOICE))
        else:
            _check_item(call, entity, item, problems, creating=creating)
        changes = normalize_values(call.state, entity, item.get("custom_fields_values"), problems)
        if index >= len(items) - call.state.pending_item_failures:
            problems.append(
                field_error("InjectedFailure", "", "Refused by sandbox fault injection (batch_fail).")
            )
        if problems:
            errors.append({"request_id": str(item.get("request_id", index)), "errors": problems})
        prepared.append((item, changes))
    call.state.pending_item_failures = 0
    if errors:
        raise _failed(errors)
    return prepared


def _check_item(
    call: Call, entity: str, item: dict[str, Any], problems: list[dict[str, str]], *, creating: bool
) -> None:
    state = call.state
    if "name" in item and not isinstance(item["name"], str):
        problems.append(field_error("InvalidType", "name", "This value should be of type string."))
    for key in ("responsible_user_id", "created_by", "updated_by"):
        if key in item and item[key] not in (0, None) and as_int(item[key]) not in state.users:
            problems.append(field_error("NotSupportedChoice", key, _CHOICE))
    for key in ("created_at", "updated_at", "closed_at"):
        if key in item and item[key] is not None and as_int(item[key]) is None:
            problems.append(field_error("InvalidType", key, "This value should be of type int."))
    embedded = item.get("_embedded") or {}
    if not isinstance(embedded, dict):
        problems.append(field_error("InvalidType", "_embedded", "This value should be of type object."))
        return
    if entity == "leads":
        if "price" in item and (isinstance(item["price"], bool) or as_int(item["price"]) is None):
            problems.append(field_error("InvalidType", "price", "This value should be of type int."))
        current = None if creating else state.records["leads"][int(item["id"])]
        if _resolve_stage(state, item, current) is None:
            path = "status_id" if "status_id" in item else "pipeline_id"
            problems.append(field_error("NotSupportedChoice", path, _CHOICE))
        companies = embedded.get("companies") or []
        if len(companies) > 1:
            problems.append(field_error("Count", "_embedded.companies", "A lead may have one company."))
        _check_refs(state, "companies", companies, "_embedded.companies", problems)
        _check_refs(state, "contacts", embedded.get("contacts") or [], "_embedded.contacts", problems)
    elif entity == "contacts":
        _check_refs(
            state, "companies", (embedded.get("companies") or [])[:1], "_embedded.companies", problems
        )


def _check_refs(state: AmoState, entity: str, refs: Any, path: str, problems: list[dict[str, str]]) -> None:
    for i, ref in enumerate(refs if isinstance(refs, list) else [refs]):
        if not isinstance(ref, dict) or (as_int(ref.get("id")) or -1) not in state.records[entity]:
            problems.append(field_error("NotSupportedChoice", f"{path}.{i}.id", _CHOICE))


def _resolve_stage(
    state: AmoState, item: dict[str, Any], current: dict[str, Any] | None
) -> tuple[int, int] | None:
    """(pipeline_id, status_id) for a lead; None when they do not exist or do not match.
    142/143 exist in every pipeline, so with them the pipeline comes from pipeline_id or the lead."""
    pipeline_id = as_int(item.get("pipeline_id")) if item.get("pipeline_id") is not None else None
    status_id = as_int(item.get("status_id")) if item.get("status_id") is not None else None
    if "pipeline_id" in item and item["pipeline_id"] is not None and pipeline_id not in state.pipelines:
        return None
    if status_id is None:
        if pipeline_id is None:
            if current is not None:
                return current["pipeline_id"], current["status_id"]
            pipeline = state.main_pipeline()
        else:
            pipeline = state.pipelines[pipeline_id]
        return pipeline["id"], first_working_status(pipeline)
    if pipeline_id is not None:
        return (pipeline_id, status_id) if status_id in state.pipelines[pipeline_id]["statuses"] else None
    if status_id in _CLOSED:
        home = state.pipelines[current["pipeline_id"]] if current else state.main_pipeline()
        return home["id"], status_id
    for pipeline in state.pipelines.values():
        if status_id in pipeline["statuses"]:
            return pipeline["id"], status_id
    return None


def _blank(call: Call, entity: str, rid: int, item: dict[str, Any]) -> dict[str, Any]:
    created_at = as_int(item.get("created_at")) or call.now
    record: dict[str, Any] = {"id": rid, "name": _DEFAULT_NAME[entity].format(id=rid)}
    if entity == "contacts":
        record.update({"first_name": "", "last_name": ""})
    record.update(
        {
            "responsible_user_id": call.user_id,
            "group_id": 0,
            "created_by": as_int(item.get("created_by")) if "created_by" in item else call.user_id,
            "updated_by": as_int(item.get("updated_by")) if "updated_by" in item else call.user_id,
            "created_at": created_at,
            "updated_at": as_int(item.get("updated_at")) or created_at,
            "closest_task_at": None,
            "is_deleted": False,
            "custom_fields_values": None,
            "account_id": call.state.account_id,
            "_tags": [],
        }
    )
    if entity == "leads":
        record.update(
            {"price": 0, "status_id": 0, "pipeline_id": 0, "loss_reason_id": None, "closed_at": None}
        )
        record.update({"score": None, "labor_cost": None, "_company_id": None, "_contact_ids": []})
    elif entity == "contacts":
        record.update({"is_unsorted": False, "_company_id": None})
    return record


def _apply(
    call: Call,
    entity: str,
    record: dict[str, Any],
    item: dict[str, Any],
    changes: dict[int, Any],
    *,
    creating: bool,
) -> None:
    state = call.state
    if isinstance(item.get("name"), str):
        record["name"] = item["name"]
    if "responsible_user_id" in item:
        record["responsible_user_id"] = as_int(item["responsible_user_id"]) or call.user_id
    apply_values(state, entity, record, changes)
    embedded = item.get("_embedded") or {}
    if "tags" in embedded:
        record["_tags"] = [_tag(state, entity, t) for t in embedded["tags"] or [] if isinstance(t, dict)]
    if entity == "contacts":
        for key in ("first_name", "last_name"):
            if isinstance(item.get(key), str):
                record[key] = item[key]
        if "name" not in item and ("first_name" in item or "last_name" in item):
            record["name"] = f"{record['first_name']} {record['last_name']}".strip() or record["name"]
        if embedded.get("companies"):
            record["_company_id"] = int(embedded["companies"][0]["id"])
    if entity != "leads":
        return
    if "price" in item:
        record["price"] = as_int(item["price"])
    stage = _resolve_stage(state, item, None if creating else record)
    if stage is None:  # validated
        raise AssertionError("invariant broken: stage is not None")
    was_closed = record["status_id"] in _CLOSED
    record["pipeline_id"], record["status_id"] = stage
    if "closed_at" in item:
        record["closed_at"] = as_int(item["closed_at"])
    elif record["status_id"] in _CLOSED and not was_closed:
        record["closed_at"] = call.now
    elif record["status_id"] not in _CLOSED:
        record["closed_at"] = None
    if "loss_reason_id" in item:
        record["loss_reason_id"] = as_int(item["loss_reason_id"])
    if "companies" in embedded:
        companies = embedded["companies"] or []
        record["_company_id"] = int(companies[0]["id"]) if companies else None
    if "contacts" in embedded:
        ids = [int(c["id"]) for c in embedded["contacts"] or []]
        record["_contact_ids"] = list(dict.fromkeys(record["_contact_ids"] + ids)) if not creating else ids


def _tag(state: AmoState, entity: str, tag: dict[str, Any]) -> dict[str, Any]:
    if tag.get("name"):
        return state.tag(entity, str(tag["name"]))
    for name, tid in state.tags.get(entity, {}).items():
        if tid == as_int(tag.get("id")):
            return {"id": tid, "name": name}
    return {"id": as_int(tag.get("id")), "name": ""}
