"""The client-side rate limiter: a leaky bucket consulted before every request, kept in the state
store (shared by every process) when one is given, else in memory. Clock and sleep are injected."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable

from crm_bridge.errors import RateLimited
from crm_bridge.http.policy import LimiterPolicy
from crm_bridge.ports import BucketStore


class MemoryBucket:
    """``ports.BucketStore`` for one process: thread-safe, same arithmetic as the state store's."""

    def __init__(self) -> None:
        self._levels: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str, *, capacity: float, drain_per_second: float, now: float) -> float:
        with self._lock:
            level, updated = self._levels.get(key, (0.0, now))
            level = max(0.0, level - max(0.0, now - updated) * drain_per_second)
            if level + 1.0 <= capacity + 1e-9:
                self._levels[key] = (level + 1.0, max(now, updated))
                return 0.0
            return (level + 1.0 - capacity) / drain_per_second


class RateLimiter:
    """Waits until the bucket admits one more request. Thread-safe (the bucket is)."""

    def __init__(
        self,
        policy: LimiterPolicy,
        key: str,
        *,
        bucket: BucketStore | None = None,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        max_wait: float = 300.0,
    ) -> None:
        self.policy = policy
        self.key = key
        self.bucket: BucketStore = bucket if bucket is not None else MemoryBucket()
        self._clock = clock
        self._sleep = sleep
        self._max_wait = max_wait

    def acquire(self) -> float:
        """Block until a request may go; returns the seconds waited. Raises RateLimited when the
        budget stays exhausted for longer than ``max_wait`` (another process is using all of it)."""
        waited = 0.0
        while True:
            wait = self.bucket.take(
                self.key,
                capacity=self.policy.capacity,
                drain_per_second=self.policy.drain_per_second,
                now=self._clock(),
            )
            if wait <= 0.0:
                return waited
            if math.isinf(wait) or waited + wait > self._max_wait:
                raise RateLimited(
                    f"the request budget {self.key!r} stayed exhausted for {waited:.0f} s", retry_after=wait
                )
            self._sleep(wait)
            waited += wait
