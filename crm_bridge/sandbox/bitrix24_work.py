"""Users (user.get, user.current), tasks (tasks.task.add/update/get/list), notifications
(im.notify.system.add, im.notify.personal.add) and the universal crm.item.list/get/update for CRM
records (camelCase names). References: b24restdocs api-reference/user/user-get.md,
tasks/tasks-task-add.md, tasks/fields.md, chats/notifications/*, crm/universal/crm-item-*.md.
"""

from __future__ import annotations

import re
from typing import Any

from crm_bridge.sandbox.bitrix24_crm import Ctx, render, update, value_of
from crm_bridge.sandbox.bitrix24_params import pick
from crm_bridge.sandbox.bitrix24_query import Answer, matches, page, sort_rows
from crm_bridge.sandbox.bitrix24_state import B24Error, deal_stage_entity, fmt_time, parse_time

TASK_STATUS_PENDING = "2"


def user_get(ctx: Ctx, params: dict[str, Any]) -> Answer:
    raw = pick(params, "filter") or {}
    filters = {k: v for k, v in raw.items() if str(k).upper() != "USER_TYPE" or v != "employee"}
    users = [u for u in ctx.state.users.values() if matches(u, filters, lambda r, n: r.get(n))]
    sort = str(pick(params, "sort", default="ID")).upper()
    order = str(pick(params, "order", default="ASC")).upper()
    sort_rows(users, {sort: order}, lambda r, n: r.get(n))
    return page(users, pick(params, "start", default=0), dict)


def user_current(ctx: Ctx, params: dict[str, Any]) -> Answer:
    return Answer(dict(ctx.state.users[ctx.user_id]))


_BINDING = re.compile(r"^(L|D|C|CO)_(\d+)$")
_TASK_FIELDS = {
    "TITLE": "title",
    "DESCRIPTION": "description",
    "RESPONSIBLE_ID": "responsibleId",
    "CREATED_BY": "createdBy",
    "DEADLINE": "deadline",
    "UF_CRM_TASK": "ufCrmTask",
    "STATUS": "status",
    "PRIORITY": "priority",
    "GROUP_ID": "groupId",
    "START_DATE_PLAN": "startDatePlan",
    "END_DATE_PLAN": "endDatePlan",
}


def _task_fields(ctx: Ctx, task: dict[str, Any], fields: dict[str, Any]) -> None:
    for raw, value in fields.items():
        name = str(raw).upper()
        if name not in _TASK_FIELDS:
            continue
        key = _TASK_FIELDS[name]
        if name == "RESPONSIBLE_ID" or name == "CREATED_BY":
            if int(value) not in ctx.state.users:
                raise B24Error(400, "ERROR_CORE", f"User {value} not found")
            task[key] = str(int(value))
        elif name == "DEADLINE":
            ts = parse_time(value)
            if ts is None and value not in ("", None):
                raise B24Error(400, "ERROR_CORE", "DEADLINE is not a valid date")
            task[key] = fmt_time(ts) if ts is not None else None
        elif name == "UF_CRM_TASK":
            bindings = value if isinstance(value, list) else [value]
            for binding in bindings:
                if not _BINDING.match(str(binding)):
                    raise B24Error(400, "ERROR_CORE", f"Wrong CRM binding {binding!r}")
            task[key] = [str(b) for b in bindings]
        else:
            task[key] = str(value)


def task_add(ctx: Ctx, params: dict[str, Any]) -> Answer:
    fields = pick(params, "fields") or {}
    upper = {str(k).upper(): v for k, v in fields.items()}
    if not str(upper.get("TITLE", "")).strip():
        raise B24Error(400, "ERROR_CORE", "Не указано название задачи (TITLE)")
    if not upper.get("RESPONSIBLE_ID"):
        raise B24Error(400, "ERROR_CORE", "Не указан ответственный (RESPONSIBLE_ID)")
    task_id = ctx.state.next_id("task")
    stamp = fmt_time(ctx.now)
    task: dict[str, Any] = {
        "id": str(task_id),
        "title": "",
        "description": "",
        "responsibleId": "",
        "createdBy": str(ctx.user_id),
        "createdDate": stamp,
        "changedDate": stamp,
        "deadline": None,
        "status": TASK_STATUS_PENDING,
        "priority": "1",
        "groupId": "0",
        "ufCrmTask": [],
    }
    _task_fields(ctx, task, fields)
    ctx.state.tasks[task_id] = task
    ctx.events.append(("ONTASKADD", task_id))
    return Answer({"task": _render_task(task, None)}, records=1)


def _render_task(task: dict[str, Any], select: list[str] | None) -> dict[str, Any]:
    wanted = [str(s).upper() for s in select] if select else None
    out = {k: v for k, v in task.items() if k != "ufCrmTask"}
    if wanted and ("UF_CRM_TASK" in wanted or "*" in wanted):
        out["ufCrmTask"] = task["ufCrmTask"]
    return out


