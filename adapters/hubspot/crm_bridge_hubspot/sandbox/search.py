"""HubSpot CRM search: ``POST /crm/v3/objects/{type}/search``.

Limits from HubSpot's search guide: at most 5 filterGroups (ORed) of at most 6 filters (ANDed),
18 filters in all, one sort, ``limit`` up to 200, ``query`` up to 3000 characters, and no paging
past 10,000 results (HTTP 400). Archived records never match; with ``search_delay`` set, records
changed less than that many seconds ago are not yet searchable, as in HubSpot's eventual index.
"""

from __future__ import annotations

import bisect
import itertools
import re
from typing import Any

from crm_bridge_hubspot.sandbox.objects import object_type_of, render
from crm_bridge_hubspot.sandbox.store import resolve_type
from crm_bridge_hubspot.sandbox.values import to_millis
from crm_bridge_hubspot.sandbox.wire import HsCall, fail, ok

MAX_GROUPS, MAX_FILTERS_PER_GROUP, MAX_FILTERS = 5, 6, 18
MAX_LIMIT, RESULT_CAP, MAX_QUERY = 200, 10_000, 3000
OPERATORS = {
    "EQ",
    "NEQ",
    "LT",
    "LTE",
    "GT",
    "GTE",
    "BETWEEN",
    "IN",
    "NOT_IN",
    "HAS_PROPERTY",
    "NOT_HAS_PROPERTY",
    "CONTAINS_TOKEN",
    "NOT_CONTAINS_TOKEN",
}
TEXT_FIELDS = {
    "contacts": ["firstname", "lastname", "email", "phone", "company"],
    "companies": ["name", "domain", "phone"],
    "deals": ["dealname"],
    "tasks": ["hs_task_subject", "hs_task_body"],
}


def search(call: HsCall, type_name: str) -> Any:
    object_type = object_type_of(type_name)
    body = call.json_body()
    groups = _groups(body.get("filterGroups") or [])
    sort = _sort(body.get("sorts") or [])
    limit = body.get("limit", 10)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise fail(400, "VALIDATION_ERROR", f"limit must be between 1 and {MAX_LIMIT}")
    after_raw = str(body.get("after") or "0")
    if not after_raw.isdigit():
        raise fail(400, "VALIDATION_ERROR", f"Invalid paging cursor: {after_raw}")
    after = int(after_raw)
    if after >= RESULT_CAP:
        message = f"The search API can only page through the first {RESULT_CAP} results; after={after}"
        raise fail(400, "VALIDATION_ERROR", message)
    text = body.get("query")
    if text is not None and (not isinstance(text, str) or len(text) > MAX_QUERY):
        raise fail(400, "VALIDATION_ERROR", f"query must be a string of at most {MAX_QUERY} characters")
    schema = call.state.properties[object_type]
    for group in groups:
        for flt in group:
            name = flt["propertyName"]
            if not name.startswith("associations.") and name not in schema:
                raise fail(400, "VALIDATION_ERROR", f"Property {name} does not exist for {object_type}")
    matches = []
    for record in _candidates(call.state.objects[object_type], groups):
        if (
            record["archived"]
            or call.state.indexed_at.get((object_type, record["id"]), 0) > call.now - call.state.search_delay
        ):
            continue
        if groups and not any(all(_match(call, object_type, record, f) for f in group) for group in groups):
            continue
        if text and not _text(record, TEXT_FIELDS[object_type], text):
            continue
        matches.append(record)
    matches.sort(key=lambda r: int(r["id"]))
    if sort is not None:
        name, descending = sort
        kind = schema.get(name, {}).get("type", "string")
        present = [r for r in matches if r["properties"].get(name) not in (None, "")]
        absent = [r for r in matches if r["properties"].get(name) in (None, "")]
        present.sort(key=lambda r: _key(kind, r["properties"][name]), reverse=descending)
        matches = present + absent
    page = matches[after : after + limit]
    properties = body.get("properties") or None
    result: dict[str, Any] = {
        "total": len(matches),
        "results": [render(call.state, object_type, r, properties) for r in page],
    }
    if after + limit < len(matches):
        result["paging"] = {"next": {"after": str(after + limit)}}
    return ok(result, records=len(page))


def _id_bounds(group: list[dict[str, Any]]) -> tuple[int, int | None]:
    """The ``hs_object_id`` range a group's filters allow (inclusive; None = no upper end)."""
    lo, hi = 0, None
    for flt in group:
        if flt["propertyName"] != "hs_object_id":
            continue
        try:
            value = int(str(flt.get("value", "")))
            high = int(str(flt.get("highValue", value)))
        except ValueError:
            continue
        op = flt["operator"]
        if op in ("GT", "GTE", "EQ", "BETWEEN"):
            lo = max(lo, value + 1 if op == "GT" else value)
        if op in ("LT", "LTE", "EQ", "BETWEEN"):
            top = value - 1 if op == "LT" else high if op == "BETWEEN" else value
            hi = top if hi is None else min(hi, top)
    return lo, hi


