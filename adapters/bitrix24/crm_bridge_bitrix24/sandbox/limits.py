"""Bitrix24's documented limits (b24restdocs settings/performance/limits.md): a per-portal leaky bucket
(standard plans: +1 per HTTP request, drains 2/s, past 50 → HTTP 503 QUERY_LIMIT_EXCEEDED; enterprise
5/s and 250) and a per-method operating-time budget kept in ten one-minute baskets (past it → HTTP 429
OPERATION_TIME_LIMIT for that method only; ``operating_reset_at`` is when the oldest basket drops).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, field

PLANS = {"standard": (50, 2.0), "enterprise": (250, 5.0)}
BASKET = 60.0
WINDOW = 600.0  # ten one-minute baskets


@dataclass
class LeakyBucket:
    burst: float = 50
    per_second: float = 2.0
    enabled: bool = True
    level: float = 0.0
    updated: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def admit(self, now: float) -> bool:
        """Count one request; False (and nothing counted) when the bucket is over its limit."""
        if not self.enabled:
            return True
        with self._lock:
            self.level = max(0.0, self.level - max(0.0, now - self.updated) * self.per_second)
            self.updated = now
            if self.level + 1 > self.burst:
                return False
            self.level += 1
            return True

    def reset(self) -> None:
        with self._lock:
            self.level = 0.0


@dataclass
class OperatingBudget:
    """Emulated execution seconds per method in baskets: a basket starts with the first call of its
    minute and leaves the sum ten minutes after that call."""

    limit: float = 480.0
    enabled: bool = True
    baskets: dict[str, list[list[float]]] = field(default_factory=lambda: defaultdict(list))  # [start, sum]
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _live(self, method: str, now: float) -> list[list[float]]:
        kept = [b for b in self.baskets[method] if b[0] + WINDOW > now]
        self.baskets[method] = kept
        return kept

    def exhausted(self, method: str, now: float) -> bool:
        """Checked before a call: blocked while the sum already exceeds the limit."""
        if not self.enabled:
            return False
        with self._lock:
            return sum(b[1] for b in self._live(method, now)) > self.limit

    def charge(self, method: str, now: float, cost: float) -> None:
        with self._lock:
            live = self._live(method, now)
            if live and now < live[-1][0] + BASKET:
                live[-1][1] += cost
            else:
                live.append([now, cost])

    def report(self, method: str, now: float) -> tuple[float, int]:
        """(operating, operating_reset_at) for the ``time`` block of an answer."""
        with self._lock:
            live = self._live(method, now)
            total = sum(b[1] for b in live)
            reset_at = live[0][0] + WINDOW if live else now + WINDOW
            return total, int(reset_at)

    def reset(self) -> None:
        with self._lock:
            self.baskets.clear()


def cost_of(method: str, records: int, scanned: int = 0) -> float:
    """Emulated processing seconds for one call: a base cost, per record returned or written, and
    for counted list pages a cost per row counted (what makes ``start=-1`` cheaper)."""
    return 0.004 + 0.0004 * records + 0.000002 * scanned
