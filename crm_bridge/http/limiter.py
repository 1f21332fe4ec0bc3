"""The client-side rate limiter: the request budgets (leaky buckets, fixed windows) consulted before
every request, kept in the state store (shared by every process) when one is given, else in memory.
Clock and sleep are injected. ``MemoryLedger`` is the in-memory ``ports.SpendLedger``."""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable, Sequence

from crm_bridge.budgets import MIN_WAIT, Bucket, BucketStore, admit
from crm_bridge.errors import RateLimited
from crm_bridge.http.policy import LimiterPolicy

MAX_REBOOKS = 3  # fresh slots booked for one request whose slot went stale (then it goes anyway)


class MemoryBucket:
    """``ports.BucketStore`` for one process: thread-safe, with the state store's arithmetic
    (``budgets.admit``)."""

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
            logs = {b.key: self._recent(b, now) for b in buckets if b.rolling}
            wait, admitted = admit(buckets, self._levels, now, logs)
            if wait == 0.0:
                self._levels.update(admitted)
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
    one request (``HttpPolicy.buckets_for``) and admits it into all of them at once. ``stale_after``
    (``HttpPolicy.stale_after``, 0 = off): a grant that came back later than this after the time it was
    booked at is booked afresh (for any budgets, e.g. a rolling window)."""

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
        stale_after: float = 0.0,
    ) -> None:
        self.policy = policy
        self.stale_after = stale_after
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
        stale_after = self.stale_after
        waited = 0.0
        rebooked = 0
        while True:
            wait, booked = self._take(buckets)
            if wait <= 0.0:
                if stale_after > 0 and rebooked < MAX_REBOOKS and self._clock() - booked > stale_after:
                    rebooked += 1  # the slot went stale before the request could leave: book a fresh one
                    continue
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

    def _take(self, buckets: Sequence[Bucket]) -> tuple[float, float]:
        """(seconds to wait, the time the request was booked at when it fits)."""
        now = self._clock()
        if getattr(self.bucket, "reads_clock_under_lock", False):
            read: list[float] = []

            def clock() -> float:
                read.append(self._clock())
                return read[-1]

            wait = self.bucket.take_all(buckets, now, clock=clock)  # type: ignore[call-arg]
            return wait, max([now, *read])
        if len(buckets) == 1 and buckets[0].window <= 0:  # any BucketStore can take one leaky bucket
            only = buckets[0]
            wait = self.bucket.take(
                only.key, capacity=only.capacity, drain_per_second=only.drain_per_second, now=now
            )
            return wait, now
        return self.bucket.take_all(buckets, now), now
