"""Bitrix24 list semantics shared by every ``*.list`` method: filter keys with prefix operators,
``order``, ``select`` masks and 50-row pages with ``start``/``next``/``total`` (``start=-1`` skips the
count). Reference: b24restdocs crm/deals/crm-deal-list.md, settings/how-to-call-rest-api/
list-methods-pecularities.md, settings/performance/huge-data.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from crm_bridge.sandbox.bitrix24_state import B24Error, parse_time

PAGE = 50
# Longest operators first so ">=" is not read as ">".
_OPERATORS = ("!@", ">=", "<=", "!=", "=%", "%=", "!%", ">", "<", "@", "%", "!", "=")


@dataclass
class Answer:
    """A method's result plus the list extras and the number of records touched (for latency)."""

    result: Any
    total: int | None = None
    next: int | None = None
    records: int = 0
    cost: float = 0.0  # emulated processing seconds (the ``time`` block and the operating budget)


def split_key(key: str) -> tuple[str, str]:
    for op in _OPERATORS:
        if key.startswith(op):
            return op, key[len(op) :]
    return "=", key


def _coerce(a: Any, b: Any) -> tuple[Any, Any]:
    """Compare as numbers when both are numbers, as times when both are dates, else as text."""
    if isinstance(a, bool) or isinstance(b, bool):
        return str(a), str(b)
    try:
        return Decimal(str(a)), Decimal(str(b))
    except (InvalidOperation, ValueError):
        pass
    ta, tb = parse_time(a), parse_time(b)
    if ta is not None and tb is not None:
        return ta, tb
    return str(a).lower(), str(b).lower()


def _eq(a: Any, b: Any) -> bool:
    if a in (None, "") and b in (None, "", False):
        return True
    if a is None or b is None:
        return False
    if isinstance(a, list):
        return any(_eq(x, b) for x in a)
    x, y = _coerce(a, b)
    return bool(x == y)


def matches(
    row: dict[str, Any], filters: dict[str, Any], value_of: Callable[[dict[str, Any], str], Any]
) -> bool:
    for key, expected in filters.items():
        op, name = split_key(str(key))
        actual = value_of(row, name.upper())
        if op in ("@", "!@"):
            values = expected if isinstance(expected, list) else [expected]
            hit = any(_eq(actual, v) for v in values)
            if hit == (op == "!@"):
                return False
            continue
        if op in ("%", "=%", "%=", "!%"):
            text, needle = str(actual or "").lower(), str(expected).lower().strip("%")
            hit = needle in text
            if hit == (op == "!%"):
                return False
            continue
        if op in ("=",):
            if isinstance(expected, list):
                if not any(_eq(actual, v) for v in expected):
                    return False
            elif not _eq(actual, expected):
                return False
            continue
        if op in ("!", "!="):
            if _eq(actual, expected):
                return False
            continue
        if actual in (None, ""):
            return False
        x, y = _coerce(actual, expected)
        try:
            ok = {">": x > y, ">=": x >= y, "<": x < y, "<=": x <= y}[op]
        except TypeError:
            ok = False
        if not ok:
            return False
    return True


def sort_rows(
    rows: list[dict[str, Any]], order: dict[str, Any] | None, value_of: Callable[[dict[str, Any], str], Any]
) -> list[dict[str, Any]]:
    order = order or {"ID": "ASC"}
    for name, direction in reversed(list(order.items())):
        if str(direction).upper() not in ("ASC", "DESC"):
            raise B24Error(400, "", f"Invalid sort direction for field {name}")

        def key(row: dict[str, Any], field: str = str(name).upper()) -> tuple[int, Any]:
            value = value_of(row, field)
            if value in (None, ""):
                return (0, Decimal(0))
            try:
                return (1, Decimal(str(value)))
            except (InvalidOperation, ValueError):
                ts = parse_time(value)
                return (1, Decimal(str(ts))) if ts is not None else (2, str(value))

        rows.sort(key=key, reverse=str(direction).upper() == "DESC")
    return rows


def page(
    rows: Iterable[dict[str, Any]], start: Any, render: Callable[[dict[str, Any]], dict[str, Any]]
) -> Answer:
    """Cut a 50-row page. ``start=-1`` returns the first 50 without ``total``/``next``."""
    try:
        offset = int(start or 0)
    except (TypeError, ValueError):
        raise B24Error(400, "INVALID_ARG_VALUE", "Invalid value of the start parameter") from None
    items = list(rows)
    if offset < 0:
        chunk = items[:PAGE]
        return Answer([render(r) for r in chunk], records=len(chunk))
    chunk = items[offset : offset + PAGE]
    nxt = offset + PAGE if offset + PAGE < len(items) else None
    return Answer([render(r) for r in chunk], total=len(items), next=nxt, records=len(chunk))
