"""HubSpot deal pipelines and stages: ``/crm/v3/pipelines/{objectType}[/{id}[/stages[/{id}]]]``.

Deal stages need ``metadata.probability`` between 0.0 and 1.0 in steps of 0.1; responses carry
metadata values as strings plus ``isClosed`` (true for the 1.0 won and 0.0 lost stages unless the
caller set it). Labels are unique within their scope; stages holding deals cannot be removed.
"""

from __future__ import annotations

from typing import Any

from crm_bridge_hubspot.sandbox.store import iso, resolve_type, stage_model
from crm_bridge_hubspot.sandbox.wire import HsCall, bool_param, fail, no_content, ok

MAX_STAGES = 100


def _scope(call: HsCall, type_name: str) -> dict[str, dict[str, Any]]:
    if resolve_type(type_name) != "deals":
        raise fail(400, "VALIDATION_ERROR", f"Pipelines are emulated for deals only, not {type_name}")
    return call.state.pipelines["deals"]


def _sorted(pipeline: dict[str, Any]) -> dict[str, Any]:
    stages = sorted((s for s in pipeline["stages"] if not s["archived"]), key=lambda s: s["displayOrder"])
    return {**pipeline, "stages": stages}


def _pipeline(call: HsCall, type_name: str, pid: str) -> dict[str, Any]:
    pipeline = _scope(call, type_name).get(pid)
    if pipeline is None or pipeline["archived"]:
        raise fail(404, "OBJECT_NOT_FOUND", f"Unable to find pipeline with id {pid}")
    return pipeline


def _deals_in(call: HsCall, pid: str, sid: str | None = None) -> bool:
    return any(
        not deal["archived"]
        and deal["properties"].get("pipeline") == pid
        and (sid is None or deal["properties"].get("dealstage") == sid)
        for deal in call.state.objects["deals"].values()
    )


def _metadata(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict) or "probability" not in raw:
        raise fail(400, "VALIDATION_ERROR", f"{where}: deal stages require metadata.probability")
    try:
        probability = float(raw["probability"])
    except (TypeError, ValueError) as exc:
        raise fail(400, "VALIDATION_ERROR", f"{where}: probability must be a number") from exc
    if not 0.0 <= probability <= 1.0 or abs(probability * 10 - round(probability * 10)) > 1e-9:
        raise fail(400, "VALIDATION_ERROR", f"{where}: probability must be 0.0-1.0 in steps of 0.1")
    return {**raw, "probability": f"{probability:.1f}"}


