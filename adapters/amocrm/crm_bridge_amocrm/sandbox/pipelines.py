"""amoCRM lead pipelines and their statuses (``/api/v4/leads/pipelines[/{id}[/statuses[/{id}]]]``).

Every pipeline carries the system statuses the CRM creates itself: unsorted (type 1) when
``is_unsorted_on``, and 142 (won) / 143 (lost), whose ids are the same in every pipeline. At most
50 pipelines per account and 100 statuses per pipeline; stage colours come from a fixed palette.
"""

from __future__ import annotations

import copy
from typing import Any

from crm_bridge.sandbox.core import SandboxResponse
from crm_bridge_amocrm.sandbox.store import (
    LOST_STATUS_ID,
    MAX_PIPELINES,
    MAX_STATUSES,
    STATUS_COLORS,
    UNSORTED_COLOR,
    WON_STATUS_ID,
    Call,
    add_pipeline,
    status_model,
)
from crm_bridge_amocrm.sandbox.wire import AmoError, as_int, field_error, no_content, problem, self_link
from crm_bridge_amocrm.sandbox.wire import validation_failed as _failed

_CHOICE = "The value you selected is not a valid choice."
_SYSTEM = (WON_STATUS_ID, LOST_STATUS_ID)


def render_status(call: Call, status: dict[str, Any]) -> dict[str, Any]:
    href = f"{call.base}/api/v4/leads/pipelines/{status['pipeline_id']}/statuses/{status['id']}"
    return {**copy.deepcopy(status), "account_id": call.state.account_id, "_links": self_link(href)}


def render_pipeline(call: Call, pipeline: dict[str, Any]) -> dict[str, Any]:
    statuses = sorted(pipeline["statuses"].values(), key=lambda s: (s["sort"], s["id"]))
    out = {k: v for k, v in pipeline.items() if k != "statuses"}
    out["account_id"] = call.state.account_id
    out["_links"] = self_link(f"{call.base}/api/v4/leads/pipelines/{pipeline['id']}")
    out["_embedded"] = {"statuses": [render_status(call, s) for s in statuses]}
    return out


def list_pipelines(call: Call) -> SandboxResponse:
    pipelines = sorted(call.state.pipelines.values(), key=lambda p: (p["sort"], p["id"]))
    body = {
        "_total_items": len(pipelines),
        "_links": self_link(f"{call.base}/api/v4/leads/pipelines"),
        "_embedded": {"pipelines": [render_pipeline(call, p) for p in pipelines]},
    }
    return SandboxResponse(body=body, records=len(pipelines))


def get_pipeline(call: Call, pid: int) -> SandboxResponse:
    return SandboxResponse(body=render_pipeline(call, _pipeline(call, pid)), records=1)


def _pipeline(call: Call, pid: int) -> dict[str, Any]:
    pipeline = call.state.pipelines.get(pid)
    if pipeline is None:
        raise AmoError(problem(404, "Pipeline not found"))
    return pipeline


def _status_problems(status: Any, path: str) -> list[dict[str, str]]:
    if not isinstance(status, dict):
        return [field_error("InvalidType", path, "This value should be of type object.")]
    problems: list[dict[str, str]] = []
    if status.get("id") in _SYSTEM:
        return problems
    if not isinstance(status.get("name"), str) or not status["name"].strip():
        problems.append(field_error("NotBlank", f"{path}.name", "This value should not be blank."))
    if "color" in status and status["color"] not in STATUS_COLORS:
        problems.append(field_error("NotSupportedChoice", f"{path}.color", _CHOICE))
    if "sort" in status and as_int(status["sort"]) is None:
        problems.append(field_error("InvalidType", f"{path}.sort", "This value should be of type int."))
    return problems


def add_pipelines(call: Call) -> SandboxResponse:
    items = _array(call.body)
    if len(call.state.pipelines) + len(items) > MAX_PIPELINES:
        raise AmoError(problem(400, f"The account may have at most {MAX_PIPELINES} pipelines"))
    errors = []
    for index, item in enumerate(items):
        problems = []
        if not isinstance(item.get("name"), str) or not item["name"].strip():
            problems.append(field_error("NotBlank", "name", "This value should not be blank."))
        statuses = (item.get("_embedded") or {}).get("statuses")
        if not isinstance(statuses, list) or not statuses:
            problems.append(field_error("NotBlank", "_embedded.statuses", "This value should not be blank."))
        else:
            if len(statuses) + 3 > MAX_STATUSES:
                problems.append(
                    field_error("Count", "_embedded.statuses", f"At most {MAX_STATUSES} statuses.")
                )
            for i, status in enumerate(statuses):
                problems.extend(_status_problems(status, f"_embedded.statuses.{i}"))
        if problems:
            errors.append({"request_id": str(item.get("request_id", index)), "errors": problems})
    if errors:
        raise _failed(errors)
    created = []
    for index, item in enumerate(items):
        pipeline = add_pipeline(call.state, item, item["_embedded"]["statuses"], call.now)
        created.append({**render_pipeline(call, pipeline), "request_id": str(item.get("request_id", index))})
    body = {"_total_items": len(created), "_embedded": {"pipelines": created}}
    return SandboxResponse(body=body, records=len(created))


