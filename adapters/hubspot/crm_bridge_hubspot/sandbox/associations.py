"""HubSpot associations v4: default and labelled associations between two records, listing a
record's associations, and the batch create/associate-default/read/archive endpoints."""

from __future__ import annotations

from typing import Any

from crm_bridge_hubspot.sandbox.objects import object_type_of
from crm_bridge_hubspot.sandbox.store import DEFAULT_ASSOCIATION, OBJECT_TYPE_IDS, iso
from crm_bridge_hubspot.sandbox.wire import HsCall, fail, int_param, no_content, ok, standard_error

MAX_INPUTS = 100


def _record(call: HsCall, object_type: str, oid: str) -> dict[str, Any] | None:
    record = call.state.objects[object_type].get(oid)
    return None if record is None or record["archived"] else record


def _require(call: HsCall, object_type: str, oid: str) -> None:
    if _record(call, object_type, oid) is None:
        raise fail(404, "OBJECT_NOT_FOUND", f"No {object_type} with id {oid}", context={"id": [oid]})


def _valid_types(call: HsCall, from_type: str, to_type: str) -> set[int]:
    default = DEFAULT_ASSOCIATION.get((from_type, to_type))
    if default is None:
        raise fail(400, "VALIDATION_ERROR", f"{from_type} cannot be associated with {to_type}")
    return {default, *call.state.labels(from_type, to_type)}


def _spec(types: dict[int, tuple[str, str | None]], from_type: str, to_type: str) -> list[dict[str, Any]]:
    """AssociationSpecWithLabel items; ``label`` only for labelled types (it is a string in the spec)."""
    return [
        {"category": category, "typeId": type_id, **({"label": label} if label else {})}
        for type_id, (category, label) in sorted(types.items())
    ]


