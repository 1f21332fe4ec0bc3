"""Windows of a sliced keyset walk: the ID range ``(lo, top]`` cut into windows expected to hold about
one 50-row page each, so 50 of them fill a ``batch`` and any number of batches can be in flight.

A window's width follows the row density: first the counted total over the id span, then what the
last answered windows held. With dense ids (one record per id) every window is exactly one full page
and its last id is its ``hi``: nothing is wasted and no window needs a second page; sparse ids (other
funnels' deals in between) cost some part-filled pages. A window that
answers a full page below its ``hi`` continues from its last id as a new window, split by the density
that page showed. ``done_through()`` is the id up to which every window has been answered.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

PAGE = 50
SPARSE_FILL = 0.9


@dataclass(frozen=True, slots=True)
class Window:
    lo: int  # exclusive
    hi: int  # inclusive


class WindowPlan:
    def __init__(self, lo: int, top: int, *, rows_left: int) -> None:
        self.next_lo = lo
        self.top = top
        span = max(1, top - lo)
        self.density = min(1.0, max(rows_left, 1) / span)  # rows per id (ids are unique: at most 1)
        self.pending: deque[Window] = deque()  # continuations, sent before new ground
        self.open: dict[Window, None] = {}  # sent, not answered (insertion-ordered set)
        self._rows = 0.0
        self._span = 0.0

    def width(self, density: float | None = None) -> int:
        """Ids per window for about one page at ``density`` (rows per id). Dense ids fill a window
        exactly; sparse ones aim at 90 % of a page, so a window rarely holds more than one page (a
        window that does costs a second, mostly empty command)."""
        rate = density or self.density
        return max(1, math.floor(PAGE * (1.0 if rate >= 0.999 else SPARSE_FILL) / rate))

    def available(self) -> int:
        """Windows that could be sent now (continuations and new ground)."""
        ground = self.top - self.next_lo
        return len(self.pending) + (math.ceil(ground / self.width()) if ground > 0 else 0)

    def worth_sending(self, count: int, busy: bool) -> bool:
        """Whether to send a batch now: a full one, the last of the new ground, or anything when
        nothing else is in flight. Leftover continuations alone wait while answers still come in:
        those may add more, and together they fill a batch (the tail of a sparse walk)."""
        return self.available() >= count or self.next_lo < self.top or not busy

    def take(self, count: int) -> list[Window]:
        """Up to ``count`` windows to send now: continuations first, then new ground."""
        out: list[Window] = []
        while self.pending and len(out) < count:
            out.append(self.pending.popleft())
        while self.next_lo < self.top and len(out) < count:
            hi = min(self.top, self.next_lo + self.width())
            out.append(Window(self.next_lo, hi))
            self.next_lo = hi
        for window in out:
            self.open[window] = None
        return out

    def finished(self, window: Window, rows: int) -> None:
        """``window`` answered with fewer than a page, or a page ending at its ``hi``: it is done."""
        self.open.pop(window, None)
        self._learn(rows, window.hi - window.lo)

    def overflowed(self, window: Window, last: int) -> None:
        """``window`` answered a full page ending at ``last`` < ``hi``: the rest becomes new windows."""
        self.open.pop(window, None)
        local = min(1.0, PAGE / max(1, last - window.lo))
        self._learn(PAGE, last - window.lo)
        lo, step = last, self.width(local)
        parts: list[Window] = []
        while lo < window.hi:
            hi = min(window.hi, lo + step)
            parts.append(Window(lo, hi))
            lo = hi
        self.pending.extendleft(reversed(parts))

    def done_through(self) -> int:
        """Every matching row with an id up to this has been answered."""
        starts = [w.lo for w in self.open] + [w.lo for w in self.pending]
        return min(starts) if starts else self.next_lo

    def _learn(self, rows: int, span: int) -> None:
        """Follow the density of the recent windows (sums decay so a change of density shows soon)."""
        self._rows = self._rows * 0.9 + rows
        self._span = self._span * 0.9 + max(1, span)
        if self._rows > 0:
            self.density = min(1.0, max(self._rows / self._span, 1e-9))
