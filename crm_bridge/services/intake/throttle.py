"""Throttling failed API-key attempts at the partner intake, per client address and per key id,
independent of the web framework: the intake API (``intake.api``) calls ``AuthThrottle`` before
checking a key and tells it about each refusal.

Each (address) and (key id) has a leaky bucket of failures in the state store (``BucketStore``:
shared by every replica): ``limit`` failures fit, one drains every ``window / limit`` seconds. While
a bucket is full every attempt from that address or for that key id is answered 429 with
Retry-After, before the key is even checked -- so guessing gets no answers. A well-formed key's id is
taken from it whether or not the key exists (unknown and wrong keys are treated alike)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from crm_bridge.budgets import Bucket


class FailureBuckets(Protocol):
    """What ``crm_bridge.store``'s ``SqlBucketStore`` offers (``Store.bucket``)."""

    def take(self, key: str, *, capacity: float, drain_per_second: float, now: float) -> float: ...

    def take_each(self, buckets: Sequence[Bucket], now: float) -> list[float]: ...

    def level(self, key: str, *, drain_per_second: float, now: float) -> float: ...

    def levels(self, keys: Sequence[tuple[str, float]], *, now: float) -> list[float]: ...


@dataclass(frozen=True, slots=True)
class AuthLimits:
    """``per_address`` failed attempts from one client address, ``per_key`` for one key id, within
    ``window_seconds`` (a leaky bucket: the allowance comes back gradually)."""

    per_address: int = 10
    per_key: int = 10
    window_seconds: float = 900.0

    @classmethod
    def from_settings(cls, settings: Any) -> AuthLimits:
        """From ``intake.failed_key_attempts`` of a ``crm_bridge.config.Settings``."""
        cfg = settings.intake.failed_key_attempts
        return cls(cfg.per_address, cfg.per_key, cfg.window_minutes * 60.0)


@dataclass(frozen=True, slots=True)
class Throttled:
    """Why an attempt is held back and for how long (whole seconds, for Retry-After)."""

    scope: str  # "address" | "key"
    retry_after: int


class AuthThrottle:
    """``check(client, key_id)`` before verifying a key; ``failed(client, key_id)`` after a refusal."""

    def __init__(
        self,
        buckets: FailureBuckets,
        clock: Callable[[], datetime],
        limits: AuthLimits | None = None,
        *,
        prefix: str = "intake-auth",
    ) -> None:
        """``prefix`` names the buckets: each sign-in door (intake keys, portal, dashboard) its own."""
        self._buckets = buckets
        self._clock = clock
        self.limits = limits or AuthLimits()
        self._prefix = prefix

    def _scopes(self, client: str | None, key_id: str) -> list[tuple[str, str, int]]:
        out = []
        if client:
            out.append(("address", f"{self._prefix}:address:{client}", self.limits.per_address))
        if key_id:
            out.append(("key", f"{self._prefix}:key:{key_id}", self.limits.per_key))
        return out

    def check(self, client: str | None, key_id: str) -> Throttled | None:
        """None when an attempt may be checked; otherwise the scope that is full and the wait."""
        now = self._clock().timestamp()
        worst: Throttled | None = None
        scopes = self._scopes(client, key_id)
        window = self.limits.window_seconds
        levels = self._buckets.levels([(key, limit / window) for _, key, limit in scopes], now=now)
        for (scope, _key, limit), level in zip(scopes, levels, strict=True):
            drain = limit / window
            if level + 1.0 > limit + 1e-9:
                wait = max(1, math.ceil((level + 1.0 - limit) / drain))
                if worst is None or wait > worst.retry_after:
                    worst = Throttled(scope, wait)
        return worst

    def failed(self, client: str | None, key_id: str) -> None:
        """Count one refused attempt against the address and the key id."""
        now = self._clock().timestamp()
        for _scope, key, limit in self._scopes(client, key_id):
            drain = limit / self.limits.window_seconds
            self._buckets.take(key, capacity=float(limit), drain_per_second=drain, now=now)
