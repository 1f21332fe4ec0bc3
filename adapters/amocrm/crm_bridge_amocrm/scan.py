"""Keyset scans of an amoCRM list by ``updated_at``, one time window at a time, several windows at once.

One window ``[from, to]`` (Unix seconds, inclusive) is read with ``filter[updated_at][from]=T&
filter[updated_at][to]=to&order[updated_at]=asc&limit=250&page=1``, T = the newest second of the
previous page (its rows already returned are skipped). A second holding a full page of records (a bulk
import) is read alone, ``order[id]=asc``, page by page, before moving past it. Every query starts afresh,
so a record changed while we list never shifts another out of sight: it leaves the window (its new
``updated_at`` is later than ``to``) and comes with the next sync.

A long listing is cut into up to ``workers`` consecutive windows after its first page; each is scanned
by its own thread a few pages ahead (bounded queues: memory stays flat in N) and the pages are handed
out in time order, so each page's cursor still covers everything before it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

Rows = list[dict[str, Any]]
Page = tuple[Rows, int]  # rows, and the first second not yet fully read after them
_DONE = object()
AHEAD = 2  # pages a window's thread reads ahead of the consumer


def _stamp(row: dict[str, Any]) -> int:
    return int(row.get("updated_at") or 0)


class KeysetScan:
    def __init__(
        self,
        get: Callable[[str, dict[str, Any]], dict[str, Any] | None],
        path: str,
        key: str,
        base: dict[str, Any],
        page_size: int,
    ) -> None:
        self.get = get
        self.path = path
        self.key = key
        self.base = base
        self.page_size = page_size

    def _rows(self, params: dict[str, Any]) -> Rows:
        body = self.get(self.path, {**self.base, **params})
        return list(((body or {}).get("_embedded") or {}).get(self.key) or [])

    def window(self, frm: int | None, to: int, seen: set[int] | None = None) -> Iterator[Page]:
        """Pages of ``[frm, to]``; the last one says ``to + 1`` (the whole window is read)."""
        seen = set(seen or ())
        while True:
            params: dict[str, Any] = {
                "filter[updated_at][to]": to,
                "order[updated_at]": "asc",
                "limit": self.page_size,
                "page": 1,
            }
            if frm is not None:
                params["filter[updated_at][from]"] = frm
            rows = self._rows(params)
            fresh = [r for r in rows if not (_stamp(r) == frm and int(r["id"]) in seen)]
            if len(rows) < self.page_size:
                yield fresh, to + 1
                return
            top = max(_stamp(r) for r in rows)
            at_top = {int(r["id"]) for r in rows if _stamp(r) == top}
            if len(at_top) * 2 <= len(rows) and top != frm:
                yield fresh, top
                seen, frm = at_top, top
                continue
            yield [r for r in fresh if _stamp(r) < top], top  # a crowded second: read it alone
            skip = seen if top == frm else set()
            page = 1
            while True:
                params = {
                    "filter[updated_at][from]": top,
                    "filter[updated_at][to]": top,
                    "order[id]": "asc",
                    "limit": self.page_size,
                    "page": page,
                }
                part = self._rows(params)
                yield [r for r in part if int(r["id"]) not in skip], top
                if len(part) < self.page_size:
                    break
                page += 1
            if top >= to:
                yield [], to + 1
                return
            seen, frm = set(), top + 1

    def scan(self, frm: int | None, to: int, workers: int) -> Iterator[Page]:
        """``window(frm, to)``, cut into up to ``workers`` windows read at once after the first page."""
        first = self.window(frm, to)
        rows, covered = next(first)
        yield rows, covered
        normal = any(_stamp(r) == covered for r in rows)  # not the start of a crowded second
        if covered > to or workers <= 1 or to - covered < workers or not normal:
            yield from first
            return
        first.close()
        seen = {int(r["id"]) for r in rows if _stamp(r) == covered}
        width = (to - covered + 1) // workers
        bounds = [(covered + i * width, covered + (i + 1) * width - 1) for i in range(workers)]
        bounds[-1] = (bounds[-1][0], to)
        yield from self._parallel(bounds, seen)

    def _parallel(self, bounds: list[tuple[int, int]], seen: set[int]) -> Iterator[Page]:
        stop = threading.Event()
        queues: list[queue.Queue[Any]] = [queue.Queue(maxsize=AHEAD) for _ in bounds]

        def put(q: queue.Queue[Any], item: Any) -> bool:
            while not stop.is_set():
                try:
                    q.put(item, timeout=0.2)
                    return True
                except queue.Full:
                    continue
            return False

        def work(index: int) -> None:
            lo, hi = bounds[index]
            try:
                for page in self.window(lo, hi, seen if index == 0 else None):
                    if not put(queues[index], page):
                        return
                put(queues[index], _DONE)
            except BaseException as exc:  # handed to the consumer, raised there
                put(queues[index], exc)

        threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(len(bounds))]
        for thread in threads:
            thread.start()
        try:
            for q in queues:
                while True:
                    item = q.get()
                    if item is _DONE:
                        break
                    if isinstance(item, BaseException):
                        raise item
                    yield item
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=5)
