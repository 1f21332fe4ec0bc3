"""Tasks: tasks.task.add / update / get / list with camelCase answers and CRM bindings (UF_CRM_TASK).
References: b24restdocs api-reference/tasks/tasks-task-add.md, -update.md, -get.md, -list.md, fields.md.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from crm_bridge_bitrix24.sandbox.crm import Ctx
from crm_bridge_bitrix24.sandbox.params import pick
from crm_bridge_bitrix24.sandbox.query import Answer, matches, page, sort_rows
from crm_bridge_bitrix24.sandbox.state import B24Error, fmt_time, parse_time

# L_ lead, D_ deal, C_ contact, CO_ company, SI_ invoice, T<type>_ smart process (tasks-task-add.md).
_BINDING = re.compile(r"^(L|D|C|CO|SI|T[0-9a-f]+)_\d+$")
_STATUSES = {"1", "2", "3", "4", "5", "6", "7"}
_SORTABLE = {
    "ID",
    "TITLE",
    "TIME_SPENT_IN_LOGS",
    "DATE_START",
    "CREATED_DATE",
    "CHANGED_DATE",
    "CLOSED_DATE",
    "ACTIVITY_DATE",
    "START_DATE_PLAN",
    "END_DATE_PLAN",
    "DEADLINE",
    "REAL_STATUS",
    "STATUS_COMPLETE",
    "PRIORITY",
    "MARK",
    "GROUP_ID",
    "TIME_ESTIMATE",
    "ALLOW_CHANGE_DEADLINE",
    "ALLOW_TIME_TRACKING",
    "MATCH_WORK_TIME",
    "FAVORITE",
    "SORTING",
    "IS_PINNED",
    "IS_PINNED_IN_GROUP",
}
_ALIASES = {"REAL_STATUS": "status", "STATUS": "status", "ACCOMPLICE": "accomplices", "AUDITOR": "auditors"}
_USERS = ("RESPONSIBLE_ID", "CREATED_BY")
_DATES = ("DEADLINE", "START_DATE_PLAN", "END_DATE_PLAN")
_TEXT = ("TITLE", "DESCRIPTION", "PRIORITY", "GROUP_ID", "XML_ID", "ALLOW_CHANGE_DEADLINE", "TASK_CONTROL")


def camel(name: str) -> str:
    """``RESPONSIBLE_ID`` -> ``responsibleId``; camelCase names pass through."""
    if name.upper() in _ALIASES:
        return _ALIASES[name.upper()]
    if "_" not in name and not name.isupper():
        return name
    head, *tail = name.lower().split("_")
    return head + "".join(part.capitalize() for part in tail)


def _fail(text: str) -> B24Error:
    return B24Error(400, "ERROR_CORE", f"{text}<br>")


def _user_ref(ctx: Ctx, user_id: str) -> dict[str, Any]:
    user = ctx.state.users.get(int(user_id), {})
    return {
        "id": user_id,
        "name": f"{user.get('NAME', '')} {user.get('LAST_NAME', '')}".strip(),
        "link": f"/company/personal/user/{user_id}/",
        "icon": "/bitrix/images/tasks/default_avatar.png",
        "workPosition": user.get("WORK_POSITION", ""),
    }


def _new_task(ctx: Ctx, task_id: int) -> dict[str, Any]:
    stamp, user = fmt_time(ctx.now), str(ctx.user_id)
    task: dict[str, Any] = dict.fromkeys(
        ("parentId", "mark", "statusChangedBy", "closedBy", "closedDate", "dateStart", "deadline"), None
    )
    task.update(id=str(task_id), title="", description="", priority="1", multitask="N", notViewed="N")
    task.update(replicate="N", stageId="0", createdBy=user, createdDate=stamp, responsibleId=user)
    task.update(changedBy=user, changedDate=stamp, activityDate=stamp, startDatePlan=None, endDatePlan=None)
    task.update(guid="{" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"sandbox-task-{task_id}")) + "}", xmlId=None)
    task.update(allowChangeDeadline="N", allowTimeTracking="N", taskControl="N", addInReport="N")
    task.update(timeEstimate="0", matchWorkTime="N", siteId="s1", subordinate="Y", outlookVersion="1")
    task.update(isMuted="N", isPinned="N", isPinnedInGroup="N", descriptionInBbcode="Y", status="2")
    task.update(statusChangedDate=stamp, durationPlan=None, durationType="days", favorite="N", groupId="0")
    task.update(auditors=[], accomplices=[], ufCrmTask=[])
    task |= dict.fromkeys(("commentsCount", "serviceCommentsCount", "forkedByTemplateId", "timeSpentInLogs"))
    task |= dict.fromkeys(("forumTopicId", "forumId", "exchangeModified", "exchangeId", "viewedDate"))
    task |= dict.fromkeys(("sorting", "durationFact", "flowId", "sprintId", "backlogId"))
    return task


def _apply(ctx: Ctx, task: dict[str, Any], given: dict[str, Any]) -> None:
    for raw, value in given.items():
        name = str(raw).upper()
        if name in _USERS:
            if not str(value or "").strip() or int(str(value)) not in ctx.state.users:
                raise _fail('User specified in the "Responsible" field not found')
            task[camel(name)] = str(int(str(value)))
        elif name in _DATES:
            ts = parse_time(value)
            task[camel(name)] = fmt_time(ts) if ts is not None else None
        elif name == "UF_CRM_TASK":
            bindings = [str(b) for b in (value if isinstance(value, list) else [value]) if str(b).strip()]
            if any(not _BINDING.match(b) for b in bindings):
                raise _fail("Invalid CRM binding")
            task["ufCrmTask"] = bindings
        elif name == "STATUS":
            if str(value) not in _STATUSES:
                raise _fail("Incorrect status")
            if str(value) != task["status"]:
                task.update(
                    status=str(value), statusChangedDate=fmt_time(ctx.now), statusChangedBy=str(ctx.user_id)
                )
                closed = str(value) == "5"
                task.update(
                    closedDate=fmt_time(ctx.now) if closed else None,
                    closedBy=str(ctx.user_id) if closed else None,
                )
        elif name == "PARENT_ID":
            if str(value) == task["id"]:
                raise _fail("Cannot bind the node to itself")
            if value not in (None, "", 0, "0") and int(str(value)) not in ctx.state.tasks:
                raise _fail('Task specified in the "Parent Task" field not found')
            task["parentId"] = str(value) if value not in (None, "", 0, "0") else None
        elif name in ("ACCOMPLICES", "AUDITORS"):
            task[camel(name)] = [str(v) for v in (value if isinstance(value, list) else [value]) if v]
        elif name in _TEXT:
            task[camel(name)] = str(value)
    start, end = parse_time(task.get("startDatePlan")), parse_time(task.get("endDatePlan"))
    if start is not None and end is not None and end < start:
        raise _fail("The end date in scheduling is earlier than the start date")


# What the calling user may do with the task (the sandbox's webhook owner may do everything an
# administrator may): the ``action`` block of tasks-task-add.md's answer.
_ACTIONS = {
    "accept": False,
    "decline": False,
    "complete": True,
    "approve": False,
    "disapprove": False,
    "start": True,
    "pause": False,
    "delegate": True,
    "remove": True,
    "edit": True,
    "defer": True,
    "renew": False,
    "create": True,
    "changeDeadline": True,
    "checklistAddItems": True,
    "addFavorite": True,
    "deleteFavorite": False,
    "rate": True,
    "take": False,
    "edit.originator": False,
    "checklist.reorder": True,
    "elapsedtime.add": True,
    "dayplan.timer.toggle": False,
    "edit.plan": True,
    "checklist.add": True,
    "favorite.add": True,
    "favorite.delete": False,
}


def _checklist_tree(user_id: int) -> dict[str, Any]:
    fields = dict.fromkeys(("id", "copiedId", "entityId", "createdBy", "parentId", "sortIndex"))
    fields |= {"userId": user_id, "title": "", "displaySortIndex": "", "isComplete": False}
    fields |= {"isImportant": False, "completedCount": 0, "members": [], "attachments": [], "nodeId": None}
    return {"nodeId": 0, "fields": fields, "action": [], "descendants": []}


def _full(ctx: Ctx, task: dict[str, Any]) -> dict[str, Any]:
    """The task as add/update/get answer it: stored fields plus people objects, without ufCrmTask."""
    out = {k: v for k, v in task.items() if k != "ufCrmTask"}
    out.update(checklist=[], group=[], creator=_user_ref(ctx, task["createdBy"]))
    out["responsible"] = _user_ref(ctx, task["responsibleId"])
    for key in ("accomplices", "auditors"):  # PHP: an empty array is [], a filled one an object by user id
        out[f"{key}Data"] = {u: _user_ref(ctx, u) for u in task[key]} or []
    out.update(newCommentsCount=0, action=dict(_ACTIONS), checkListTree=_checklist_tree(ctx.user_id))
    out["checkListCanAdd"] = True
    return out


def _selected(ctx: Ctx, task: dict[str, Any], select: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"id": task["id"]}
    for name in select:
        key = camel(str(name))
        if key == "subStatus":
            out["subStatus"] = task["status"]
        elif key in task:
            out[key] = task[key]
    return out


def _select(params: dict[str, Any]) -> list[str] | None:
    select = pick(params, "select")
    if select in (None, ""):
        return None
    if isinstance(select, dict):
        select = list(select.values())
    if not isinstance(select, list) or not select:
        raise B24Error(
            400,
            "100",
            "Invalid value {} to match with parameter {select}. "
            "Should be value of type array. (internal error)",
        )
    return [str(s) for s in select]


def task_add(ctx: Ctx, params: dict[str, Any]) -> Answer:
    given = pick(params, "fields")
    if not isinstance(given, dict) or not given:
        raise B24Error(400, "100", "Could not find value for parameter {fields} (internal error)")
    upper = {str(k).upper(): v for k, v in given.items()}
    if not str(upper.get("TITLE") or "").strip():
        raise _fail("Task title is not specified")
    if not str(upper.get("RESPONSIBLE_ID") or "").strip():
        raise _fail("Responsible person not specified")
    task_id = ctx.state.next_id("task")
    task = _new_task(ctx, task_id)
    try:
        _apply(ctx, task, given)
    except B24Error:
        ctx.state.sequences["task"] -= 1
        raise
    ctx.state.tasks[task_id] = task
    ctx.events.append(("ONTASKADD", task_id))
    return Answer({"task": _full(ctx, task)}, records=1)


def _task_id(params: dict[str, Any]) -> int:
    raw = pick(params, "taskId", "id")
    if raw in (None, ""):
        raise B24Error(
            400,
            "100",
            "CTaskItem All parameters in the constructor must have real class type (internal error)",
        )
    try:
        return int(str(raw))
    except ValueError:
        raise B24Error(400, "0", "wrong task id") from None


def task_update(ctx: Ctx, params: dict[str, Any]) -> Answer:
    task = ctx.state.tasks.get(_task_id(params))
    if task is None:
        raise B24Error(400, "0", "Action on the task is not allowed (internal error)")
    given = pick(params, "fields")
    if not isinstance(given, dict) or not given:
        raise B24Error(400, "100", "Could not find value for parameter {fields} (internal error)")
    candidate = {k: (list(v) if isinstance(v, list) else v) for k, v in task.items()}
    _apply(ctx, candidate, given)
    candidate.update(
        changedDate=fmt_time(ctx.now), changedBy=str(ctx.user_id), activityDate=fmt_time(ctx.now)
    )
    task.update(candidate)
    ctx.events.append(("ONTASKUPDATE", int(task["id"])))
    return Answer({"task": _full(ctx, task)}, records=1)


def task_get(ctx: Ctx, params: dict[str, Any]) -> Answer:
    """An unknown task (or one the user may not see) answers ``"result": []`` (tasks-task-get.md)."""
    task = ctx.state.tasks.get(_task_id(params))
    if task is None:
        return Answer([])
    select = _select(params)
    if select is None:
        return Answer({"task": _full(ctx, task)}, records=1)
    out = _selected(ctx, task, select)
    out.update(descriptionInBbcode=task["descriptionInBbcode"], favorite=task["favorite"], group=[])
    out.update(creator=_user_ref(ctx, task["createdBy"]), responsible=_user_ref(ctx, task["responsibleId"]))
    out["action"] = dict(_ACTIONS)
    return Answer({"task": out}, records=1)


def _value(row: dict[str, Any], name: str) -> Any:
    return row.get(camel(name))


def task_list(ctx: Ctx, params: dict[str, Any]) -> Answer:
    raw_filter = pick(params, "filter") or {}
    filters = (
        {k: v for k, v in raw_filter.items() if not str(k).startswith("::")}
        if isinstance(raw_filter, dict)
        else {}
    )
    order = pick(params, "order") or {"ID": "DESC"}
    for key in order if isinstance(order, dict) else ():
        if str(key).upper() not in _SORTABLE:
            raise B24Error(400, "0", "Invalid sorting key (internal error)")
    rows = [t for t in ctx.state.tasks.values() if matches(t, filters, _value)]
    sort_rows(rows, {str(k).upper(): str(v).upper() for k, v in dict(order).items()}, _value)
    select = _select(params)

    def render(task: dict[str, Any]) -> dict[str, Any]:
        if select is None:
            return {k: v for k, v in task.items() if k != "ufCrmTask"}
        return _selected(ctx, task, select)

    answer = page(rows, pick(params, "start", default=0), render)
    answer.result = {"tasks": answer.result}
    return answer
