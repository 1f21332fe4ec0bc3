"""HubSpot CRM v3 objects (contacts, companies, deals, tasks): create with associations, read by id
or unique property, update, archive, and list with ``after`` cursor paging (limit 10 by default, 100 max).

Records render as ``SimplePublicObject``: ``{id, properties (all strings; requested-but-unset ones are
null), createdAt, updatedAt, archived}`` plus ``associations`` when asked for. A deal's stage changes
set HubSpot's calculated ``hs_date_entered_<stage id>`` / ``hs_date_exited_<stage id>`` properties,
which exist for every stage of every deal pipeline.
"""

from __future__ import annotations

import bisect
import itertools
from typing import Any

from crm_bridge_hubspot.sandbox.store import (
    CREATED_PROPERTY,
    DEFAULT_ASSOCIATION,
    DEFAULT_READ,
    LABELLED_ASSOCIATION,
    MODIFIED_PROPERTY,
    SINGULAR,
    STAGE_ENTERED,
    STAGE_EXITED,
    HsState,
    iso,
    resolve_type,
    stage_property,
)
from crm_bridge_hubspot.sandbox.values import clean_properties, find_by_unique, unique_key, unique_properties
from crm_bridge_hubspot.sandbox.wire import (
    HsCall,
    bool_param,
    csv_param,
    fail,
    int_param,
    no_content,
    not_found,
    ok,
)

MAX_PAGE = 100


def render(
    state: HsState,
    object_type: str,
    record: dict[str, Any],
    properties: list[str] | None = None,
    associations: list[str] | None = None,
    history: list[str] | None = None,
) -> dict[str, Any]:
    schema = state.properties[object_type]
    names = DEFAULT_READ[object_type] if properties is None else properties
    out: dict[str, Any] = {
        "id": record["id"],
        "properties": {
            n: record["properties"].get(n)
            for n in names
            if n in schema or (object_type == "deals" and stage_property(state, n))
        },
        "createdAt": record["createdAt"],
        "updatedAt": record["updatedAt"],
        "archived": record["archived"],
    }
    if record["archived"]:
        out["archivedAt"] = record["archivedAt"]
    if history:
        out["propertiesWithHistory"] = {n: list(record["history"].get(n, [])) for n in history if n in schema}
    linked: dict[str, Any] = {}
    for name in associations or []:
        to_type = resolve_type(name)
        if to_type is None:
            continue
        results: list[dict[str, Any]] = []
        for to_id, types in sorted(state.associated(object_type, record["id"], to_type).items(), key=_num):
            results.extend(
                {"id": to_id, "type": _v3_type(object_type, to_type, t, types)} for t in sorted(types)
            )
        if results:
            linked[to_type] = {"results": results}
    if linked:
        out["associations"] = linked
    return out


def _num(item: tuple[str, Any]) -> int:
    return int(item[0]) if item[0].isdigit() else 0


def _v3_type(from_type: str, to_type: str, type_id: int, types: dict[int, Any]) -> str:
    """v3 association names: ``deal_to_company``; the unlabeled type is ``..._unlabeled`` when the pair
    also carries a labelled (Primary) type."""
    base = f"{SINGULAR[from_type]}_to_{SINGULAR[to_type]}"
    labelled = LABELLED_ASSOCIATION.get((from_type, to_type), {})
    if type_id not in labelled and any(t in labelled for t in types):
        return f"{base}_unlabeled"
    return base


def object_type_of(name: str) -> str:
    object_type = resolve_type(name)
    if object_type is None:
        raise fail(400, "VALIDATION_ERROR", f"Unable to infer object type from: {name}")
    return object_type


def create_record(call: HsCall, object_type: str, payload: Any) -> dict[str, Any]:
    """Validate and store one ``SimplePublicObjectInputForCreate``; returns the stored record."""
    if not isinstance(payload, dict):
        raise fail(400, "VALIDATION_ERROR", "Invalid input JSON: expected an object")
    values = clean_properties(call.state, object_type, payload.get("properties"), creating=True)
    links = _check_associations(call.state, object_type, payload.get("associations") or [])
    rid = call.state.next_id()
    stamp = iso(call.now)
    record: dict[str, Any] = {
        "id": rid,
        "properties": {},
        "createdAt": stamp,
        "updatedAt": stamp,
        "archived": False,
        "history": {},
    }
    system = {"hs_object_id": rid, CREATED_PROPERTY[object_type]: stamp}
    _write(call, object_type, record, {**values, **system})
    for to_type, to_id, type_id, category in links:
        call.state.associate(object_type, rid, to_type, to_id, type_id, category)
    call.state.objects[object_type][rid] = record
    call.emit(object_type, "creation", rid)
    return record


def update_record(call: HsCall, object_type: str, record: dict[str, Any], raw: Any) -> dict[str, Any]:
    values = clean_properties(call.state, object_type, raw, creating=False, record=record)
    changed = {k: v for k, v in values.items() if record["properties"].get(k) != v}
    _write(call, object_type, record, values)
    for name, value in changed.items():
        call.emit(object_type, "propertyChange", record["id"], name, value)
    return record


def _write(call: HsCall, object_type: str, record: dict[str, Any], values: dict[str, str]) -> None:
    stamp = iso(call.now)
    values = {**values, MODIFIED_PROPERTY[object_type]: stamp, "hs_lastmodifieddate": stamp}
    before, after = record["properties"].get("dealstage"), values.get("dealstage")
    if object_type == "deals" and after and after != before:
        # HubSpot's calculated stage properties: when the deal entered its new stage and left the old
        # one (the latest time, when it does so again)
        values[f"{STAGE_ENTERED}{after}"] = stamp
        if before:
            values[f"{STAGE_EXITED}{before}"] = stamp
    for name, value in values.items():
        record["properties"][name] = value
        record["history"].setdefault(name, []).insert(
            0, {"value": value, "timestamp": stamp, "sourceType": "API"}
        )
    record["updatedAt"] = stamp
    call.state.indexed_at[(object_type, record["id"])] = call.now
    for (indexed_type, prop), index in call.state.unique_index.items():
        if indexed_type == object_type and values.get(prop):
            index[unique_key(prop, values[prop])] = record["id"]


