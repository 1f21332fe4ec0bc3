"""Bitrix24 list semantics shared by every ``*.list`` method: filter keys with prefix operators,
``order``, ``select`` masks and 50-row pages with ``start``/``next``/``total`` (``start=-1`` skips the
count and answers ``total: 0``). References: b24restdocs crm/deals/crm-deal-list.md, user/user-get.md,
settings/how-to-call-rest-api/list-methods-pecularities.md, settings/performance/huge-data.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from crm_bridge_bitrix24.sandbox.state import B24Error, parse_time

PAGE = 50
# Longest operators first so ">=" is not read as ">" (user-get.md lists "!=%" and "!%=" too).
_OPERATORS = ("!=%", "!%=", "!@", ">=", "<=", "!=", "=%", "%=", "!%", ">", "<", "@", "%", "!", "=")
_TRUE = {"true", "y", "1"}
_FALSE = {"false", "n", "0", ""}


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
    try:
        return Decimal(str(a)), Decimal(str(b))
    except (InvalidOperation, ValueError):
        pass
    ta, tb = parse_time(a), parse_time(b)
    if ta is not None and tb is not None:
        return ta, tb
    return str(a).lower(), str(b).lower()


def _eq(actual: Any, expected: Any) -> bool:
    if isinstance(actual, list):
        return any(_eq(x, expected) for x in actual)
    if isinstance(actual, bool) or isinstance(expected, bool):  # ACTIVE: true, "true", "Y", 1
        a, b = str(actual).lower(), str(expected).lower()
        return (a in _TRUE and b in _TRUE) or (a in _FALSE and b in _FALSE)
    if actual in (None, "") or expected in (None, ""):
        return actual in (None, "") and expected in (None, "", False)
    x, y = _coerce(actual, expected)
    return bool(x == y)


_SETS: dict[int, tuple[list[Any], frozenset[str] | None]] = {}


def _plain(value: Any) -> bool:
    """Text ``_eq`` compares as lower-cased text: no number, date or yes/no."""
    if not isinstance(value, str) or not value or value.lower() in _TRUE | _FALSE:
        return False
    try:
        Decimal(value)
        return False
    except (InvalidOperation, ValueError):
        pass
    return parse_time(value) is None


def _in(actual: Any, values: list[Any]) -> bool:
    """``@`` (IN): as ``_eq`` against each value, with a set lookup for plain text (ORIGIN_ID, codes)
    — a real portal answers an IN filter from an index, not by comparing every row with every value."""
    if _plain(actual):
        held = _SETS.get(id(values))
        if held is None or held[0] is not values:
            lowered = frozenset(v.lower() for v in values) if all(_plain(v) for v in values) else None
            held = (values, lowered)
            if len(_SETS) > 256:
                _SETS.clear()
            _SETS[id(values)] = held
        if held[1] is not None:
            return str(actual).lower() in held[1]
    return any(_eq(actual, v) for v in values)


def _like(actual: Any, pattern: str, *, wildcards: bool) -> bool:
    """LIKE: ``%`` looks for a substring; ``=%``/``%=`` take ``%`` wildcards in the value."""
    values = actual if isinstance(actual, list) else [actual]
    for value in values:
        text = str(value or "").lower()
        if not wildcards:
            if pattern.lower() in text:
                return True
            continue
        regex = "^" + ".*".join(re.escape(p) for p in pattern.lower().split("%")) + "$"
        if re.match(regex, text, re.DOTALL):
            return True
    return False


def matches(
    row: dict[str, Any], filters: dict[str, Any], value_of: Callable[[dict[str, Any], str], Any]
) -> bool:
    """True when ``row`` passes every filter key (AND), as Bitrix24 reads prefix operators."""
    for key, expected in filters.items():
        op, name = split_key(str(key))
        actual = value_of(row, name.upper())
        if op in ("@", "!@"):
            values = expected if isinstance(expected, list) else [expected]
            if _in(actual, values) == (op == "!@"):
                return False
        elif op in ("%", "!%"):
            if _like(actual, str(expected), wildcards=False) == (op == "!%"):
                return False
        elif op in ("=%", "%=", "!=%", "!%="):
            if _like(actual, str(expected), wildcards=True) == op.startswith("!"):
                return False
        elif op == "=":
            values = expected if isinstance(expected, list) else [expected]
            if not any(_eq(actual, v) for v in values):
                return False
        elif op in ("!", "!="):
            values = expected if isinstance(expected, list) else [expected]
            if any(_eq(actual, v) for v in values):
                return False
        elif not _compare(actual, expected, op):
            return False
    return True


def _compare(actual: Any, expected: Any, op: str) -> bool:
    if actual in (None, "") or isinstance(actual, list):
        return False
    x, y = _coerce(actual, expected)
    try:
        return bool({">": x > y, ">=": x >= y, "<": x < y, "<=": x <= y}[op])
    except TypeError:
        return False


def need_dict(params: dict[str, Any], name: str, value: Any) -> dict[str, Any]:
    """``filter``/``order`` must be objects: "Parameter 'filter' must be array." (crm-deal-list.md)."""
    if value in (None, "", []):
        return {}
    if not isinstance(value, dict):
        raise B24Error(400, "", f"Parameter '{name}' must be array.")
    return value


def sort_rows(
    rows: list[dict[str, Any]], order: dict[str, Any] | None, value_of: Callable[[dict[str, Any], str], Any]
) -> list[dict[str, Any]]:
    """Stable multi-key sort; ``ASC``/``DESC`` in any case."""
    for name, direction in reversed(list((order or {"ID": "ASC"}).items())):
        way = str(direction).upper()
        if way not in ("ASC", "DESC"):
            raise B24Error(400, "", f"Invalid sort direction for field {name}")

        def key(row: dict[str, Any], field: str = str(name).upper()) -> tuple[int, Any]:
            value = value_of(row, field)
            if value in (None, ""):
                return (0, Decimal(0))
            if isinstance(value, bool):
                return (1, Decimal(int(value)))
            try:
                return (1, Decimal(str(value)))
            except (InvalidOperation, ValueError):
                ts = parse_time(value)
                return (1, Decimal(str(ts))) if ts is not None else (2, str(value).lower())

        rows.sort(key=key, reverse=way == "DESC")
    return rows


def offset_of(start: Any) -> int:
    if start in (None, ""):
        return 0
    try:
        return int(start)
    except (TypeError, ValueError):
        raise B24Error(400, "INVALID_ARG_VALUE", "Invalid value of the start parameter") from None


def page(rows: Iterable[Any], start: Any, render: Callable[[Any], dict[str, Any]]) -> Answer:
    """Cut a 50-row page. ``next`` only when more rows follow; ``start=-1`` returns the first 50 with
    ``total: 0`` and no ``next`` (huge-data.md: the count is skipped)."""
    offset = offset_of(start)
    items = list(rows)
    if offset < 0:
        chunk = items[:PAGE]
        return Answer([render(r) for r in chunk], total=0, records=len(chunk))
    chunk = items[offset : offset + PAGE]
    nxt = offset + PAGE if offset + PAGE < len(items) else None
    return Answer([render(r) for r in chunk], total=len(items), next=nxt, records=len(chunk))
