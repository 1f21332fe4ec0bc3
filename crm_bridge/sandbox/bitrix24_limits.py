"""Bitrix24's documented limits (b24restdocs settings/performance/limits.md): a per-portal leaky
bucket (standard plans: +1 per request, drains 2/s, blocked past 50 → HTTP 503
QUERY_LIMIT_EXCEEDED; enterprise 5/s and 250) and a per-method operating-time budget over ten
one-minute buckets (past it → HTTP 429 OPERATION_TIME_LIMIT for that method only).
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from dataclasses import dataclass, field

PLANS = {"standard": (50, 2.0), "enterprise": (250, 5.0)}
WINDOW = 600.0  # ten one-minute buckets


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
            self.level = max(0.0, self.level - (now - self.updated) * self.per_second)
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
    """Emulated execution time per method over the last ten minutes."""

    limit: float = 480.0
    enabled: bool = True
    spent: dict[str, deque[tuple[float, float]]] = field(default_factory=lambda: defaultdict(deque))
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _trim(self, method: str, now: float) -> deque[tuple[float, float]]:
        window = self.spent[method]
        while window and window[0][0] <= now - WINDOW:
            window.popleft()
        return window

    def exhausted(self, method: str, now: float) -> bool:
        if not self.enabled:
            return False
        with self._lock:
            return sum(cost for _, cost in self._trim(method, now)) > self.limit

    def charge(self, method: str, now: float, cost: float) -> tuple[float, float]:
        """Add ``cost`` seconds; return (operating total, operating_reset_at)."""
        with self._lock:
            window = self._trim(method, now)
            window.append((now, cost))
            total = sum(c for _, c in window)
            return total, window[0][0] + WINDOW

    def reset(self) -> None:
        with self._lock:
            self.spent.clear()


def cost_of(method: str, records: int, scanned: int = 0) -> float:
    """Emulated processing seconds for one call: a base cost, per record returned or written, and
    for counted list pages a cost per row counted (what makes ``start=-1`` cheaper)."""
    return 0.004 + 0.0004 * records + 0.000002 * scanned
