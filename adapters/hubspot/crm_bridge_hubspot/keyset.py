"""Keyset windows of a backfill: the ``hs_object_id`` range ``(lo, top]`` cut into windows that the
search API walks in parallel, each in id order (``id > last AND id <= hi``, sorted by id, 200 a page).

Windows hold whole pages: with dense ids (one record per id) a window of ``k * 200`` ids ends exactly
on a page's last record, so no window costs a request more than its records need; sparse ids (other
pipelines' deals in between) may cost one part-filled page per window. There are at least two windows
per worker (so the tail is short) and at most one per ``PAGES_PER_WINDOW`` pages (so part-filled pages
stay few). A window that answers a full page below its ``hi`` goes on from its last id, before any new
window. ``done_through()`` is the id up to which every window has been answered.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

PAGES_PER_WINDOW = 20


@dataclass(frozen=True, slots=True)
class Window:
    lo: int  # exclusive: the last id answered
    hi: int  # inclusive


class KeysetPlan:
    def __init__(self, lo: int, top: int, rows: int, page: int, workers: int) -> None:
        self.page = page
        self.top = top
        self.queue: deque[Window] = deque()
        self.open: dict[Window, None] = {}  # sent, not answered (insertion-ordered set)
        span = top - lo
        if rows <= 0 or span <= 0:
            return
        pages = math.ceil(rows / page)
        count = max(1, min(pages, max(2 * workers, math.ceil(pages / PAGES_PER_WINDOW))))
        per_window = math.ceil(pages / count) * page  # rows a window should hold: whole pages
        density = min(1.0, rows / span)  # rows per id (ids are unique: at most 1)
        width = max(1, math.ceil(per_window / density))
        start = lo
        while start < top:
            end = min(top, start + width)
            self.queue.append(Window(start, end))
            start = end

    @property
    def finished(self) -> bool:
        return not self.queue and not self.open

    def take(self, count: int) -> list[Window]:
        """Up to ``count`` windows to send now: continuations first, then the lowest new ones."""
        out: list[Window] = []
        while self.queue and len(out) < count:
            window = self.queue.popleft()
            self.open[window] = None
            out.append(window)
        return out

    def answered(self, window: Window, ids: list[int]) -> None:
        """``window``'s page held ``ids`` (ascending): it is done unless the page was full below ``hi``."""
        self.open.pop(window, None)
        if len(ids) >= self.page and ids[-1] < window.hi:
            self.queue.appendleft(Window(ids[-1], window.hi))

    def done_through(self) -> int:
        """Every matching record with an id up to this has been answered."""
        starts = [w.lo for w in self.open] + [w.lo for w in self.queue]
        return min(starts) if starts else self.top
