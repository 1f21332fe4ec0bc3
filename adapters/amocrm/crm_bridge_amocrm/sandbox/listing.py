"""amoCRM list mechanics shared by records and tasks: the Filters API (ids, ranges ``{from,to}``,
statuses, custom field values, ``query``), ``order[field]=asc|desc`` and ``page``/``limit`` paging."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

from crm_bridge.sandbox.core import SandboxResponse
from crm_bridge_amocrm.sandbox.store import MAX_BATCH, AmoState, Call
from crm_bridge_amocrm.sandbox.wire import as_int, as_int_list, no_content

ORDER_FIELDS = ("created_at", "updated_at", "id", "complete_till")
_INT_LIST = ("id", "created_by", "updated_by", "responsible_user_id", "pipeline_id", "entity_id", "task_type")
_RANGES = ("created_at", "updated_at", "closed_at", "closest_task_at", "complete_till", "price")


def page_of(
    call: Call,
    path: str,
    key: str,
    records: list[dict[str, Any]],
    render: Callable[[dict[str, Any]], dict[str, Any]],
    *,
    totals: bool = False,
) -> SandboxResponse:
    """One page in amoCRM's HAL shape; HTTP 204 with no body when the page is empty."""
    if call.modified_since is not None:  # Kommo "Limitations": lists honour If-Modified-Since
        records = [r for r in records if r.get("updated_at", 0) > call.modified_since]
    ordered = _order(records, call.query.get("order"))
    page = max(as_int(call.query.get("page")) or 1, 1)
    limit = min(max(as_int(call.query.get("limit")) or 50, 1), MAX_BATCH)
    chunk = ordered[(page - 1) * limit : page * limit]
    if not chunk:
        return no_content()
    links: dict[str, Any] = {"self": {"href": _href(call, path, page, limit)}}
    if page * limit < len(ordered):
        links["next"] = {"href": _href(call, path, page + 1, limit)}
    body: dict[str, Any] = {}
    if totals:
        body["_total_items"] = len(ordered)
    body["_page"] = page
    if totals:
        body["_page_count"] = -(-len(ordered) // limit)
    body["_links"] = links
    body["_embedded"] = {key: [render(r) for r in chunk]}
    return SandboxResponse(body=body, records=len(chunk))


def _href(call: Call, path: str, page: int, limit: int) -> str:
    pairs = [(k, v) for k, values in call.raw_query.items() if k not in ("page", "limit") for v in values]
    pairs += [("page", str(page)), ("limit", str(limit))]
    return f"{call.base}{path}?{urlencode(pairs, quote_via=quote, safe='[]')}"


def _order(records: list[dict[str, Any]], order: Any) -> list[dict[str, Any]]:
    result = sorted(records, key=lambda r: r["id"])
    if isinstance(order, dict):
        for field, direction in reversed(list(order.items())):
            if field in ORDER_FIELDS:
                desc = str(direction).lower() == "desc"
                result.sort(key=_by(field), reverse=desc)
    return result


def _by(field: str) -> Callable[[dict[str, Any]], tuple[bool, Any]]:
    return lambda record: (record.get(field) is None, record.get(field) or 0)


def filter_of(query: dict[str, Any]) -> dict[str, Any]:
    """The ``filter[...]`` part of a parsed query ({} when absent or malformed)."""
    flt = query.get("filter")
    return flt if isinstance(flt, dict) else {}


def in_range(value: Any, condition: Any) -> bool:
    """``filter[x]=5`` (equality) or ``filter[x][from]=1&filter[x][to]=9`` (inclusive)."""
    if isinstance(condition, dict):
        low, high = as_int(condition.get("from")), as_int(condition.get("to"))
        if value is None:
            return False
        return (low is None or value >= low) and (high is None or value <= high)
    wanted = as_int_list(condition)
    return not wanted or value in wanted


def matches_common(record: dict[str, Any], flt: dict[str, Any]) -> bool:
    for key in _INT_LIST:
        if key in flt and key in record:
            wanted = as_int_list(flt[key])
            if wanted and record[key] not in wanted:
                return False
    for key in _RANGES:
        if key in flt and key in record and not in_range(record[key], flt[key]):
            return False
    return True


def candidates(state: AmoState, entity: str, query: dict[str, Any]) -> list[dict[str, Any]]:
    """The records a list may return: narrowed by ``filter[updated_at][from/to]`` through an index
    sorted by updated_at (rebuilt after writes), like the CRM's own database index."""
    rows = state.records[entity]
    by_value = _by_field_value(state, entity, filter_of(query).get("custom_fields_values"))
    if by_value is not None:
        return [rows[rid] for rid in sorted(by_value) if rid in rows]
    condition = filter_of(query).get("updated_at")
    if not isinstance(condition, dict):
        return list(rows.values())
    cached = state.index.get(entity)
    if cached is None or cached[0] != state.mutations:
        ordered = sorted((r.get("updated_at") or 0, r["id"]) for r in rows.values())
        cached = (state.mutations, ordered, [u for u, _ in ordered])
        state.index[entity] = cached
    _, ordered, stamps = cached
    low, high = as_int(condition.get("from")), as_int(condition.get("to"))
    start = bisect_left(stamps, low) if low is not None else 0
    end = bisect_right(stamps, high) if high is not None else len(stamps)
    return [rows[rid] for _, rid in ordered[start:end] if rid in rows]


def _by_field_value(state: AmoState, entity: str, condition: Any) -> set[int] | None:
    """Ids of records whose field holds one of the wanted values (``filter[custom_fields_values]
    [<field id>][]=…`` on one field), through an index rebuilt after writes; None: no such filter."""
    if not isinstance(condition, dict) or len(condition) != 1:
        return None
    [(raw_id, wanted)] = condition.items()
    field_id = as_int(raw_id)
    if field_id is None or (isinstance(wanted, dict) and ("from" in wanted or "to" in wanted)):
        return None
    key = f"{entity}:{field_id}"
    cached = state.index.get(key)
    if cached is None or cached[0] != state.mutations:
        table: dict[str, set[int]] = {}
        for record in state.records[entity].values():
            for entry in record.get("custom_fields_values") or []:
                if entry["field_id"] == field_id:
                    for value in entry["values"]:
                        for text in {str(value.get("value")), str(value.get("enum_id"))}:
                            table.setdefault(text, set()).add(record["id"])
        cached = (state.mutations, table)
        state.index[key] = cached
    options = (
        wanted
        if isinstance(wanted, list)
        else list(wanted.values())
        if isinstance(wanted, dict)
        else [wanted]
    )
    found: set[int] = set()
    for option in options:
        found |= cached[1].get(str(option), set())
    return found


def record_filter(state: AmoState, entity: str, query: dict[str, Any]) -> Callable[[dict[str, Any]], bool]:
    """``matches_filter`` for one query, its conditions parsed once (lists scan every record)."""
    flt = filter_of(query)
    ints = {k: set(w) for k in _INT_LIST if k in flt and (w := as_int_list(flt[k]))}
    bounds: dict[str, tuple[int | None, int | None]] = {}
    equal: dict[str, set[int]] = {}
    for key in _RANGES:
        if key not in flt:
            continue
        condition = flt[key]
        if isinstance(condition, dict):
            bounds[key] = (as_int(condition.get("from")), as_int(condition.get("to")))
        elif wanted := as_int_list(condition):
            equal[key] = set(wanted)
    simple = set(flt) <= set(_INT_LIST) | set(_RANGES) and query.get("query") in (None, "")
    if not simple or (entity == "leads" and "statuses" in flt):
        return lambda record: matches_filter(state, entity, record, query)

    def test(record: dict[str, Any]) -> bool:
        for key, wanted in ints.items():
            if key in record and record[key] not in wanted:
                return False
        for key, (low, high) in bounds.items():
            if key not in record:
                continue
            value = record[key]
            if value is None or (low is not None and value < low) or (high is not None and value > high):
                return False
        return all(record.get(key) in wanted for key, wanted in equal.items() if key in record)

    return test


def matches_filter(state: AmoState, entity: str, record: dict[str, Any], query: dict[str, Any]) -> bool:
    flt = filter_of(query)
    if not matches_common(record, flt):
        return False
    if "name" in flt:
        names = (
            flt["name"]
            if isinstance(flt["name"], list)
            else list(flt["name"].values())
            if isinstance(flt["name"], dict)
            else [flt["name"]]
        )
        if record["name"] not in names:
            return False
    if entity == "leads" and "statuses" in flt and not _in_statuses(record, flt["statuses"]):
        return False
    if "custom_fields_values" in flt and not _cf_match(record, flt["custom_fields_values"]):
        return False
    text = query.get("query")
    if text not in (None, "") and not _text_match(record, str(text)):
        return False
    return True


def _in_statuses(record: dict[str, Any], statuses: Any) -> bool:
    items = (
        statuses.values() if isinstance(statuses, dict) else statuses if isinstance(statuses, list) else []
    )
    pairs = [(as_int(s.get("pipeline_id")), as_int(s.get("status_id"))) for s in items if isinstance(s, dict)]
    return not pairs or (record["pipeline_id"], record["status_id"]) in pairs


def _cf_match(record: dict[str, Any], condition: Any) -> bool:
    if not isinstance(condition, dict):
        return True
    values = {v["field_id"]: v["values"] for v in record.get("custom_fields_values") or []}
    for raw_id, wanted in condition.items():
        stored = values.get(as_int(raw_id) or -1, [])
        texts = [str(v.get("value")) for v in stored] + [
            str(v.get("enum_id")) for v in stored if v.get("enum_id")
        ]
        if isinstance(wanted, dict) and ("from" in wanted or "to" in wanted):
            if not any(in_range(as_int(t), wanted) for t in texts if as_int(t) is not None):
                return False
            continue
        options = (
            wanted
            if isinstance(wanted, list)
            else list(wanted.values())
            if isinstance(wanted, dict)
            else [wanted]
        )
        if not any(str(o) in texts for o in options):
            return False
    return True


def _text_match(record: dict[str, Any], text: str) -> bool:
    needle = text.lower()
    haystack = [str(record.get("id")), str(record.get("name", ""))]
    for field in record.get("custom_fields_values") or []:
        haystack.extend(str(v.get("value", "")) for v in field["values"])
    return any(needle in item.lower() for item in haystack)
