"""Lazy listing of Bitrix24 list methods by ID, without counting every page.

The portal's advice for big data (settings/performance/huge-data.md): ``start=-1`` skips the COUNT(*)
a counted page (``start>=0``) runs, and ``order ID ASC`` with ``>ID`` the last id seen walks the table.
That walk is sequential, so to fill every ``batch`` (50 commands, limits.md) the ID range is cut into
windows of about one page each, walked in parallel (``keyset.WindowPlan``):

1. One batch: a counted page (``start=0``: the first 50 rows and ``total``, for progress bars and the
   row density) and the highest matching id (``start=-1``, ``order ID DESC``, ``select ID``).
2. Batches of 50 windows ``>ID lo, <=ID hi, start=-1``, several in flight. A window answering 50 rows
   below its ``hi`` goes on as a new window from its last id.

An incremental window starts with one keyset probe (``start=-1``, no ``>ID``): one cheap request when
few rows changed. Each chunk tells the highest id below which every row has been returned
(``done_through``), so a backfill stopped midway resumes from there (``after``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from crm_bridge.errors import CrmError
from crm_bridge_bitrix24.client import BATCH_LIMIT, PAGE_SIZE, BatchAnswer, Bitrix24Client, Command
from crm_bridge_bitrix24.keyset import Window, WindowPlan


@dataclass(frozen=True, slots=True)
class ListQuery:
    method: str  # crm.deal.list / crm.company.list
    filter: Mapping[str, Any]
    select: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Chunk:
    """Rows of one HTTP request, in ID order within the request. ``server_time`` is the portal's clock
    when the listing began (``time.start`` of its first request); ``total`` the expected row count when
    known; ``done_through`` the id up to which every matching row has been returned (None: not yet
    known; a finished listing's last chunk is simply the last)."""

    rows: Sequence[Any]  # the rows, or what the listing's ``transform`` made of them
    server_time: float | None
    total: int | None
    done_through: int | None = None


class ListingLoop(CrmError):
    """Internal: raised (as a CrmError) when the listing stops making progress."""


Transform = Callable[[list[dict[str, Any]]], Sequence[Any]]


@dataclass(frozen=True, slots=True)
class _Page:
    """One window's answer, digested in the worker: how many rows, the last id, the kept items."""

    count: int
    last: int
    items: Sequence[Any]


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
        self.transform: Transform = list

    def _params(self, query: ListQuery, lo: int, hi: int | None = None, start: int = -1) -> dict[str, Any]:
        flt = dict(query.filter)
        if lo > 0:
            flt[">ID"] = lo
        if hi is not None:
            flt["<=ID"] = hi
        return {"order": {"ID": "ASC"}, "filter": flt, "select": list(query.select), "start": start}

    def _tick(self, pages: int) -> None:
        self.pages += pages
        if self.pages > self.page_cap:
            raise ListingLoop(
                f"Bitrix24 listing stopped after {self.page_cap} pages (page cap)", crm="bitrix24"
            )

    def listing(
        self, query: ListQuery, *, probe: bool, after: int = 0, transform: Transform = list
    ) -> Iterator[Chunk]:
        """All rows of ``query`` with an id above ``after``. ``probe=True`` starts with one keyset page
        (cheap when few rows match: an incremental window); ``False`` plans the windows at once.
        ``transform`` turns each page's rows into what the chunks carry; it runs in the worker that
        fetched the page, so the rows themselves are dropped before the batch waits its turn."""
        self.transform = transform
        server_time: float | None = None
        seen = 0
        if probe:
            envelope = self.client.call(query.method, self._params(query, after))
            self._tick(1)
            rows = list(envelope.result or [])
            server_time = envelope.time.start if envelope.time else None
            if len(rows) < PAGE_SIZE:
                yield Chunk(transform(rows), server_time, len(rows))
                return
            yield Chunk(transform(rows), server_time, None, _last_id(rows, after))
            after, seen = _last_id(rows, after), len(rows)
        yield from self._windows(query, after, seen, server_time)

    def _windows(self, query: ListQuery, after: int, seen: int, server_time: float | None) -> Iterator[Chunk]:
        top_params = {**self._params(query, after), "order": {"ID": "DESC"}, "select": ["ID"]}
        first = self.client.batch(
            [Command(query.method, self._params(query, after, start=0)), Command(query.method, top_params)]
        )
        self._tick(2)
        for outcome in first.outcomes:
            if outcome.error is not None:
                raise outcome.error
        server_time = server_time if server_time is not None else first.server_time
        rows = list(first.outcomes[0].result or [])
        top_rows = list(first.outcomes[1].result or [])
        total = first.outcomes[0].total
        total = seen + (total if total is not None else len(rows))
        top = max((int(r["ID"]) for r in top_rows if "ID" in r), default=0)
        lo = _last_id(rows, after)
        if len(rows) < PAGE_SIZE or lo >= top:
            yield Chunk(self.transform(rows), server_time, total)
            return
        plan = WindowPlan(lo, top, rows_left=total - seen - len(rows))
        yield Chunk(self.transform(rows), server_time, total, plan.done_through())
        limit = max(1, min(self.client.concurrency, self.in_flight or self.client.concurrency))
        in_flight: deque[tuple[list[Window], Future[list[_Page]]]] = deque()
        try:
            while True:
                while len(in_flight) < limit and plan.worth_sending(BATCH_LIMIT, busy=bool(in_flight)):
                    windows = plan.take(BATCH_LIMIT)
                    if not windows:
                        break
                    commands = [Command(query.method, self._params(query, w.lo, w.hi)) for w in windows]
                    in_flight.append((windows, self.client.submit_batch(commands, self._digest)))
                if not in_flight:
                    return
                windows, future = in_flight.popleft()
                pages = future.result()
                self._tick(len(pages))
                out: list[Any] = []
                for window, page in zip(windows, pages, strict=True):
                    out.extend(page.items)
                    if page.count >= PAGE_SIZE and page.last < window.hi:
                        if page.last <= window.lo:
                            raise ListingLoop(
                                f"Bitrix24 listing of {query.method} is not advancing", crm="bitrix24"
                            )
                        plan.overflowed(window, page.last)
                    else:
                        plan.finished(window, page.count)
                yield Chunk(out, server_time, total, plan.done_through())
        finally:
            for _, pending in in_flight:
                pending.cancel()

    def _digest(self, answer: BatchAnswer) -> list[_Page]:
        """In the worker: each window's rows -> (count, last id, transformed items); errors raised."""
        pages: list[_Page] = []
        for outcome in answer.outcomes:
            if outcome.error is not None:
                raise outcome.error
            rows = list(outcome.result or [])
            pages.append(_Page(len(rows), _last_id(rows, 0), self.transform(rows)))
        return pages


def _last_id(rows: list[dict[str, Any]], default: int) -> int:
    return max((int(r["ID"]) for r in rows if "ID" in r), default=default)
