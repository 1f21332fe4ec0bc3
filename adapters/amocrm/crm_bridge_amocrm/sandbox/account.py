"""amoCRM account, users and tasks: ``/api/v4/account``, ``/api/v4/users``, ``/api/v4/tasks``.

Tasks need ``text`` and ``complete_till`` (Unix seconds); ``entity_type``/``entity_id`` bind one to a
lead, contact or company and keep that record's ``closest_task_at`` up to date.
"""

from __future__ import annotations

import copy
from typing import Any

from crm_bridge.sandbox.core import SandboxResponse
from crm_bridge_amocrm.sandbox.listing import filter_of, matches_common, page_of
from crm_bridge_amocrm.sandbox.store import MAX_BATCH, TASK_ENTITY_TYPES, TASK_TYPES, Call
from crm_bridge_amocrm.sandbox.wire import AmoError, as_int, field_error, no_content, problem, self_link
from crm_bridge_amocrm.sandbox.wire import validation_failed as _failed

_CHOICE = "The value you selected is not a valid choice."


def _with(call: Call) -> set[str]:
    return {p.strip() for p in str(call.query.get("with", "")).split(",") if p.strip()}


def get_account(call: Call) -> SandboxResponse:
    state = call.state
    body: dict[str, Any] = {
        "id": state.account_id,
        "name": state.account_name,
        "subdomain": state.subdomain,
        "created_at": state.created_at,
        "created_by": state.admin_user_id,
        "updated_at": state.created_at,
        "updated_by": state.admin_user_id,
        "current_user_id": call.user_id,
        "country": "RU",
        "customers_mode": "disabled",
        "is_unsorted_on": True,
        "is_loss_reason_enabled": True,
        "is_helpbot_enabled": False,
        "is_technical_account": False,
        "contact_name_display_order": 1,
        "_links": self_link(f"{call.base}/api/v4/account"),
    }
    with_ = _with(call)
    embedded: dict[str, Any] = {}
    if "amojo_id" in with_:
        body["amojo_id"] = f"sandbox-{state.account_id}"
    if "version" in with_:
        body["version"] = 1
    if "task_types" in with_:
        embedded["task_types"] = copy.deepcopy(TASK_TYPES)
    if "users_groups" in with_:
        embedded["users_groups"] = [{"id": 0, "name": "Отдел продаж", "uuid": None}]
    if embedded:
        body["_embedded"] = embedded
    return SandboxResponse(body=body, records=1)


def _render_user(call: Call, user: dict[str, Any]) -> dict[str, Any]:
    return {**copy.deepcopy(user), "_links": self_link(f"{call.base}/api/v4/users/{user['id']}")}


def list_users(call: Call) -> SandboxResponse:
    users = list(call.state.users.values())
    return page_of(call, "/api/v4/users", "users", users, lambda u: _render_user(call, u), totals=True)


def get_user(call: Call, uid: int) -> SandboxResponse:
    user = call.state.users.get(uid)
    if user is None:
        return no_content()
    return SandboxResponse(body=_render_user(call, user), records=1)


def _render_task(call: Call, task: dict[str, Any]) -> dict[str, Any]:
    return {**copy.deepcopy(task), "_links": self_link(f"{call.base}/api/v4/tasks/{task['id']}")}


def list_tasks(call: Call) -> SandboxResponse:
    flt = filter_of(call.query)
    tasks = []
    for task in call.state.records["tasks"].values():
        row = {**task, "task_type": task["task_type_id"]}
        if not matches_common(row, flt):
            continue
        if "is_completed" in flt and bool(as_int(flt["is_completed"])) != task["is_completed"]:
            continue
        if "entity_type" in flt and task["entity_type"] != flt["entity_type"]:
            continue
        tasks.append(task)
    return page_of(call, "/api/v4/tasks", "tasks", tasks, lambda t: _render_task(call, t))


def get_task(call: Call, tid: int) -> SandboxResponse:
    task = call.state.records["tasks"].get(tid)
    return no_content() if task is None else SandboxResponse(body=_render_task(call, task), records=1)


def _check_task(call: Call, item: dict[str, Any], *, creating: bool) -> list[dict[str, str]]:
    state = call.state
    problems = []
    if creating or "text" in item:
        if not isinstance(item.get("text"), str) or not item["text"].strip():
            problems.append(field_error("NotBlank", "text", "This value should not be blank."))
    if creating or "complete_till" in item:
        if isinstance(item.get("complete_till"), bool) or as_int(item.get("complete_till")) is None:
            problems.append(field_error("InvalidType", "complete_till", "This value should be of type int."))
    if "task_type_id" in item and as_int(item["task_type_id"]) not in {t["id"] for t in TASK_TYPES}:
        problems.append(field_error("NotSupportedChoice", "task_type_id", _CHOICE))
    if "responsible_user_id" in item and as_int(item["responsible_user_id"]) not in state.users:
        problems.append(field_error("NotSupportedChoice", "responsible_user_id", _CHOICE))
    if "entity_type" in item or "entity_id" in item:
        kind = item.get("entity_type")
        if kind not in TASK_ENTITY_TYPES:
            problems.append(field_error("NotSupportedChoice", "entity_type", _CHOICE))
        elif kind in state.records and (as_int(item.get("entity_id")) or -1) not in state.records[kind]:
            problems.append(field_error("NotSupportedChoice", "entity_id", _CHOICE))
    return problems


