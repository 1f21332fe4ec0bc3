"""Which rows a list call reads, in its order: scans cached per table version and filter, and the
keyset page (``start=-1``, ``order ID ASC``) as the id range its ``>ID``/``<=ID`` bounds allow
(settings/performance/huge-data.md), cut to 50 rows as an index range scan reads it.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import TYPE_CHECKING, Any

from crm_bridge_bitrix24.sandbox.query import PAGE, matches, sort_rows
from crm_bridge_bitrix24.sandbox.state import MULTI_FIELDS

if TYPE_CHECKING:
    from crm_bridge_bitrix24.sandbox.crm import Ctx


def value_of(row: dict[str, Any], name: str) -> Any:
    if name in MULTI_FIELDS:
        return [m["VALUE"] for m in row.get(name, [])]
    return row.get(name)


def matching(
    entity: str, ctx: Ctx, filters: dict[str, Any], order: dict[str, Any], *, fast: bool
) -> list[Any]:
    """Rows matching ``filters`` in ``order``. Ordered by ID ascending with ``start=-1`` (the docs'
    fast listing), a page is the id range the ``>ID``/``<=ID`` bounds allow, cut to 50 rows, as an
    index range scan reads it on a real portal. Listings are cached per table version and filter
    (without the id bounds, so every keyset page of one walk shares a cached scan)."""
    id_asc = {str(k).upper(): str(v).upper() for k, v in order.items()} == {"ID": "ASC"}
    if fast and id_asc:
        lower, upper, rest = _id_bounds(filters)
        rows, ids = _cached(entity, ctx, rest, {"ID": "ASC"})
        begin = bisect_left(ids, lower) if lower is not None else 0
        end = bisect_right(ids, upper) if upper is not None else len(ids)
        return rows[begin : min(end, begin + PAGE)]
    return _cached(entity, ctx, filters, order)[0]


def _cached(
    entity: str, ctx: Ctx, filters: dict[str, Any], order: dict[str, Any]
) -> tuple[list[Any], list[int]]:
    by_id = {str(k).upper(): str(v).upper() for k, v in order.items()}
    if by_id == {"ID": "DESC"}:  # the id-ascending scan, read backwards
        rows, ids = _cached(entity, ctx, filters, {"ID": "ASC"})
        return rows[::-1], ids[::-1]
    cache = ctx.state.list_cache
    cache_key = (entity, ctx.state.sequences.get(f"version:{entity}", 0), repr(filters), repr(by_id))
    cached = cache.get(cache_key)
    if cached is None:
        table = ctx.state.records[entity]
        rows = [r for r in table.values() if matches(r, filters, value_of)]
        if by_id == {"ID": "ASC"}:  # ids are unique integers: no general sort needed
            rows.sort(key=lambda r: int(r["ID"]))
        else:
            rows = sort_rows(rows, order, value_of)
        if len(cache) > 64:
            cache.clear()
        cached = cache[cache_key] = (rows, [int(r["ID"]) for r in rows])
    return cached


def _id_bounds(filters: dict[str, Any]) -> tuple[int | None, int | None, dict[str, Any]]:
    """The id range ``>ID``/``>=ID``/``<ID``/``<=ID`` allow, and the other filter keys."""
    lower: int | None = None
    upper: int | None = None
    rest: dict[str, Any] = {}
    for key, value in filters.items():
        name, text = str(key).upper(), str(value).strip()
        if name not in (">ID", ">=ID", "<ID", "<=ID") or not text.lstrip("-").isdigit():
            rest[key] = value
            continue
        bound = int(text)
        if name in (">ID", ">=ID"):
            bound += 1 if name == ">ID" else 0
            lower = bound if lower is None else max(lower, bound)
        else:
            bound -= 1 if name == "<ID" else 0
            upper = bound if upper is None else min(upper, bound)
    return lower, upper, rest
