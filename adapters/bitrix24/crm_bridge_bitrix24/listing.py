"""Lazy listing of Bitrix24 list methods in ID order, chosen by size.

* Keyset probe: ``>ID`` filter with ``start=-1`` (settings/performance/huge-data.md) returns up to 50 rows
  without the COUNT(*) — a small incremental window costs one cheap request.
* Counted offset pages: one ``start=0`` page gives ``total``; the rest are fetched as offset pages packed
  50 to a ``batch`` (2,500 rows per HTTP request, limits.md), several batches in flight.

Offsets are taken relative to a keyset anchor (``>ID`` the last row seen before the counted page), so
rows deleted behind us never shift a page. A command whose ``total`` comes back below the expected one
means rows vanished in front of us: the listing re-anchors after the last consistent batch and goes on.
Loop detection: the anchor must grow; a page cap bounds the work.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from crm_bridge.errors import CrmError
from crm_bridge_bitrix24.client import PAGE_SIZE, Bitrix24Client, Command, pages_needed

BATCH_PAGES = 50


@dataclass(frozen=True, slots=True)
class ListQuery:
    method: str  # crm.deal.list / crm.company.list
    filter: Mapping[str, Any]
    select: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Chunk:
    """Rows of one HTTP request, in ID order. ``server_time`` is the portal's clock when the listing
    began (``time.start`` of its first request); ``total`` the expected row count when known."""

    rows: list[dict[str, Any]]
    server_time: float | None
    total: int | None


class ListingLoop(CrmError):
    """Internal: raised (as a CrmError) when the listing stops making progress."""


class Paginator:
    def __init__(
        self, client: Bitrix24Client, *, page_cap: int = 200_000, in_flight: int | None = None
    ) -> None:
        """``in_flight``: listing batches (2,500 rows each) fetched at once; None = the client's
        concurrency. Bounds memory at about ``in_flight`` x 2,500 rows, whatever the listing's size."""
        self.in_flight = in_flight
        self.client = client
        self.page_cap = page_cap
        self.pages = 0

    def _params(self, query: ListQuery, anchor: int, start: int) -> dict[str, Any]:
        flt = dict(query.filter)
        if anchor > 0:
            flt[">ID"] = anchor
        return {"order": {"ID": "ASC"}, "filter": flt, "select": list(query.select), "start": start}

    def _count_page(self, query: ListQuery, anchor: int) -> tuple[list[dict[str, Any]], int, float | None]:
        envelope = self.client.call(query.method, self._params(query, anchor, 0))
        self._tick(1)
        rows = list(envelope.result or [])
        total = envelope.total if envelope.total is not None else len(rows)
        return rows, total, envelope.time.start if envelope.time else None

    def _tick(self, pages: int) -> None:
        self.pages += pages
        if self.pages > self.page_cap:
            raise ListingLoop(
                f"Bitrix24 listing stopped after {self.page_cap} pages (page cap)", crm="bitrix24"
            )

    def listing(self, query: ListQuery, *, probe: bool) -> Iterator[Chunk]:
        """All rows of ``query`` in ID order. ``probe=True`` starts with a keyset ``start=-1`` page
        (cheap when few rows match: an incremental window); ``False`` starts counted (a backfill)."""
        anchor = 0
        server_time: float | None = None
        if probe:
            envelope = self.client.call(query.method, self._params(query, 0, -1))
            self._tick(1)
            rows = list(envelope.result or [])
            server_time = envelope.time.start if envelope.time else None
            yield Chunk(rows, server_time, None)
            if len(rows) < PAGE_SIZE:
                return
            anchor = _last_id(rows, anchor)
        while True:
            rows, total, started = self._count_page(query, anchor)
            server_time = server_time if server_time is not None else started
            yield Chunk(rows, server_time, total)
            if total <= len(rows):
                return
            next_anchor = yield from self._offset_pages(
                query, anchor, total, server_time, _last_id(rows, anchor)
            )
            if next_anchor is None:
                return
            if next_anchor <= anchor:
                raise ListingLoop(f"Bitrix24 listing of {query.method} is not advancing", crm="bitrix24")
            anchor = next_anchor

    def _offset_pages(
        self, query: ListQuery, anchor: int, total: int, server_time: float | None, last_good: int
    ) -> Generator[Chunk, None, int | None]:
        """Fetch pages 2.. of the counted listing; return None when done, else the anchor to resume
        after (rows vanished between requests)."""
        starts = [PAGE_SIZE * (i + 1) for i in range(pages_needed(total, PAGE_SIZE))]
        chunks = [starts[i : i + BATCH_PAGES] for i in range(0, len(starts), BATCH_PAGES)]
        commands = (
            [Command(query.method, self._params(query, anchor, start)) for start in chunk] for chunk in chunks
        )
        for answer in self.client.run_batches(commands, max_in_flight=self.in_flight):
            self._tick(len(answer.outcomes))
            rows: list[dict[str, Any]] = []
            shrunk = False
            for outcome in answer.outcomes:
                if outcome.error is not None:
                    raise outcome.error
                rows.extend(outcome.result or [])
                if outcome.total is not None and outcome.total < total:
                    shrunk = True
            yield Chunk(rows, server_time, total)
            if shrunk:
                return last_good  # re-count after the last batch that saw the full set
            last_good = _last_id(rows, last_good)
        return None


def _last_id(rows: list[dict[str, Any]], default: int) -> int:
    return max((int(r["ID"]) for r in rows if "ID" in r), default=default)
