"""The client-side rate limiter: the request budgets (leaky buckets, fixed windows) consulted before
every request, kept in the state store (shared by every process) when one is given, else in memory.
Clock and sleep are injected. ``MemoryLedger`` is the in-memory ``ports.SpendLedger``."""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable, Sequence

from crm_bridge.budgets import MIN_WAIT, Bucket, BucketStore
from crm_bridge.errors import RateLimited
from crm_bridge.http.policy import LimiterPolicy


class MemoryBucket:
    """``ports.BucketStore`` for one process: thread-safe, same arithmetic as the state store's."""

    def __init__(self) -> None:
        self._levels: dict[str, tuple[float, float]] = {}
        self._logs: dict[str, deque[float]] = {}  # rolling windows: times of the recent requests
        self._lock = threading.Lock()

    def take(self, key: str, *, capacity: float, drain_per_second: float, now: float) -> float:
        return self.take_all([Bucket(key, capacity, drain_per_second)], now)

    reads_clock_under_lock = True

    def take_all(
        self, buckets: Sequence[Bucket], now: float, *, clock: Callable[[], float] | None = None
    ) -> float:
        with self._lock:
            if clock is not None:  # the time once the lock is held (see SqlBucketStore.take_all)
                now = max(now, clock())
            plain = [b for b in buckets if not b.rolling]
            states = {b.key: b.current(*self._levels.get(b.key, (0.0, 0.0)), now) for b in plain}
            logs = {b.key: self._recent(b, now) for b in buckets if b.rolling}
            waits = [b.wait(*states[b.key], now) for b in plain]
            waits += [b.wait_in_log(logs[b.key], now) for b in buckets if b.rolling]
            wait = max(waits, default=0.0)
            if wait == 0.0:
                for key, (level, updated) in states.items():
                    self._levels[key] = (level + 1.0, updated)
                for log in logs.values():
                    log.append(now)
            return wait

    def _recent(self, bucket: Bucket, now: float) -> deque[float]:
        log = self._logs.setdefault(bucket.key, deque())
        while log and log[0] <= now - bucket.window:
            log.popleft()
        return log


class MemoryLedger:
    """``ports.SpendLedger`` for one process (tests, and adapters built without a state store)."""

    def __init__(self) -> None:
        self._entries: dict[str, list[tuple[float, float]]] = {}
        self._lock = threading.Lock()

    def spend(self, entries: Sequence[tuple[str, float, float]], *, forget_before: float) -> None:
        with self._lock:
            for key in {key for key, _, _ in entries}:
                self._entries[key] = [e for e in self._entries.get(key, []) if e[0] >= forget_before]
            for key, at, amount in entries:
                self._entries[key].append((at, amount))

    def spent(self, keys: Sequence[str], *, since: float) -> dict[str, list[tuple[float, float]]]:
        with self._lock:
            found = {key: [e for e in self._entries.get(key, []) if e[0] > since] for key in keys}
        return {key: entries for key, entries in found.items() if entries}

    def totals(self, keys: Sequence[str], *, since: float) -> dict[str, float]:
        return {
            key: sum(amount for _, amount in entries)
            for key, entries in self.spent(keys, since=since).items()
        }


class RateLimiter:
    """Waits until a request fits in its budgets. Thread-safe (the bucket is).

    ``RateLimiter(LimiterPolicy, key)`` is one leaky bucket; ``acquire(buckets)`` takes the buckets of
    one request (``HttpPolicy.buckets_for``) and admits it into all of them at once."""

    def __init__(
        self,
        policy: LimiterPolicy | None = None,
        key: str = "",
        *,
        bucket: BucketStore | None = None,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        max_wait: float = 300.0,
        on_wait: Callable[[float], None] | None = None,
    ) -> None:
        self.policy = policy
        self._on_wait = on_wait  # told the seconds of each wait (metrics)
        self.key = key
        self.bucket: BucketStore = bucket if bucket is not None else MemoryBucket()
        self._clock = clock
        self._sleep = sleep
        self._max_wait = max_wait

    def acquire(self, buckets: Sequence[Bucket] | None = None) -> float:
        """Block until a request may go; returns the seconds waited. Raises RateLimited when a budget
        stays exhausted for longer than ``max_wait`` (another process is using all of it, or a daily
        budget is spent), with ``retry_after`` set so the caller can reschedule."""
        if buckets is None:
            if self.policy is None:
                return 0.0
            buckets = [Bucket(self.key, self.policy.capacity, self.policy.drain_per_second)]
        if not buckets:
            return 0.0
        waited = 0.0
        while True:
            wait = self._take(buckets)
            if wait <= 0.0:
                return waited
            wait = max(wait, MIN_WAIT)
            if math.isinf(wait) or waited + wait > self._max_wait:
                names = ", ".join(repr(b.key) for b in buckets)
                raise RateLimited(
                    f"the request budget {names} stayed exhausted for {waited:.0f} s "
                    f"(the next request fits in {wait:.0f} s)",
                    retry_after=wait,
                )
            if self._on_wait is not None:
                self._on_wait(wait)
            self._sleep(wait)
            waited += wait

    def _take(self, buckets: Sequence[Bucket]) -> float:
        now = self._clock()
        if getattr(self.bucket, "reads_clock_under_lock", False):
            return self.bucket.take_all(buckets, now, clock=self._clock)  # type: ignore[call-arg]
        if len(buckets) == 1 and buckets[0].window <= 0:  # any BucketStore can take one leaky bucket
            only = buckets[0]
            return self.bucket.take(
                only.key, capacity=only.capacity, drain_per_second=only.drain_per_second, now=now
            )
        return self.bucket.take_all(buckets, now)
