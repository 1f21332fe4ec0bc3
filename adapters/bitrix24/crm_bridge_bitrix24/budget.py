"""The per-method ``operating`` time budget of Bitrix24 (settings/performance/limits.md).

Bitrix24 sums each method's execution time per app/webhook in ten one-minute buckets; past the limit
(480 s in the docs' example) the next call of that method gets 429 OPERATION_TIME_LIMIT until
``operating_reset_at``. We keep the same sliding window on our side from each answer's durations (the
technique of fast_bitrix24's SlidingWindowThrottler) plus the server's own figures when it reports them,
and wait before a call that would hit the block instead of burning a request on it.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class _Spent:
    at: float
    seconds: float


class OperatingBudget:
    """Per-method sliding window of server execution time.

    ``limit``/``window`` are seconds (defaults: 480 s per 600 s). ``headroom`` is the share of the
    limit we allow ourselves, so a long final call does not overshoot it."""

    def __init__(self, limit: float = 480.0, window: float = 600.0, headroom: float = 0.9) -> None:
        self.limit = limit
        self.window = window
        self.headroom = headroom
        self._spent: dict[str, deque[_Spent]] = {}
        self._server: dict[str, tuple[float, float]] = {}  # method -> (operating, reset_at)
        self._lock = threading.Lock()

    def record(self, method: str, seconds: float, now: float) -> None:
        """Count ``seconds`` of server time spent by ``method`` at ``now``."""
        if seconds <= 0:
            return
        with self._lock:
            self._spent.setdefault(method, deque()).append(_Spent(now, seconds))

    def record_server(self, method: str, operating: float, reset_at: float | None) -> None:
        """Remember the server's own ``time.operating`` / ``operating_reset_at`` for ``method``."""
        if reset_at is None:
            return
        with self._lock:
            self._server[method] = (operating, reset_at)

    def reset_at(self, method: str) -> float | None:
        with self._lock:
            server = self._server.get(method)
        return server[1] if server else None

    def wait_for(self, methods: set[str] | frozenset[str], now: float) -> float:
        """Seconds to wait before calling all of ``methods`` keeps each under its budget (0 = go)."""
        wait = 0.0
        allowed = self.limit * self.headroom
        with self._lock:
            for method in methods:
                history = self._spent.get(method)
                if history:
                    while history and history[0].at <= now - self.window:
                        history.popleft()
                    total = sum(item.seconds for item in history)
                    for item in history:  # oldest first: drop entries until we fit
                        if total < allowed:
                            break
                        total -= item.seconds
                        wait = max(wait, item.at + self.window - now)
                server = self._server.get(method)
                if server and server[0] >= allowed and server[1] > now:
                    wait = max(wait, server[1] - now)
        return max(wait, 0.0)
