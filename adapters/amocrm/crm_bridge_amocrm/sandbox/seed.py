"""Seeding the amoCRM emulator from a JSON document written in the API's own request shapes; leads
may name their stage by ``pipeline_name``/``status_name`` instead of ids."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crm_bridge.sandbox.core import SandboxResponse
from crm_bridge_amocrm.sandbox import account as account
from crm_bridge_amocrm.sandbox import entities as entities
from crm_bridge_amocrm.sandbox import fields as fields
from crm_bridge_amocrm.sandbox import pipelines as pipelines
from crm_bridge_amocrm.sandbox import webhooks as webhooks
from crm_bridge_amocrm.sandbox.store import AmoState, Call, add_user
from crm_bridge_amocrm.sandbox.wire import AmoError

ORDER = ("companies", "contacts", "leads")


def seed_state(call: Call, data: dict[str, Any]) -> dict[str, Any]:
    """Load ``{"users": [{name, email, is_admin, id (optional)}], "pipelines": [pipeline add items],
    "custom_fields": {entity: [field add items]}, "companies"/"contacts"/"leads"/"tasks": [add items],
    "webhooks": [{destination, settings}]}``; returns the ids created. Raises ValueError with amoCRM's
    error body."""
    created: dict[str, Any] = {}
    state = call.state
    for user in data.get("users", []):
        if user.get("id") is not None and int(user["id"]) in state.users:
            created.setdefault("users", []).append(int(user["id"]))
            continue
        uid = add_user(
            state,
            user["name"],
            user.get("email", ""),
            is_admin=user.get("is_admin", False),
            user_id=int(user["id"]) if user.get("id") is not None else None,
        )
        created.setdefault("users", []).append(uid)
    if data.get("pipelines"):
        answer = _run(call, pipelines.add_pipelines, data["pipelines"])
        created["pipelines"] = [
            {"id": p["id"], "statuses": {s["name"]: s["id"] for s in p["_embedded"]["statuses"]}}
            for p in answer["_embedded"]["pipelines"]
        ]
    for entity, items in (data.get("custom_fields") or {}).items():
        answer = _run(call, fields.add_fields, items, entity)
        created.setdefault("custom_fields", {})[entity] = {
            f.get("code") or f["name"]: f["id"] for f in answer["_embedded"]["custom_fields"]
        }
    for entity in ORDER:
        if data.get(entity):
            items = [_stage_names(state, i) for i in data[entity]] if entity == "leads" else data[entity]
            answer = _run(call, entities.add_records, items, entity)
            created[entity] = [r["id"] for r in answer["_embedded"][entity]]
    if data.get("tasks"):
        answer = _run(call, account.add_tasks, data["tasks"])
        created["tasks"] = [t["id"] for t in answer["_embedded"]["tasks"]]
    for hook in data.get("webhooks", []):
        _run(call, webhooks.add_webhook, hook)
    return created


def _run(call: Call, handler: Callable[..., SandboxResponse], body: Any, *args: Any) -> dict[str, Any]:
    call.body = body
    try:
        response = handler(call, *args)
    except AmoError as error:
        raise ValueError(error.response.body) from error
    return response.body if isinstance(response.body, dict) else {}


def _stage_names(state: AmoState, item: dict[str, Any]) -> dict[str, Any]:
    item = dict(item)
    pipeline_name, status_name = item.pop("pipeline_name", None), item.pop("status_name", None)
    if pipeline_name is None and status_name is None:
        return item
    pipeline = state.main_pipeline()
    if pipeline_name is not None:
        pipeline = next((p for p in state.pipelines.values() if p["name"] == pipeline_name), pipeline)
    item["pipeline_id"] = pipeline["id"]
    if status_name is not None:
        status = next((s for s in pipeline["statuses"].values() if s["name"] == status_name), None)
        if status is None:
            raise ValueError(f"no status {status_name!r} in pipeline {pipeline['name']!r}")
        item["status_id"] = status["id"]
    return item
