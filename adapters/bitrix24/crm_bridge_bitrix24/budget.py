"""The per-method ``operating`` time budget of Bitrix24 (settings/performance/limits.md).

Bitrix24 sums each method's execution time per app/webhook in ten one-minute buckets; past the limit
(480 s in the docs' example) the next call of that method gets 429 OPERATION_TIME_LIMIT until
``operating_reset_at``. We keep the same sliding window on our side from each answer's durations (the
technique of fast_bitrix24's SlidingWindowThrottler) plus the server's own figures when it reports them,
and wait before a call that would hit the block instead of burning a request on it.

The window lives in a ``ports.SpendLedger``: the state store's when the adapter runs with one, so the
daemon, one-shot scripts and replicas using one webhook share it as the portal does; in memory otherwise.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from crm_bridge.http import MemoryLedger
from crm_bridge.ports import SpendLedger

SERVER = "#server"  # ledger key suffix of the server's reports: at = operating_reset_at, amount = operating


class OperatingBudget:
    """Per-method sliding window of server execution time.

    ``limit``/``window`` are seconds (defaults: 480 s per 600 s). ``headroom`` is the share of the
    limit we allow ourselves, so a long final call does not overshoot it. ``ledger``/``key``: where the
    window is kept (``key`` names the portal, e.g. ``bitrix24:example.bitrix24.ru``)."""

    def __init__(
        self,
        limit: float = 480.0,
        window: float = 600.0,
        headroom: float = 0.9,
        *,
        ledger: SpendLedger | None = None,
        key: str = "bitrix24",
    ) -> None:
        self.limit = limit
        self.window = window
        self.headroom = headroom
        self.ledger: SpendLedger = ledger if ledger is not None else MemoryLedger()
        self._prefix = f"{key}/operating/"
        self._reported: dict[str, float] = {}  # method -> the reset time this process last stored
        self._lock = threading.Lock()

    def record(self, method: str, seconds: float, now: float) -> None:
        """Count ``seconds`` of server time spent by ``method`` at ``now``."""
        self.record_all([(method, seconds, 0.0, None)], now)

    def record_server(self, method: str, operating: float, reset_at: float | None) -> None:
        """Remember the server's own ``time.operating`` / ``operating_reset_at`` for ``method``."""
        if reset_at is not None:
            self.record_all([(method, 0.0, operating, reset_at)], reset_at - self.window)

    def record_all(self, spent: Iterable[tuple[str, float, float, float | None]], now: float) -> None:
        """One write for a whole answer: (method, seconds spent, server operating, server reset time)
        per command. A server report is stored when it could block (near the limit) or its reset
        time moved; the seconds always are."""
        seconds_by_method: dict[str, float] = {}
        reports: dict[str, tuple[float, float]] = {}
        for method, seconds, operating, reset_at in spent:
            if seconds > 0:  # one entry per method and answer, however many commands it ran
                seconds_by_method[method] = seconds_by_method.get(method, 0.0) + seconds
            if reset_at is not None:
                reports[method] = (reset_at, operating)  # the last command's figures are the latest
        entries = [(self._prefix + m, now, seconds) for m, seconds in seconds_by_method.items()]
        allowed = self.limit * self.headroom
        with self._lock:
            for method, (reset_at, operating) in reports.items():
                if operating >= allowed or self._reported.get(method) != reset_at:
                    self._reported[method] = reset_at
                    entries.append((self._prefix + method + SERVER, reset_at, operating))
        if entries:
            self.ledger.spend(entries, forget_before=now - self.window)

    def reset_at(self, method: str) -> float | None:
        key = self._prefix + method + SERVER
        reports = self.ledger.spent([key], since=0.0).get(key, [])
        return reports[-1][0] if reports else None

    def wait_for(self, methods: set[str] | frozenset[str], now: float) -> float:
        """Seconds to wait before calling all of ``methods`` keeps each under its budget (0 = go)."""
        wait = 0.0
        allowed = self.limit * self.headroom
        since = now - self.window
        totals = self.ledger.totals([self._prefix + m for m in sorted(methods)], since=since)
        over = [m for m in sorted(methods) if totals.get(self._prefix + m, 0.0) >= allowed]
        keys = [self._prefix + m for m in over] + [self._prefix + m + SERVER for m in sorted(methods)]
        spent = self.ledger.spent(keys, since=since)  # entries only of methods near their limit
        for method in methods:
            history = spent.get(self._prefix + method, [])
            total = sum(seconds for _, seconds in history)
            for at, seconds in sorted(history):  # oldest first: drop entries until we fit
                if total < allowed:
                    break
                total -= seconds
                wait = max(wait, at + self.window - now)
            reports = spent.get(self._prefix + method + SERVER)
            if reports:
                reset_at, operating = reports[-1]
                if operating >= allowed and reset_at > now:
                    wait = max(wait, reset_at - now)
        return max(wait, 0.0)