def _candidates(stored: dict[str, dict[str, Any]], groups: list[list[dict[str, Any]]]) -> Any:
    """The records a search has to look at: with ``hs_object_id`` bounds in every group, only those in
    the id range (records are kept in ascending id order: found by bisection), else all. The filters
    are still applied to each one; this only spares the emulator a scan of the whole account."""
    if not groups:
        return stored.values()
    bounds = [_id_bounds(g) for g in groups]
    lo = min(b[0] for b in bounds)
    his = [b[1] for b in bounds]
    if lo == 0 and any(h is None for h in his):
        return stored.values()
    hi = None if any(h is None for h in his) else max(h for h in his if h is not None)
    position = bisect.bisect_left(list(stored), lo, key=int)
    taken = itertools.islice(stored.values(), position, None)
    return taken if hi is None else itertools.takewhile(lambda r: int(r["id"]) <= hi, taken)


def _groups(raw: Any) -> list[list[dict[str, Any]]]:
    if not isinstance(raw, list) or len(raw) > MAX_GROUPS:
        raise fail(400, "VALIDATION_ERROR", f"At most {MAX_GROUPS} filterGroups are allowed")
    groups, total = [], 0
    for group in raw:
        filters = group.get("filters") if isinstance(group, dict) else None
        if not isinstance(filters, list) or len(filters) > MAX_FILTERS_PER_GROUP:
            raise fail(
                400, "VALIDATION_ERROR", f"A filterGroup may hold at most {MAX_FILTERS_PER_GROUP} filters"
            )
        for flt in filters:
            if (
                not isinstance(flt, dict)
                or not flt.get("propertyName")
                or flt.get("operator") not in OPERATORS
            ):
                raise fail(400, "VALIDATION_ERROR", f"Invalid filter: {flt}")
        total += len(filters)
        groups.append(filters)
    if total > MAX_FILTERS:
        raise fail(400, "VALIDATION_ERROR", f"At most {MAX_FILTERS} filters are allowed in total")
    return groups


def _sort(raw: Any) -> tuple[str, bool] | None:
    if not isinstance(raw, list) or len(raw) > 1:
        raise fail(400, "VALIDATION_ERROR", "Only one sort is allowed")
    if not raw:
        return None
    item = raw[0]
    if isinstance(item, str):
        return item.lstrip("-"), item.startswith("-")
    if isinstance(item, dict) and item.get("propertyName"):
        return item["propertyName"], str(item.get("direction", "ASCENDING")).upper() == "DESCENDING"
    raise fail(400, "VALIDATION_ERROR", f"Invalid sort: {item}")


def _key(kind: str, value: str) -> Any:
    if kind in ("number",):
        try:
            return float(value)
        except ValueError:
            return 0.0
    if kind in ("date", "datetime"):
        return to_millis(value) or 0
    return value.lower()


def _match(call: HsCall, object_type: str, record: dict[str, Any], flt: dict[str, Any]) -> bool:
    name, op = flt["propertyName"], flt["operator"]
    if name.startswith("associations."):
        to_type = resolve_type(name.split(".", 1)[1])
        linked = set(call.state.associated(object_type, record["id"], to_type)) if to_type else set()
        wanted = [str(v) for v in flt.get("values") or [flt.get("value")]]
        hit = any(w in linked for w in wanted)
        return hit if op in ("EQ", "IN") else not hit if op in ("NEQ", "NOT_IN") else bool(linked)
    value = record["properties"].get(name) or ""
    if op == "HAS_PROPERTY":
        return value != ""
    if op == "NOT_HAS_PROPERTY":
        return value == ""
    kind = call.state.properties[object_type][name]["type"]
    if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        pattern = re.escape(str(flt.get("value", "")).lower()).replace(r"\*", ".*")
        hit = any(re.fullmatch(pattern, token) for token in re.split(r"[\s,;@.]+", value.lower()) if token)
        hit = hit or bool(re.fullmatch(pattern, value.lower()))
        return hit if op == "CONTAINS_TOKEN" else not hit
    if op in ("IN", "NOT_IN"):
        options = {str(v).lower() for v in flt.get("values") or []}
        hit = value.lower() in options or any(part.lower() in options for part in value.split(";"))
        return hit if op == "IN" else not hit
    if value == "":
        return bool(op == "NEQ")
    left = _key(kind, value)
    right = _key(kind, str(flt.get("value", "")))
    if op == "EQ":
        return bool(left == right)
    if op == "NEQ":
        return bool(left != right)
    if op == "BETWEEN":
        return bool(right <= left <= _key(kind, str(flt.get("highValue", ""))))
    return bool({"LT": left < right, "LTE": left <= right, "GT": left > right, "GTE": left >= right}[op])


def _text(record: dict[str, Any], fields: list[str], text: str) -> bool:
    needle = text.lower().strip()
    for name in fields + ["hs_object_id"]:
        value = (record["properties"].get(name) or "").lower()
        if value.startswith(needle) or any(t.startswith(needle) for t in re.split(r"[\s@.]+", value)):
            return True
    return False