def _check_associations(state: HsState, object_type: str, raw: Any) -> list[tuple[str, str, int, str]]:
    if not isinstance(raw, list):
        raise fail(400, "VALIDATION_ERROR", "Invalid input JSON: associations must be an array")
    links = []
    for item in raw:
        to_id = str(((item or {}).get("to") or {}).get("id", ""))
        for spec in (item or {}).get("types") or []:
            type_id, category = (
                spec.get("associationTypeId"),
                spec.get("associationCategory", "HUBSPOT_DEFINED"),
            )
            to_type = association_target(state, object_type, type_id)
            if to_type is None:
                raise fail(
                    400, "VALIDATION_ERROR", f"{type_id} is not a valid association type id for {object_type}"
                )
            target = state.objects[to_type].get(to_id)
            if target is None or target["archived"]:
                raise fail(400, "VALIDATION_ERROR", f"One or more associated objects do not exist: {to_id}")
            links.append((to_type, to_id, int(type_id), category))
    return links


def association_target(state: HsState, object_type: str, type_id: Any) -> str | None:
    for (src, dst), default in DEFAULT_ASSOCIATION.items():
        if src == object_type and (type_id == default or type_id in state.labels(src, dst)):
            return dst
    return None


def find(
    call: HsCall, object_type: str, key: str, id_property: str | None, archived: bool = False
) -> dict[str, Any] | None:
    if id_property and id_property != "hs_object_id":
        if id_property not in unique_properties(call.state, object_type):
            raise fail(400, "VALIDATION_ERROR", f"Property {id_property} is not a unique identifier property")
        return find_by_unique(call.state, object_type, id_property, key)
    record = call.state.objects[object_type].get(key)
    if record is None or record["archived"] != archived:
        return None
    return record


def _read_args(call: HsCall) -> dict[str, Any]:
    return {
        "properties": csv_param(call.query, "properties"),
        "associations": csv_param(call.query, "associations"),
        "history": csv_param(call.query, "propertiesWithHistory"),
    }


def post_object(call: HsCall, type_name: str) -> Any:
    object_type = object_type_of(type_name)
    body = call.json_body()
    record = create_record(call, object_type, body)
    names = sorted(set(DEFAULT_READ[object_type]) | set(record["properties"]))
    return ok(render(call.state, object_type, record, names), status=201, records=1)


def get_object(call: HsCall, type_name: str, key: str) -> Any:
    object_type = object_type_of(type_name)
    id_property = call.query.get("idProperty", [None])[0]
    record = find(call, object_type, key, id_property, bool_param(call.query, "archived"))
    if record is None:
        raise not_found(key)
    return ok(render(call.state, object_type, record, **_read_args(call)), records=1)


def patch_object(call: HsCall, type_name: str, key: str) -> Any:
    object_type = object_type_of(type_name)
    record = find(call, object_type, key, call.query.get("idProperty", [None])[0])
    if record is None:
        raise not_found(key)
    body = call.json_body()
    update_record(call, object_type, record, body.get("properties"))
    names = sorted(set(DEFAULT_READ[object_type]) | set((body.get("properties") or {}).keys()))
    return ok(render(call.state, object_type, record, names), records=1)


def archive_record(call: HsCall, object_type: str, record: dict[str, Any]) -> None:
    if not record["archived"]:
        record["archived"] = True
        record["archivedAt"] = iso(call.now)
        record["updatedAt"] = record["archivedAt"]
        call.emit(object_type, "deletion", record["id"])


def delete_object(call: HsCall, type_name: str, key: str) -> Any:
    object_type = object_type_of(type_name)
    record = call.state.objects[object_type].get(key)
    if record is not None:
        archive_record(call, object_type, record)
    return no_content()


def list_objects(call: HsCall, type_name: str) -> Any:
    object_type = object_type_of(type_name)
    limit = int_param(call.query, "limit", 10)
    if not 1 <= limit <= MAX_PAGE:
        raise fail(400, "VALIDATION_ERROR", f"limit must be between 1 and {MAX_PAGE}, got {limit}")
    archived = bool_param(call.query, "archived")
    after = call.query.get("after", [""])[0]
    start = int(after) if after.isdigit() else 0
    if after and not after.isdigit():
        raise fail(400, "VALIDATION_ERROR", f"Invalid paging cursor: {after}")
    # Records are stored in ascending id order (ids come from one growing sequence): find the cursor's
    # place by bisection and read on from there, so each page costs the page, not the whole account.
    stored = call.state.objects[object_type]
    position = bisect.bisect_left(list(stored), start, key=int)
    records: list[dict[str, Any]] = []
    for record in itertools.islice(stored.values(), position, None):
        if record["archived"] == archived:
            records.append(record)
            if len(records) > limit:
                break
    page, rest = records[:limit], records[limit:]
    args = _read_args(call)
    body: dict[str, Any] = {"results": [render(call.state, object_type, r, **args) for r in page]}
    if rest:
        cursor = rest[0]["id"]
        body["paging"] = {
            "next": {"after": cursor, "link": f"{call.base}/crm/v3/objects/{type_name}?after={cursor}"}
        }
    return ok(body, records=len(page))
