"""Request budgets kept in the state store (re-exported by ``crm_bridge.ports``): the ``Bucket`` a request
must fit in (leaky bucket or fixed window, with its arithmetic, shared by the store and the in-memory
fallback), the ``BucketStore`` port that admits requests, and the ``SpendLedger`` port for sliding
windows of spent amounts (a CRM's server time per method)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = ["MIN_WAIT", "Bucket", "BucketStore", "SpendLedger", "admit"]

# A drained level is computed from Unix times (~1.8e9, a float step of ~2.4e-7 s): a request fits when
# it overshoots the capacity by less than this share of one request, and a wait is never shorter than
# MIN_WAIT, so a waiting loop always moves the clock.
TOLERANCE = 1e-4
MIN_WAIT = 0.001


@dataclass(frozen=True, slots=True)
class Bucket:
    """One request budget kept under ``key``: a leaky bucket (``capacity`` at once, draining
    ``drain_per_second``) or, with ``window`` > 0, a fixed window (``capacity`` requests per ``window``
    seconds; windows start at Unix time multiples of ``window`` plus ``offset``, e.g. a day starting at
    a time zone's midnight) or, with ``rolling`` too, a rolling window: at most ``capacity`` requests in
    any ``window`` seconds (the stores keep the times of the recent ones; a request waits for the
    oldest that must leave the window, see ``wait_in_log``)."""

    key: str
    capacity: float
    drain_per_second: float = 0.0
    window: float = 0.0
    offset: float = 0.0
    rolling: bool = False

    def current(self, level: float, updated: float, now: float) -> tuple[float, float]:
        """(level, updated) at ``now``: drained (leaky) or reset when a new window began. A clock going
        backwards drains nothing."""
        if self.window > 0:
            start = ((now - self.offset) // self.window) * self.window + self.offset
            return (0.0, start) if start > updated else (level, updated)
        return max(0.0, level - max(0.0, now - updated) * self.drain_per_second), max(now, updated)

    def wait(self, level: float, updated: float, now: float) -> float:
        """Seconds until one more request fits at ``level`` (0.0 = it fits now)."""
        if level + 1.0 <= self.capacity + TOLERANCE:
            return 0.0
        if self.window > 0:
            return max(updated + self.window - now, MIN_WAIT)
        if self.drain_per_second <= 0:
            return float("inf")
        return (level + 1.0 - self.capacity) / self.drain_per_second

    def wait_in_log(self, times: Sequence[float], now: float) -> float:
        """Rolling window: seconds until one more request fits, given the times (ascending) of the
        requests admitted so far (0.0 = it fits now). Only those after ``now - window`` count; when
        ``capacity`` of them are there, the wait ends as the oldest that must go leaves the window."""
        recent = [t for t in times if t > now - self.window]
        if len(recent) + 1.0 <= self.capacity + TOLERANCE:
            return 0.0
        leaving = recent[len(recent) - int(self.capacity)]
        return max(leaving + self.window - now, MIN_WAIT)


def admit(
    buckets: Sequence[Bucket],
    stored: Mapping[str, tuple[float, float]],
    now: float,
    logs: Mapping[str, Sequence[float]] | None = None,
) -> tuple[float, dict[str, tuple[float, float]]]:
    """One request into every bucket of ``buckets`` at ``now``, given each key's stored
    ``(level, updated)`` (a key not there: an empty bucket) and, for a ``rolling`` bucket, the times of
    its recent requests in ``logs``. Returns ``(0.0, new states to store)`` when it fits in all (the
    caller adds ``now`` to each rolling bucket's log), else ``(the longest wait, {})``: nothing changes.
    The one home of the arithmetic both ``BucketStore`` implementations (state store, in memory) apply
    under their lock."""
    unique = {b.key: b for b in buckets}
    plain = {key: b for key, b in unique.items() if not b.rolling}
    states = {key: b.current(*stored.get(key, (0.0, 0.0)), now) for key, b in plain.items()}
    waits = [b.wait(*states[key], now) for key, b in plain.items()]
    waits += [b.wait_in_log((logs or {}).get(key, ()), now) for key, b in unique.items() if b.rolling]
    wait = max(waits, default=0.0)
    if wait > 0.0:
        return wait, {}
    return 0.0, {key: (level + 1.0, updated) for key, (level, updated) in states.items()}


class BucketStore(Protocol):
    """Request budgets shared by every process using the same state store, so the daemon and a
    one-shot script together stay under the CRM's limits. Implemented by ``crm_bridge.store``."""

    def take(self, key: str, *, capacity: float, drain_per_second: float, now: float) -> float:
        """Add one request to leaky bucket ``key`` if it fits and return 0.0; otherwise record nothing
        and return the seconds to wait before it would fit. ``now`` is a Unix timestamp."""
        ...

    def take_all(self, buckets: Sequence[Bucket], now: float) -> float:
        """Add one request to every bucket if it fits in all of them (atomically) and return 0.0;
        otherwise record nothing and return the longest wait before it would fit in all."""
        ...


class SpendLedger(Protocol):
    """Amounts spent against sliding-window budgets (e.g. a CRM's server time per method), shared by
    every process using the same state store. Implemented by ``crm_bridge.store``."""

    def spend(self, entries: Sequence[tuple[str, float, float]], *, forget_before: float) -> None:
        """Record (key, at, amount) entries; entries older than ``forget_before`` of the same keys may
        be dropped."""
        ...

    def spent(self, keys: Sequence[str], *, since: float) -> dict[str, list[tuple[float, float]]]:
        """(at, amount) of each key's entries after ``since``, in the order they were recorded."""
        ...

    def totals(self, keys: Sequence[str], *, since: float) -> dict[str, float]:
        """The sum of each key's amounts after ``since`` (keys with none are left out)."""
        ...
