"""Keyset scans of an amoCRM list by ``updated_at``, one time window at a time, several windows at once.

One window ``[from, to]`` (Unix seconds, inclusive) is read with ``filter[updated_at][from]=T&
filter[updated_at][to]=to&order[updated_at]=asc&limit=250&page=1``, T = the newest second of the
previous page (its rows already returned are skipped). A second holding a full page of records (a bulk
import) is read alone, ``order[id]=asc``, page by page, before moving past it. Every query starts afresh,
so a record changed while we list never shifts another out of sight: it moves to a later second and is
read there, or by the next sync.

After its first page a listing is read by up to ``workers`` threads: an idle one takes the rest of the
busiest window from 32 pages (at the density just read; 8 s where the seconds are crowded, two
requests each) past where its thread is (work stealing, so records bunched in a few days or a bulk
import's minutes are shared out too; each window taken costs one short page more). A
thread finding nothing to take looks again shortly (a window just taken can be shared once its first
page is read) until every window is read. Each window's pages wait in a small queue and are handed
out in time order, so each page's cursor still covers everything before it; only the window being
handed out and the next one read ahead (the others' threads wait with one page each), so memory stays
flat in N and in threads.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

Rows = list[dict[str, Any]]
Page = tuple[Rows, int]  # rows, and the first second not yet fully read after them
_DONE = object()
AHEAD = 32  # pages a window's thread may read ahead of the consumer (a whole stolen window)
OPEN_END = 4_102_444_800  # 2100-01-01: the upper bound of a listing that reads up to now
STEAL_AHEAD = 32  # a thread taking work starts this many pages (at the current density) further on
CROWDED_AHEAD = 8  # seconds: where every second is crowded, the pages of 8 s are ~16 requests
IDLE_LOOK = 0.05  # seconds an idle thread waits before it looks for work to take again


def _stamp(row: dict[str, Any]) -> int:
    return int(row.get("updated_at") or 0)


@dataclass(eq=False)
class Window:
    frm: int | None  # where the next query starts (moves on as pages are read)
    hi: int  # the last second (shrinks when another thread takes the upper part)
    seen: set[int] = field(default_factory=set)  # ids already returned in second ``frm``
    pages: queue.Queue[Any] = field(default_factory=lambda: queue.Queue(maxsize=AHEAD))
    claimed: bool = False
    done: bool = False
    span: int | None = None  # seconds the last full page covered (how dense the window is here)
    crowded: bool = False  # the last page ended in a crowded second (read alone: two requests a second)

    def reach(self) -> int:
        """Seconds past ``frm`` where a thread taking work from this window starts."""
        return CROWDED_AHEAD if self.crowded else STEAL_AHEAD * (self.span or 1)


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
        self._lock = threading.Lock()

    def _rows(self, params: dict[str, Any]) -> Rows:
        body = self.get(self.path, {**self.base, **params})
        return list(((body or {}).get("_embedded") or {}).get(self.key) or [])

    def window(self, w: Window) -> Generator[Page, None, None]:
        """Pages of ``w``; the last one says ``w.hi + 1`` (the whole window is read)."""
        while True:
            to = w.hi
            params: dict[str, Any] = {"order[updated_at]": "asc"}
            if to < OPEN_END:
                params["filter[updated_at][to]"] = to
            if w.frm is not None:
                params["filter[updated_at][from]"] = w.frm
            rows = self._rows({**params, "limit": self.page_size, "page": 1})
            frm, seen = w.frm, w.seen
            fresh = [r for r in rows if not (_stamp(r) == frm and int(r["id"]) in seen)]
            with self._lock:
                hi = w.hi  # another thread may have taken the upper part meanwhile
                if len(rows) < self.page_size or any(_stamp(r) > hi for r in rows):
                    w.done = True
                    last = hi
            if w.done:
                yield [r for r in fresh if _stamp(r) <= last], last + 1
                return
            top = max(_stamp(r) for r in rows)
            at_top = {int(r["id"]) for r in rows if _stamp(r) == top}
            if len(at_top) * 2 <= len(rows) and top != frm:
                with self._lock:
                    w.span = max(1, top - min(_stamp(r) for r in rows))
                    w.frm, w.seen, w.crowded = top, at_top, False
                yield fresh, top
                continue
            with self._lock:  # a crowded second: read it alone, then move past it
                w.frm, w.seen, w.crowded = top, set(), True  # dense here: others may share it
                w.span = max(1, top - min(_stamp(r) for r in rows))
            yield [r for r in fresh if _stamp(r) < top], top
            skip = seen if top == frm else set()
            yield from self._second(top, skip)
            with self._lock:
                if top >= w.hi:
                    w.done = True
                    last = w.hi
                else:
                    w.frm = top + 1
            if w.done:
                yield [], last + 1
                return

    def _second(self, second: int, skip: set[int]) -> Iterator[Page]:
        page = 1
        while True:
            params = {
                "filter[updated_at][from]": second,
                "filter[updated_at][to]": second,
                "order[id]": "asc",
                "limit": self.page_size,
                "page": page,
            }
            part = self._rows(params)
            yield [r for r in part if int(r["id"]) not in skip], second
            if len(part) < self.page_size:
                return
            page += 1

    def scan(self, frm: int | None, to: int, workers: int) -> Iterator[Page]:
        """Every page of ``[frm, to]`` in time order, read by up to ``workers`` threads."""
        first = Window(frm, to)
        pages = self.window(first)
        rows, covered = next(pages)
        yield rows, covered
        if first.done or workers <= 1 or not first.seen:  # no seen ids: inside a crowded second
            yield from pages
            return
        pages.close()
        rest = Window(first.frm, to, set(first.seen), span=first.span)
        yield from self._parallel(rest, workers)

    # -- several windows at once --------------------------------------------------------------------
    def _claim(self, windows: list[Window]) -> Window | None:
        with self._lock:
            for w in windows:
                if not w.claimed:
                    w.claimed = True
                    return w
            # steal only where the records are: STEAL_AHEAD pages past a thread reading dense data
            busy = [
                w for w in windows if not w.done and w.frm is not None and w.span and w.frm + w.reach() < w.hi
            ]
            if not busy:
                return None
            widest = max(busy, key=lambda w: w.hi - (w.frm or 0))
            mid = (widest.frm or 0) + widest.reach()
            taken = Window(mid, widest.hi, claimed=True)
            widest.hi = mid - 1
            windows.insert(windows.index(widest) + 1, taken)
            return taken

    def _parallel(self, rest: Window, workers: int) -> Iterator[Page]:
        stop = threading.Event()
        windows = [rest]
        room = threading.Condition()  # told when the consumer moves on to the next window
        handing = [0]  # the index of the window being handed out

        def near(w: Window) -> bool:
            with self._lock:
                return windows.index(w) <= handing[0] + 1

        def put(w: Window, item: Any) -> bool:
            with room:  # only the window being handed out and the one after it read ahead
                while not stop.is_set() and not near(w):
                    room.wait(0.2)
            while not stop.is_set():
                try:
                    w.pages.put(item, timeout=0.2)
                    return True
                except queue.Full:
                    continue
            return False

        def work() -> None:
            while not stop.is_set():
                w = self._claim(windows)
                if w is None:
                    with self._lock:
                        if all(w.done for w in windows):
                            return
                    # nothing to take yet (a window just taken has no density until its first page
                    # is read): look again soon rather than leave the listing to fewer threads
                    stop.wait(IDLE_LOOK)
                    continue
                try:
                    for page in self.window(w):
                        if not put(w, page):
                            return
                    put(w, _DONE)
                except BaseException as exc:  # handed to the consumer, raised there
                    put(w, exc)
                    return

        threads = [threading.Thread(target=work, daemon=True) for _ in range(workers)]
        for thread in threads:
            thread.start()
        try:
            index = 0
            while True:
                with self._lock:
                    if index >= len(windows):
                        break
                    w = windows[index]
                with room:
                    handing[0] = index
                    room.notify_all()
                while True:
                    item = w.pages.get()
                    if item is _DONE:
                        break
                    if isinstance(item, BaseException):
                        raise item
                    yield item
                index += 1
        finally:
            stop.set()
            with room:
                room.notify_all()
            for thread in threads:
                thread.join(timeout=5)