def add_tasks(call: Call) -> SandboxResponse:
    items = _array(call.body)
    errors = [
        {"request_id": str(item.get("request_id", i)), "errors": p}
        for i, item in enumerate(items)
        if (p := _check_task(call, item, creating=True))
    ]
    if errors:
        raise _failed(errors)
    answers = []
    for index, item in enumerate(items):
        tid = call.state.next_id("tasks")
        created_at = as_int(item.get("created_at")) or call.now
        task = {
            "id": tid,
            "created_by": as_int(item.get("created_by")) if "created_by" in item else call.user_id,
            "updated_by": call.user_id,
            "created_at": created_at,
            "updated_at": as_int(item.get("updated_at")) or created_at,
            "responsible_user_id": as_int(item.get("responsible_user_id")) or call.user_id,
            "group_id": 0,
            "entity_id": as_int(item.get("entity_id")),
            "entity_type": item.get("entity_type"),
            "duration": as_int(item.get("duration")) or 0,
            "is_completed": bool(item.get("is_completed", False)),
            "task_type_id": as_int(item.get("task_type_id")) or 1,
            "text": item["text"],
            "result": [],
            "complete_till": as_int(item["complete_till"]),
            "account_id": call.state.account_id,
        }
        call.state.records["tasks"][tid] = task
        _refresh_closest(call, task)
        call.emit("tasks", "add", task)
        href = f"{call.base}/api/v4/tasks/{tid}"
        answers.append(
            {"id": tid, "request_id": str(item.get("request_id", index)), "_links": self_link(href)}
        )
    body = {"_links": self_link(f"{call.base}/api/v4/tasks"), "_embedded": {"tasks": answers}}
    return SandboxResponse(body=body, records=len(answers))


def update_tasks(call: Call, tid: int | None = None) -> SandboxResponse:
    items = (
        [dict(call.body, id=tid)] if tid is not None and isinstance(call.body, dict) else _array(call.body)
    )
    errors = []
    for index, item in enumerate(items):
        if (as_int(item.get("id")) or -1) not in call.state.records["tasks"]:
            problems = [field_error("NotSupportedChoice", "id", _CHOICE)]
        else:
            problems = _check_task(call, item, creating=False)
        if problems:
            errors.append({"request_id": str(item.get("request_id", index)), "errors": problems})
    if errors:
        raise _failed(errors)
    answers = []
    for index, item in enumerate(items):
        task = call.state.records["tasks"][int(item["id"])]
        for key in ("text", "entity_type"):
            if key in item:
                task[key] = item[key]
        for key in ("complete_till", "responsible_user_id", "task_type_id", "entity_id", "duration"):
            if key in item:
                task[key] = as_int(item[key])
        if "is_completed" in item:
            task["is_completed"] = bool(item["is_completed"])
        if isinstance(item.get("result"), dict):
            task["result"] = {"text": str(item["result"].get("text", ""))}
        task["updated_at"] = call.now
        task["updated_by"] = call.user_id
        _refresh_closest(call, task)
        call.emit("tasks", "update", task)
        answer: dict[str, Any] = {"id": task["id"], "updated_at": task["updated_at"]}
        if tid is None:
            answer["request_id"] = str(item.get("request_id", index))
        answer["_links"] = self_link(f"{call.base}/api/v4/tasks/{task['id']}")
        answers.append(answer)
    if tid is not None:
        return SandboxResponse(body=answers[0], records=1)
    return SandboxResponse(
        body={"_links": self_link(f"{call.base}/api/v4/tasks"), "_embedded": {"tasks": answers}}
    )


def _refresh_closest(call: Call, task: dict[str, Any]) -> None:
    kind, eid = task.get("entity_type"), task.get("entity_id")
    record = call.state.records.get(kind or "", {}).get(eid or -1)
    if record is None or "closest_task_at" not in record:
        return
    open_tasks = [
        t["complete_till"]
        for t in call.state.records["tasks"].values()
        if t["entity_type"] == kind and t["entity_id"] == eid and not t["is_completed"]
    ]
    record["closest_task_at"] = min(open_tasks) if open_tasks else None


def _array(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, list) or not all(isinstance(x, dict) for x in body):
        raise _failed(
            [{"request_id": "0", "errors": [field_error("InvalidType", "", "Expected array of objects")]}]
        )
    if not body or len(body) > MAX_BATCH:
        raise AmoError(problem(400, f"Request must contain from 1 to {MAX_BATCH} items"))
    return body