def _task(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    try:
        task = ctx.state.tasks.get(int(pick(params, "taskId", "id", default=-1)))
    except (TypeError, ValueError):
        task = None
    if task is None:
        raise B24Error(400, "ERROR_CORE", "Задача не найдена или доступ запрещён")
    return task


def task_update(ctx: Ctx, params: dict[str, Any]) -> Answer:
    task = _task(ctx, params)
    _task_fields(ctx, task, pick(params, "fields") or {})
    task["changedDate"] = fmt_time(ctx.now)
    ctx.events.append(("ONTASKUPDATE", int(task["id"])))
    return Answer({"task": _render_task(task, None)}, records=1)


def task_get(ctx: Ctx, params: dict[str, Any]) -> Answer:
    return Answer({"task": _render_task(_task(ctx, params), pick(params, "select"))}, records=1)


def task_list(ctx: Ctx, params: dict[str, Any]) -> Answer:
    filters = pick(params, "filter") or {}

    def task_value(row: dict[str, Any], name: str) -> Any:
        key = _TASK_FIELDS.get(name, name.lower())
        return row.get("id") if name == "ID" else row.get(key)

    rows = [t for t in ctx.state.tasks.values() if matches(t, filters, task_value)]
    sort_rows(rows, pick(params, "order") or {"ID": "ASC"}, task_value)
    select = pick(params, "select")
    answer = page(rows, pick(params, "start", default=0), lambda t: _render_task(t, select))
    answer.result = {"tasks": answer.result}
    return answer


def notify(kind: str, ctx: Ctx, params: dict[str, Any]) -> Answer:
    user = pick(params, "USER_ID", "to")
    message = pick(params, "MESSAGE", "message")
    if not user or int(user) not in ctx.state.users:
        raise B24Error(400, "USER_ID_EMPTY", "Recipient user not specified or not found")
    if not str(message or "").strip():
        raise B24Error(400, "MESSAGE_EMPTY", "Message can't be empty")
    note_id = ctx.state.next_id("notify")
    ctx.state.notifications.append(
        {
            "id": note_id,
            "type": kind,
            "user_id": int(user),
            "message": str(message),
            "tag": pick(params, "TAG", default=None),
            "from": ctx.user_id,
            "date": fmt_time(ctx.now),
        }
    )
    return Answer(note_id, records=1)


# -- crm.item.* -----------------------------------------------------------------------------------------
_ITEM_TYPES = {1: "lead", 2: "deal", 3: "contact", 4: "company"}
_SPECIAL = {
    "DATE_CREATE": "createdTime",
    "DATE_MODIFY": "updatedTime",
    "CREATED_BY_ID": "createdBy",
    "MODIFY_BY_ID": "updatedBy",
    "CLOSEDATE": "closedate",
    "BEGINDATE": "begindate",
}
_SPECIAL_BACK = {v.upper(): k for k, v in _SPECIAL.items()}


def camel(name: str) -> str:
    if name in _SPECIAL:
        return _SPECIAL[name]
    if name.startswith("UF_CRM_"):
        rest = name[7:]
        return (
            "ufCrm_" + rest
            if rest[:1].isdigit()
            else "ufCrm" + "".join(p.capitalize() for p in rest.split("_"))
        )
    head, *tail = name.lower().split("_")
    return head + "".join(p.capitalize() for p in tail)


def uncamel(name: str, known: list[str]) -> str:
    for field in known:
        if camel(field) == name:
            return field
    return _SPECIAL_BACK.get(name.upper(), re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper())


def _item_entity(params: dict[str, Any]) -> str:
    try:
        return _ITEM_TYPES[int(pick(params, "entityTypeId", default=0))]
    except (KeyError, TypeError, ValueError):
        raise B24Error(400, "NOT_FOUND", "Smart process or entity type not found") from None


def _known(ctx: Ctx, entity: str) -> list[str]:
    from crm_bridge.sandbox.bitrix24_crm import STANDARD

    return [*STANDARD[entity], *[u.field_name for u in ctx.state.userfields.values() if u.entity == entity]]


def _item(entity: str, ctx: Ctx, row: dict[str, Any]) -> dict[str, Any]:
    return {
        camel(k): (int(v) if k in ("ID",) else v)
        for k, v in render(entity, ctx.state, row, ["*", "UF_*"]).items()
    }


def item_list(ctx: Ctx, params: dict[str, Any]) -> Answer:
    entity = _item_entity(params)
    known = _known(ctx, entity)
    filters = {}
    for key, value in (pick(params, "filter") or {}).items():
        op = re.match(r"^[!<>=@%]*", str(key)).group(0)  # type: ignore[union-attr]
        filters[op + uncamel(str(key)[len(op) :], known)] = value
    rows = [r for r in ctx.state.records[entity].values() if matches(r, filters, value_of)]
    order = {uncamel(k, known): v for k, v in (pick(params, "order") or {"id": "ASC"}).items()}
    sort_rows(rows, order, value_of)
    answer = page(rows, pick(params, "start", default=0), lambda r: _item(entity, ctx, r))
    answer.result = {"items": answer.result}
    return answer


def item_get(ctx: Ctx, params: dict[str, Any]) -> Answer:
    entity = _item_entity(params)
    row = ctx.state.records[entity].get(int(pick(params, "id", default=-1)))
    if row is None:
        raise B24Error(400, "NOT_FOUND", "Element not found")
    return Answer({"item": _item(entity, ctx, row)}, records=1)


def item_update(ctx: Ctx, params: dict[str, Any]) -> Answer:
    entity = _item_entity(params)
    record_id = int(pick(params, "id", default=-1))
    row = ctx.state.records[entity].get(record_id)
    if row is None:
        raise B24Error(400, "NOT_FOUND", "Element not found")
    known = _known(ctx, entity)
    fields = {uncamel(k, known): v for k, v in (pick(params, "fields") or {}).items()}
    if entity == "deal" and "CATEGORY_ID" in fields and str(fields["CATEGORY_ID"]) != row["CATEGORY_ID"]:
        category = int(fields.pop("CATEGORY_ID"))
        if category not in ctx.state.categories:
            raise B24Error(400, "NOT_FOUND", f"Category {category} not found")
        row["CATEGORY_ID"] = str(category)
        if "STAGE_ID" not in fields:
            fields["STAGE_ID"] = ctx.state.stages_of(deal_stage_entity(category))[0].status_id
        ctx.events.append(("ONCRMDEALMOVETOCATEGORY", record_id))
    update(entity, ctx, {"id": record_id, "fields": fields})
    return Answer({"item": _item(entity, ctx, row)}, records=1)
