"""HubSpot properties, property groups and owners: ``/crm/v3/properties/{type}[/groups]`` and
``/crm/v3/owners``. Enumeration properties carry options whose *value* is what records store;
``hasUniqueValue`` is fixed at creation and makes the property usable as ``idProperty``."""

from __future__ import annotations

import re
from typing import Any

from crm_bridge_hubspot.sandbox.objects import object_type_of
from crm_bridge_hubspot.sandbox.store import iso, property_model
from crm_bridge_hubspot.sandbox.wire import HsCall, bool_param, csv_param, fail, int_param, no_content, ok
from crm_bridge_hubspot.sandbox.wire import standard_error as _std

TYPES = {
    "string": {"text", "textarea", "html", "phonenumber", "file", "select", "radio"},
    "number": {"number", "calculation_equation"},
    "date": {"date"},
    "datetime": {"date"},
    "enumeration": {"select", "radio", "checkbox", "booleancheckbox"},
    "bool": {"booleancheckbox"},
    "phone_number": {"phonenumber"},
}
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_UPDATABLE = (
    "label",
    "description",
    "groupName",
    "displayOrder",
    "hidden",
    "formField",
    "fieldType",
    "type",
    "numberDisplayHint",
    "textDisplayHint",
    "showCurrencySymbol",
    "currencyPropertyName",
)


def _visible(props: dict[str, dict[str, Any]], archived: bool) -> list[dict[str, Any]]:
    return [p for p in props.values() if bool(p.get("archived", False)) == archived]


def list_properties(call: HsCall, type_name: str) -> Any:
    object_type = object_type_of(type_name)
    found = _visible(call.state.properties[object_type], bool_param(call.query, "archived"))
    return ok({"results": found}, records=len(found))


def _new_property(call: HsCall, object_type: str, data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise fail(400, "VALIDATION_ERROR", "Invalid input JSON: expected an object")
    missing = [k for k in ("name", "label", "type", "fieldType", "groupName") if not data.get(k)]
    if missing:
        raise fail(400, "VALIDATION_ERROR", f"Missing required fields: {missing}")
    name, kind, field_type = data["name"], data["type"], data["fieldType"]
    if not _NAME.match(name):
        raise fail(
            400, "VALIDATION_ERROR", f"Property name {name!r} must be lower-case letters, digits and _"
        )
    if kind not in TYPES or field_type not in TYPES[kind]:
        raise fail(400, "VALIDATION_ERROR", f"fieldType {field_type} is not valid for type {kind}")
    if data["groupName"] not in call.state.groups[object_type]:
        raise fail(400, "VALIDATION_ERROR", f"Property group {data['groupName']} does not exist")
    if name in call.state.properties[object_type]:
        raise fail(409, "CONFLICT", f"Property named '{name}' already exists.")
    # an owner picker (externalOptions + referencedObjectType OWNER) takes its options from the owners
    picker = bool(data.get("externalOptions"))
    options = _options(data.get("options"), required=kind == "enumeration" and not picker)
    extra = {
        k: data[k]
        for k in (
            "description",
            "displayOrder",
            "hidden",
            "formField",
            "hasUniqueValue",
            "externalOptions",
            "referencedObjectType",
            "dataSensitivity",
        )
        if k in data
    }
    return property_model(
        name, data["label"], kind, field_type, data["groupName"], call.now, options=options, **extra
    )


def _options(raw: Any, *, required: bool) -> list[dict[str, Any]]:
    if raw is None:
        raw = []
    if not isinstance(raw, list) or (required and not raw):
        raise fail(400, "VALIDATION_ERROR", "Enumeration properties need at least one option")
    options = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or not item.get("label") or item.get("value") in (None, ""):
            raise fail(400, "VALIDATION_ERROR", f"Option {i} needs a label and a value")
        options.append(
            {
                "label": item["label"],
                "value": str(item["value"]),
                "displayOrder": item.get("displayOrder", i),
                "hidden": bool(item.get("hidden", False)),
                **({"description": item["description"]} if item.get("description") else {}),
            }
        )
    values = [o["value"] for o in options]
    if len(set(values)) != len(values):
        raise fail(400, "VALIDATION_ERROR", "Option values must be unique")
    return options


def create_property(call: HsCall, type_name: str) -> Any:
    object_type = object_type_of(type_name)
    model = _new_property(call, object_type, call.json_body())
    call.state.properties[object_type][model["name"]] = model
    return ok(model, status=201, records=1)


def _property(call: HsCall, object_type: str, name: str) -> dict[str, Any]:
    model = call.state.properties[object_type].get(name)
    if model is None or bool(model.get("archived")) != bool_param(call.query, "archived"):
        raise fail(404, "OBJECT_NOT_FOUND", f"Unable to find property with name: {name}")
    return model


def get_property(call: HsCall, type_name: str, name: str) -> Any:
    return ok(_property(call, object_type_of(type_name), name), records=1)


def update_property(call: HsCall, type_name: str, name: str) -> Any:
    object_type = object_type_of(type_name)
    model = _property(call, object_type, name)
    data = call.json_body()
    if model["hubspotDefined"] and set(data) - {"label", "description", "displayOrder", "options"}:
        raise fail(400, "VALIDATION_ERROR", f"HubSpot-defined property {name} cannot change that way")
    kind, field_type = data.get("type", model["type"]), data.get("fieldType", model["fieldType"])
    if kind not in TYPES or field_type not in TYPES[kind]:
        raise fail(400, "VALIDATION_ERROR", f"fieldType {field_type} is not valid for type {kind}")
    if "groupName" in data and data["groupName"] not in call.state.groups[object_type]:
        raise fail(400, "VALIDATION_ERROR", f"Property group {data['groupName']} does not exist")
    if "options" in data:
        model["options"] = _options(data["options"], required=kind == "enumeration")
    for key in _UPDATABLE:
        if key in data:
            model[key] = data[key]
    model["updatedAt"] = iso(call.now)
    return ok(model, records=1)


def archive_property(call: HsCall, type_name: str, name: str) -> Any:
    object_type = object_type_of(type_name)
    model = _property(call, object_type, name)
    if model["hubspotDefined"]:
        raise fail(400, "VALIDATION_ERROR", f"HubSpot-defined property {name} cannot be archived")
    model["archived"] = True
    model["archivedAt"] = iso(call.now)
    return no_content()


def batch_properties(call: HsCall, type_name: str, action: str) -> Any:
    object_type = object_type_of(type_name)
    inputs = call.json_body().get("inputs")
    if not isinstance(inputs, list):
        raise fail(400, "VALIDATION_ERROR", "Invalid input JSON: inputs must be an array")
    results, errors = [], []
    for item in inputs:
        if action == "create":
            try:
                model = _new_property(call, object_type, item)
            except Exception as exc:  # one bad input becomes one entry of the 207 answer
                body = getattr(getattr(exc, "response", None), "body", {}) or {}
                errors.append(
                    _std(
                        400,
                        body.get("category", "VALIDATION_ERROR"),
                        body.get("message", ""),
                        {"name": [str((item or {}).get("name"))]},
                    )
                )
                continue
            call.state.properties[object_type][model["name"]] = model
            results.append(model)
            continue
        name = str((item or {}).get("name"))
        found = call.state.properties[object_type].get(name)
        if action == "archive":
            if found is not None and not found["hubspotDefined"]:
                found.update({"archived": True, "archivedAt": iso(call.now)})
            continue
        if found is None or bool(found.get("archived")) != bool(call.json_body().get("archived", False)):
            errors.append(
                _std(404, "OBJECT_NOT_FOUND", f"Unable to find property with name: {name}", {"name": [name]})
            )
        else:
            results.append(found)
    if action == "archive":
        return no_content()
    answer: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": iso(call.now),
        "completedAt": iso(call.now),
    }
    if errors:
        answer.update({"numErrors": len(errors), "errors": errors})
    return ok(answer, status=207 if errors else 201 if action == "create" else 200, records=len(results))