def _default_pair(call: HsCall, from_type: str, fid: str, to_type: str, tid: str) -> list[dict[str, Any]]:
    type_id = DEFAULT_ASSOCIATION[(from_type, to_type)]
    call.state.associate(from_type, fid, to_type, tid, type_id, "HUBSPOT_DEFINED")
    call.emit(from_type, "associationChange", fid, to_type, tid)
    back = DEFAULT_ASSOCIATION[(to_type, from_type)]
    return [
        {
            "from": {"id": fid},
            "to": {"id": tid},
            "associationSpec": {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id},
        },
        {
            "from": {"id": tid},
            "to": {"id": fid},
            "associationSpec": {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": back},
        },
    ]


def _batch(call: HsCall, results: list[Any], errors: list[dict[str, Any]], status: int) -> Any:
    body: dict[str, Any] = {"status": "COMPLETE", "results": results}
    if errors:
        body.update({"numErrors": len(errors), "errors": errors})
        status = 207
    body["startedAt"] = body["completedAt"] = iso(call.now)
    return ok(body, status=status, records=len(results))


def put_default(call: HsCall, from_name: str, fid: str, to_name: str, tid: str) -> Any:
    from_type, to_type = object_type_of(from_name), object_type_of(to_name)
    _valid_types(call, from_type, to_type)
    _require(call, from_type, fid)
    _require(call, to_type, tid)
    return _batch(call, _default_pair(call, from_type, fid, to_type, tid), [], 200)


def _labels(call: HsCall, from_type: str, fid: str, to_type: str, tid: str, specs: Any) -> dict[str, Any]:
    allowed = _valid_types(call, from_type, to_type)
    if not isinstance(specs, list) or not specs:
        raise fail(400, "VALIDATION_ERROR", "Invalid input JSON: expected an array of association specs")
    for spec in specs:
        type_id = spec.get("associationTypeId") if isinstance(spec, dict) else None
        if type_id not in allowed:
            raise fail(
                400,
                "VALIDATION_ERROR",
                f"{type_id} is not a valid association type from {from_type} to {to_type}",
            )
    for spec in specs:
        category = spec.get("associationCategory", "HUBSPOT_DEFINED")
        call.state.associate(from_type, fid, to_type, tid, spec["associationTypeId"], category)
    call.emit(from_type, "associationChange", fid, to_type, tid)
    types = call.state.associations[(from_type, fid, to_type, tid)]
    return {
        "fromObjectTypeId": OBJECT_TYPE_IDS[from_type],
        "fromObjectId": fid,
        "toObjectTypeId": OBJECT_TYPE_IDS[to_type],
        "toObjectId": tid,
        "labels": [label for _, label in types.values() if label],
    }


def put_labelled(call: HsCall, from_name: str, fid: str, to_name: str, tid: str) -> Any:
    from_type, to_type = object_type_of(from_name), object_type_of(to_name)
    _require(call, from_type, fid)
    _require(call, to_type, tid)
    return ok(_labels(call, from_type, fid, to_type, tid, call.body), status=201, records=1)


def list_associations(call: HsCall, from_name: str, fid: str, to_name: str) -> Any:
    from_type, to_type = object_type_of(from_name), object_type_of(to_name)
    _require(call, from_type, fid)
    limit = int_param(call.query, "limit", 500)
    linked = sorted(call.state.associated(from_type, fid, to_type).items(), key=lambda i: int(i[0]))
    after = call.query.get("after", [""])[0]
    if after.isdigit():
        linked = [item for item in linked if int(item[0]) >= int(after)]
    results = [
        {"toObjectId": tid, "associationTypes": _spec(types, from_type, to_type)} for tid, types in linked
    ]
    body: dict[str, Any] = {"results": results[:limit]}
    if len(results) > limit:
        body["paging"] = {"next": {"after": results[limit]["toObjectId"]}}
    return ok(body, records=len(body["results"]))


def delete_association(call: HsCall, from_name: str, fid: str, to_name: str, tid: str) -> Any:
    from_type, to_type = object_type_of(from_name), object_type_of(to_name)
    if call.state.dissociate(from_type, fid, to_type, tid):
        call.emit(from_type, "associationChange", fid, to_type, tid)
    return no_content()


def _inputs(call: HsCall) -> list[dict[str, Any]]:
    inputs = call.json_body().get("inputs")
    if not isinstance(inputs, list) or not all(isinstance(i, dict) for i in inputs):
        raise fail(400, "VALIDATION_ERROR", "Invalid input JSON: inputs must be an array of objects")
    if len(inputs) > MAX_INPUTS:
        raise fail(
            400, "VALIDATION_ERROR", f"Batch input size {len(inputs)} exceeds the limit of {MAX_INPUTS}"
        )
    return inputs


def _ids(item: dict[str, Any], key: str) -> str:
    return str((item.get(key) or {}).get("id", ""))


def batch(call: HsCall, from_name: str, to_name: str, action: str) -> Any:
    from_type, to_type = object_type_of(from_name), object_type_of(to_name)
    _valid_types(call, from_type, to_type)
    results: list[Any] = []
    missing: list[str] = []
    for item in _inputs(call):
        fid = str(item.get("id", "")) if action == "read" else _ids(item, "from")
        if action == "archive":
            for target in item.get("to") or []:
                call.state.dissociate(from_type, fid, to_type, str(target.get("id", "")))
            continue
        if action == "read":
            if _record(call, from_type, fid) is None:
                missing.append(fid)
                continue
            linked = sorted(call.state.associated(from_type, fid, to_type).items(), key=lambda i: int(i[0]))
            to = [{"toObjectId": tid, "associationTypes": _spec(t, from_type, to_type)} for tid, t in linked]
            results.append({"from": {"id": fid}, "to": to})
            continue
        tid = _ids(item, "to")
        if _record(call, from_type, fid) is None or _record(call, to_type, tid) is None:
            missing.extend(
                i
                for i in (fid, tid)
                if i and _record(call, from_type, i) is None and _record(call, to_type, i) is None
            )
            continue
        if action == "default":
            results.extend(_default_pair(call, from_type, fid, to_type, tid))
        else:
            results.append(_labels(call, from_type, fid, to_type, tid, item.get("types")))
    if action == "archive":
        return no_content()
    errors = []
    if missing:
        errors.append(standard_error(404, "OBJECT_NOT_FOUND", "Some objects do not exist", {"ids": missing}))
    return _batch(call, results, errors, 201 if action == "create" else 200)


# -- association labels (associations schema v4) ------------------------------------------------------
def _label_specs(call: HsCall, from_type: str, to_type: str) -> list[dict[str, Any]]:
    """``AssociationSpecWithLabel`` items of a pair: the unlabeled type, HubSpot's labelled ones, then
    the account's USER_DEFINED labels (``label`` only where there is one)."""
    out: list[dict[str, Any]] = [
        {"category": "HUBSPOT_DEFINED", "typeId": DEFAULT_ASSOCIATION[(from_type, to_type)]}
    ]
    for type_id, (category, label) in sorted(call.state.labels(from_type, to_type).items()):
        out.append({"category": category, "typeId": type_id, "label": label})
    return out


def list_labels(call: HsCall, from_name: str, to_name: str) -> Any:
    from_type, to_type = object_type_of(from_name), object_type_of(to_name)
    _valid_types(call, from_type, to_type)
    found = _label_specs(call, from_type, to_type)
    return ok({"results": found}, records=len(found))


def create_label(call: HsCall, from_name: str, to_name: str) -> Any:
    """``PublicAssociationDefinitionCreateRequest`` {label, name, inverseLabel?}: the label and its
    inverse; answers the pair's labels. A second label with the same name or label is refused."""
    from_type, to_type = object_type_of(from_name), object_type_of(to_name)
    _valid_types(call, from_type, to_type)
    body = call.json_body()
    label, name, inverse = body.get("label"), body.get("name"), body.get("inverseLabel")
    if not isinstance(label, str) or not label.strip() or not isinstance(name, str) or not name.strip():
        raise fail(400, "VALIDATION_ERROR", "label and name are required")
    existing = call.state.user_labels.get((from_type, to_type), {}).values()
    if any(spec["name"] == name or spec["label"] == label for spec in existing):
        raise fail(409, "CONFLICT", f"An association label {label!r} ({name}) already exists")
    call.state.add_label(from_type, to_type, name, label, inverse if isinstance(inverse, str) else None)
    found = [s for s in _label_specs(call, from_type, to_type) if s["category"] == "USER_DEFINED"]
    return ok({"results": found}, records=len(found))


def update_label(call: HsCall, from_name: str, to_name: str) -> Any:
    """``PublicAssociationDefinitionUpdateRequest`` {associationTypeId, label, inverseLabel?}."""
    from_type, to_type = object_type_of(from_name), object_type_of(to_name)
    body = call.json_body()
    type_id = body.get("associationTypeId")
    spec = call.state.user_labels.get((from_type, to_type), {}).get(
        type_id if isinstance(type_id, int) else -1
    )
    if spec is None or not isinstance(body.get("label"), str):
        raise fail(404, "OBJECT_NOT_FOUND", f"No association label {body.get('associationTypeId')}")
    spec["label"] = body["label"]
    return no_content()


def delete_label(call: HsCall, from_name: str, to_name: str, type_id: str) -> Any:
    from_type, to_type = object_type_of(from_name), object_type_of(to_name)
    pair = call.state.user_labels.get((from_type, to_type), {})
    spec = pair.pop(int(type_id), None) if type_id.isdigit() else None
    if spec is None:
        raise fail(404, "OBJECT_NOT_FOUND", f"No association label {type_id}")
    call.state.user_labels.get((to_type, from_type), {}).pop(int(spec["inverse"]), None)
    return no_content()
