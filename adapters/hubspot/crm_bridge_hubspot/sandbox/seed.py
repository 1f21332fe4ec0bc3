"""Seeding the HubSpot emulator from a JSON document written in the API's own request shapes, with
conveniences for hand-written files and demos: deals may name their pipeline and stage by label; a
record may link to records created earlier in the same document by index, or to existing ones by id
(``"associate": {"companies": [0, "1234"]}``); an owner may bring its ``id``; a record's ``createdate``
may be set (as ms epoch or ISO), which the API itself does not allow."""

from __future__ import annotations

from typing import Any

from crm_bridge_hubspot.sandbox.objects import create_record
from crm_bridge_hubspot.sandbox.pipelines import create_pipeline
from crm_bridge_hubspot.sandbox.schema import create_group, create_property
from crm_bridge_hubspot.sandbox.store import CREATED_PROPERTY, DEFAULT_ASSOCIATION, add_owner, iso
from crm_bridge_hubspot.sandbox.wire import HsCall, fail

ORDER = ("companies", "contacts", "deals", "tasks")


def seed_state(call: HsCall, data: dict[str, Any]) -> dict[str, Any]:
    created: dict[str, Any] = {}
    state = call.state
    for owner in data.get("owners", []):
        oid = add_owner(
            state,
            owner.get("firstName", ""),
            owner.get("lastName", ""),
            owner["email"],
            call.now,
            owner_id=str(owner["id"]) if owner.get("id") else None,
        )
        created.setdefault("owners", []).append(oid)
    for object_type, groups in (data.get("property_groups") or {}).items():
        for group in groups:
            call.body = group
            create_group(call, object_type)
    for object_type, props in (data.get("properties") or {}).items():
        for prop in props:
            call.body = prop
            create_property(call, object_type)
            created.setdefault("properties", {}).setdefault(object_type, []).append(prop["name"])
    for pipeline in data.get("pipelines", []):
        call.body = pipeline
        answer = create_pipeline(call, "deals").body
        created.setdefault("pipelines", []).append(
            {"id": answer["id"], "stages": {s["label"]: s["id"] for s in answer["stages"]}}
        )
    for object_type in ORDER:
        for item in data.get(object_type, []):
            payload = dict(item) if "properties" in item else {"properties": dict(item)}
            links = payload.pop("associate", None) or {}
            payload["properties"] = dict(payload["properties"])
            created_at = payload["properties"].pop(CREATED_PROPERTY[object_type], None)
            if object_type == "deals":
                payload["properties"] = _stage_by_label(call, payload["properties"])
            record = create_record(call, object_type, payload)
            if created_at:
                _backdate(record, object_type, str(created_at))
            for to_type, indexes in links.items():
                type_id = DEFAULT_ASSOCIATION.get((object_type, to_type))
                targets = created.get(to_type, [])
                if type_id is None or any(isinstance(i, int) and i >= len(targets) for i in indexes):
                    raise fail(
                        400,
                        "VALIDATION_ERROR",
                        f"seed: cannot associate {object_type} with {to_type}{indexes}",
                    )
                for index in indexes:
                    target = targets[index] if isinstance(index, int) else str(index)
                    state.associate(object_type, record["id"], to_type, target, type_id, "HUBSPOT_DEFINED")
            created.setdefault(object_type, []).append(record["id"])
    return created


def _stage_by_label(call: HsCall, props: dict[str, Any]) -> dict[str, Any]:
    pipelines = call.state.pipelines["deals"]
    wanted = props.get("pipeline")
    pipeline = pipelines.get(wanted) if wanted else pipelines.get("default")
    if pipeline is None:
        pipeline = next((p for p in pipelines.values() if p["label"] == wanted), None)
    if pipeline is None:
        return props
    props["pipeline"] = pipeline["id"]
    stage = props.get("dealstage")
    if stage and stage not in {s["id"] for s in pipeline["stages"]}:
        props["dealstage"] = next((s["id"] for s in pipeline["stages"] if s["label"] == stage), stage)
    return props


def _backdate(record: dict[str, Any], object_type: str, value: str) -> None:
    stamp = iso(int(value) / 1000) if value.isdigit() else value
    record["properties"][CREATED_PROPERTY[object_type]] = stamp
    record["createdAt"] = stamp