def list_groups(call: HsCall, type_name: str) -> Any:
    groups = [g for g in call.state.groups[object_type_of(type_name)].values() if not g["archived"]]
    return ok({"results": groups}, records=len(groups))


def _group(call: HsCall, object_type: str, name: str) -> dict[str, Any]:
    group = call.state.groups[object_type].get(name)
    if group is None or group["archived"]:
        raise fail(404, "OBJECT_NOT_FOUND", f"Unable to find property group with name: {name}")
    return group


def create_group(call: HsCall, type_name: str) -> Any:
    object_type = object_type_of(type_name)
    data = call.json_body()
    if not data.get("name") or not data.get("label"):
        raise fail(400, "VALIDATION_ERROR", "Property groups need a name and a label")
    if not _NAME.match(data["name"]):
        raise fail(
            400, "VALIDATION_ERROR", f"Group name {data['name']!r} must be lower-case letters, digits and _"
        )
    if (
        data["name"] in call.state.groups[object_type]
        and not call.state.groups[object_type][data["name"]]["archived"]
    ):
        raise fail(409, "CONFLICT", f"Property group named '{data['name']}' already exists.")
    group = {
        "name": data["name"],
        "label": data["label"],
        "displayOrder": data.get("displayOrder", -1),
        "archived": False,
    }
    call.state.groups[object_type][group["name"]] = group
    return ok(group, status=201, records=1)


def get_group(call: HsCall, type_name: str, name: str) -> Any:
    return ok(_group(call, object_type_of(type_name), name), records=1)


def update_group(call: HsCall, type_name: str, name: str) -> Any:
    group = _group(call, object_type_of(type_name), name)
    data = call.json_body()
    for key in ("label", "displayOrder"):
        if key in data:
            group[key] = data[key]
    return ok(group, records=1)


def archive_group(call: HsCall, type_name: str, name: str) -> Any:
    _group(call, object_type_of(type_name), name)["archived"] = True
    return no_content()


def list_owners(call: HsCall) -> Any:
    limit = int_param(call.query, "limit", 100)
    if not 1 <= limit <= 500:
        raise fail(400, "VALIDATION_ERROR", "limit must be between 1 and 500")
    archived = bool_param(call.query, "archived")
    emails = csv_param(call.query, "email")
    email = emails[0] if emails else None
    owners = sorted(
        (
            o
            for o in call.state.owners.values()
            if o["archived"] == archived and (email is None or o["email"] == email)
        ),
        key=lambda o: int(o["id"]),
    )
    after = call.query.get("after", [""])[0]
    if after:
        owners = [o for o in owners if int(o["id"]) >= int(after)] if after.isdigit() else []
    body: dict[str, Any] = {"results": owners[:limit]}
    if len(owners) > limit:
        cursor = owners[limit]["id"]
        body["paging"] = {"next": {"after": cursor, "link": f"{call.base}/crm/v3/owners?after={cursor}"}}
    return ok(body, records=len(body["results"]))


def get_owner(call: HsCall, key: str) -> Any:
    by_user = call.query.get("idProperty", ["id"])[0] == "userId"
    archived = bool_param(call.query, "archived")
    for owner in call.state.owners.values():
        if (str(owner["userId"]) if by_user else owner["id"]) == key and owner["archived"] == archived:
            return ok(owner, records=1)
    raise fail(404, "OBJECT_NOT_FOUND", f"Unable to find owner with id: {key}")