def update_pipeline(call: Call, pid: int) -> SandboxResponse:
    pipeline = _pipeline(call, pid)
    item = call.body if isinstance(call.body, dict) else {}
    if "name" in item and (not isinstance(item["name"], str) or not item["name"].strip()):
        raise _failed([{"request_id": "0", "errors": [field_error("NotBlank", "name", "Blank name")]}])
    for key in ("name", "sort"):
        if key in item:
            pipeline[key] = item[key]
    if item.get("is_main"):
        for other in call.state.pipelines.values():
            other["is_main"] = other is pipeline
    if "is_unsorted_on" in item:
        _toggle_unsorted(call, pipeline, bool(item["is_unsorted_on"]))
    return SandboxResponse(body=render_pipeline(call, pipeline), records=1)


def _toggle_unsorted(call: Call, pipeline: dict[str, Any], on: bool) -> None:
    unsorted = [s for s in pipeline["statuses"].values() if s["type"] == 1]
    if on and not unsorted:
        sid = call.state.next_id("status")
        pipeline["statuses"][sid] = status_model(
            pipeline["id"], sid, "Неразобранное", 10, UNSORTED_COLOR, kind=1
        )
    elif not on and unsorted:
        if _leads_in(call, pipeline["id"], unsorted[0]["id"]):
            raise AmoError(problem(400, "Incoming leads stage still holds leads"))
        del pipeline["statuses"][unsorted[0]["id"]]
    pipeline["is_unsorted_on"] = on


def _leads_in(call: Call, pid: int, sid: int | None = None) -> bool:
    return any(
        lead["pipeline_id"] == pid and (sid is None or lead["status_id"] == sid)
        for lead in call.state.records["leads"].values()
    )


def delete_pipeline(call: Call, pid: int) -> SandboxResponse:
    pipeline = _pipeline(call, pid)
    if pipeline["is_main"]:
        return problem(400, "The main pipeline cannot be deleted")
    if _leads_in(call, pid):
        return problem(400, "The pipeline still has leads")
    del call.state.pipelines[pid]
    return no_content()


def list_statuses(call: Call, pid: int) -> SandboxResponse:
    pipeline = _pipeline(call, pid)
    statuses = sorted(pipeline["statuses"].values(), key=lambda s: (s["sort"], s["id"]))
    body = {
        "_total_items": len(statuses),
        "_links": self_link(f"{call.base}/api/v4/leads/pipelines/{pid}/statuses"),
        "_embedded": {"statuses": [render_status(call, s) for s in statuses]},
    }
    return SandboxResponse(body=body, records=len(statuses))


def get_status(call: Call, pid: int, sid: int) -> SandboxResponse:
    status = _pipeline(call, pid)["statuses"].get(sid)
    if status is None:
        return problem(404, "Status not found")
    return SandboxResponse(body=render_status(call, status), records=1)


def add_statuses(call: Call, pid: int) -> SandboxResponse:
    pipeline = _pipeline(call, pid)
    items = _array(call.body)
    if len(pipeline["statuses"]) + len(items) > MAX_STATUSES:
        raise AmoError(problem(400, f"A pipeline may have at most {MAX_STATUSES} statuses"))
    errors = []
    for index, item in enumerate(items):
        problems = _status_problems({k: v for k, v in item.items() if k != "id"}, "")
        if problems:
            errors.append({"request_id": str(item.get("request_id", index)), "errors": problems})
    if errors:
        raise _failed(errors)
    created = []
    for index, item in enumerate(items):
        sid = call.state.next_id("status")
        status = status_model(
            pid, sid, item["name"], as_int(item.get("sort")) or 100, item.get("color", "#fffeb2")
        )
        pipeline["statuses"][sid] = status
        created.append({**render_status(call, status), "request_id": str(item.get("request_id", index))})
    return SandboxResponse(body={"_total_items": len(created), "_embedded": {"statuses": created}})


def update_status(call: Call, pid: int, sid: int) -> SandboxResponse:
    status = _pipeline(call, pid)["statuses"].get(sid)
    if status is None:
        return problem(404, "Status not found")
    item = call.body if isinstance(call.body, dict) else {}
    problems = _status_problems({**{"name": status["name"]}, **item}, "")
    if not status["is_editable"] and (sid not in _SYSTEM or set(item) - {"name", "request_id"}):
        problems.append(field_error("NotSupportedChoice", "id", "System status cannot be edited."))
    if problems:
        raise _failed([{"request_id": str(item.get("request_id", 0)), "errors": problems}])
    for key in ("name", "sort", "color"):
        if key in item:
            status[key] = item[key]
    return SandboxResponse(body=render_status(call, status), records=1)


def delete_status(call: Call, pid: int, sid: int) -> SandboxResponse:
    pipeline = _pipeline(call, pid)
    status = pipeline["statuses"].get(sid)
    if status is None:
        return problem(404, "Status not found")
    if not status["is_editable"]:
        return problem(400, "System status cannot be deleted")
    if _leads_in(call, pid, sid):
        return problem(400, "The status still has leads")
    del pipeline["statuses"][sid]
    return no_content()


def _array(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, list) or not body or not all(isinstance(x, dict) for x in body):
        raise _failed(
            [{"request_id": "0", "errors": [field_error("InvalidType", "", "Expected array of objects")]}]
        )
    return body