def _stages(call: HsCall, raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        raise fail(400, "VALIDATION_ERROR", "A pipeline needs at least one stage")
    if len(raw) > MAX_STAGES:
        raise fail(400, "VALIDATION_ERROR", f"A pipeline may have at most {MAX_STAGES} stages")
    stages: list[dict[str, Any]] = []
    labels: set[str] = set()
    for i, item in enumerate(raw):
        stages.append(_stage(call, item, f"stages[{i}]", labels))
    return stages


def _stage(call: HsCall, item: Any, where: str, labels: set[str], sid: str | None = None) -> dict[str, Any]:
    if not isinstance(item, dict) or not item.get("label") or not isinstance(item.get("displayOrder"), int):
        raise fail(400, "VALIDATION_ERROR", f"{where}: label and displayOrder are required")
    if item["label"] in labels:
        raise fail(400, "VALIDATION_ERROR", f"{where}: stage label {item['label']!r} is already used")
    labels.add(item["label"])
    stage_id = sid or item.get("stageId") or call.state.next_id()
    return stage_model(
        stage_id, item["label"], item["displayOrder"], _metadata(item.get("metadata"), where), call.now
    )


def list_pipelines(call: HsCall, type_name: str) -> Any:
    found = [_sorted(p) for p in _scope(call, type_name).values() if not p["archived"]]
    found.sort(key=lambda p: p["displayOrder"])
    return ok({"results": found}, records=len(found))


def create_pipeline(call: HsCall, type_name: str) -> Any:
    scope = _scope(call, type_name)
    data = call.json_body()
    if not data.get("label") or not isinstance(data.get("displayOrder"), int):
        raise fail(400, "VALIDATION_ERROR", "label, displayOrder and stages are required")
    if any(p["label"] == data["label"] and not p["archived"] for p in scope.values()):
        raise fail(409, "CONFLICT", f"A pipeline with label {data['label']!r} already exists")
    pid = str(data.get("pipelineId") or call.state.next_id())
    stamp = iso(call.now)
    pipeline = {
        "id": pid,
        "label": data["label"],
        "displayOrder": data["displayOrder"],
        "archived": False,
        "createdAt": stamp,
        "updatedAt": stamp,
        "stages": _stages(call, data.get("stages")),
    }
    scope[pid] = pipeline
    return ok(_sorted(pipeline), status=201, records=1)


def get_pipeline(call: HsCall, type_name: str, pid: str) -> Any:
    return ok(_sorted(_pipeline(call, type_name, pid)), records=1)


def replace_pipeline(call: HsCall, type_name: str, pid: str) -> Any:
    pipeline = _pipeline(call, type_name, pid)
    data = call.json_body()
    stages = _stages(call, data.get("stages"))
    kept = {s["id"] for s in stages}
    for old in pipeline["stages"]:
        if old["id"] not in kept and _deals_in(call, pid, old["id"]):
            raise fail(400, "VALIDATION_ERROR", f"Stage {old['id']} still holds deals")
    pipeline.update(
        {"label": data.get("label", pipeline["label"]), "stages": stages, "updatedAt": iso(call.now)}
    )
    pipeline["displayOrder"] = data.get("displayOrder", pipeline["displayOrder"])
    return ok(_sorted(pipeline), records=1)


def patch_pipeline(call: HsCall, type_name: str, pid: str) -> Any:
    pipeline = _pipeline(call, type_name, pid)
    data = call.json_body()
    for key in ("label", "displayOrder", "archived"):
        if key in data:
            pipeline[key] = data[key]
    pipeline["updatedAt"] = iso(call.now)
    return ok(_sorted(pipeline), records=1)


def delete_pipeline(call: HsCall, type_name: str, pid: str) -> Any:
    scope = _scope(call, type_name)
    pipeline = _pipeline(call, type_name, pid)
    validate = bool_param(call.query, "validateReferencesBeforeDelete") or bool_param(
        call.query, "validateDealStageUsagesBeforeDelete"
    )
    if validate and _deals_in(call, pid):
        raise fail(409, "CONFLICT", f"Pipeline {pid} is referenced by deals")
    if sum(1 for p in scope.values() if not p["archived"]) == 1:
        raise fail(400, "VALIDATION_ERROR", "The last pipeline cannot be deleted")
    pipeline["archived"] = True
    pipeline["archivedAt"] = iso(call.now)
    return no_content()


def list_stages(call: HsCall, type_name: str, pid: str) -> Any:
    stages = _sorted(_pipeline(call, type_name, pid))["stages"]
    return ok({"results": stages}, records=len(stages))


def _find_stage(pipeline: dict[str, Any], sid: str) -> dict[str, Any]:
    """The stored stage itself (updates write through it), not a copy."""
    for stage in pipeline["stages"]:
        if stage["id"] == sid and not stage["archived"]:
            found: dict[str, Any] = stage
            return found
    raise fail(404, "OBJECT_NOT_FOUND", f"Unable to find stage with id {sid}")


def create_stage(call: HsCall, type_name: str, pid: str) -> Any:
    pipeline = _pipeline(call, type_name, pid)
    live = [s for s in pipeline["stages"] if not s["archived"]]
    if len(live) >= MAX_STAGES:
        raise fail(400, "VALIDATION_ERROR", f"A pipeline may have at most {MAX_STAGES} stages")
    stage = _stage(call, call.json_body(), "stage", {s["label"] for s in live})
    pipeline["stages"].append(stage)
    return ok(stage, status=201, records=1)


def get_stage(call: HsCall, type_name: str, pid: str, sid: str) -> Any:
    return ok(_find_stage(_pipeline(call, type_name, pid), sid), records=1)


def update_stage(call: HsCall, type_name: str, pid: str, sid: str) -> Any:
    pipeline = _pipeline(call, type_name, pid)
    stage = _find_stage(pipeline, sid)
    data = call.json_body()
    if call.method == "PUT":
        others = {s["label"] for s in pipeline["stages"] if s["id"] != sid and not s["archived"]}
        fresh = _stage(call, data, "stage", others, sid=sid)
        fresh["createdAt"] = stage["createdAt"]
        stage.clear()
        stage.update(fresh)
        return ok(stage, records=1)
    if "label" in data:
        if any(
            s["label"] == data["label"] and s["id"] != sid and not s["archived"] for s in pipeline["stages"]
        ):
            raise fail(400, "VALIDATION_ERROR", f"stage label {data['label']!r} is already used")
        stage["label"] = data["label"]
    if "displayOrder" in data:
        stage["displayOrder"] = data["displayOrder"]
    if "metadata" in data:
        updated = stage_model(
            sid, stage["label"], stage["displayOrder"], _metadata(data["metadata"], "stage"), call.now
        )
        stage["metadata"] = updated["metadata"]
    if data.get("archived") is True:
        if _deals_in(call, pid, sid):
            raise fail(400, "VALIDATION_ERROR", f"Stage {sid} still holds deals")
        stage["archived"] = True
    stage["updatedAt"] = iso(call.now)
    return ok(stage, records=1)


def delete_stage(call: HsCall, type_name: str, pid: str, sid: str) -> Any:
    stage = _find_stage(_pipeline(call, type_name, pid), sid)
    if _deals_in(call, pid, sid):
        raise fail(400, "VALIDATION_ERROR", f"Stage {sid} still holds deals")
    stage["archived"] = True
    stage["archivedAt"] = iso(call.now)
    return no_content()
