"""Seeded, repeatable fault injection for the sandbox: injected error answers, slow answers,
dropped connections and an expired token at request N.

A ``FaultPlan`` is plain data (set from the CLI, a test, or ``POST /_sandbox/faults``); the server
asks it, for every request to the emulated CRM API, what to do with request number ``n``.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass
class FaultPlan:
    """What to break.

    * ``sequence``: statuses answered to the next requests, in order (``0`` = answer normally);
    * ``fraction`` of requests (seeded) answered with a status drawn from ``statuses``;
    * ``slow_ms`` added to a ``slow_fraction`` of requests (seeded);
    * ``drop_at``: request numbers (1-based, counted from when the plan was set) whose connection is
      closed without an answer; ``drop_fraction`` drops a seeded fraction;
    * ``drop_after_at`` / ``drop_after_fraction``: the CRM runs the request (and commits its writes), then
      the connection is reset before the answer goes out — a proxy or load balancer dropping the answer;
      ``drop_after_match`` (a substring of the request's path or body, e.g. ``crm.deal.add``) limits the
      fraction to matching requests (request numbers in ``drop_after_at`` always count all requests);
    * ``expire_token_at``: from that request number on, one answer is the CRM's 401 expired token;
    * ``batch_fail``: emulator-specific partial batch failure (e.g. Bitrix24 command keys to fail);
    * ``malformed``: how the next answers are broken, in order, with status 200 — ``html`` (an HTML
      error page, as a proxy in front of the CRM sends), ``truncated`` (the real JSON cut in half),
      ``types`` (the real JSON with every value of the top level turned into a string).
    """

    sequence: list[int] = field(default_factory=list)
    fraction: float = 0.0
    statuses: list[int] = field(default_factory=lambda: [429, 500, 503])
    slow_ms: float = 0.0
    slow_fraction: float = 0.0
    drop_at: list[int] = field(default_factory=list)
    drop_fraction: float = 0.0
    drop_after_at: list[int] = field(default_factory=list)
    drop_after_fraction: float = 0.0
    drop_after_match: str = ""
    expire_token_at: int | None = None
    batch_fail: dict[str, Any] = field(default_factory=dict)
    malformed: list[str] = field(default_factory=list)
    seed: int = 0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultPlan:
        """Build a plan from JSON; unknown keys raise ValueError naming them."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(
                f"unknown fault option(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        for name in ("sequence", "statuses", "drop_at", "drop_after_at"):
            value = data.get(name, [])
            if not isinstance(value, list) or not all(type(v) is int for v in value):
                raise ValueError(f"{name} must be a list of integers")
        if not isinstance(data.get("drop_after_match", ""), str):
            raise ValueError("drop_after_match must be a string")
        for name in ("fraction", "slow_fraction", "drop_fraction", "drop_after_fraction", "slow_ms"):
            value = data.get(name, 0.0)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{name} must be a number")
            if name != "slow_ms" and not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        kinds = data.get("malformed", [])
        if not isinstance(kinds, list) or not all(k in MALFORMED for k in kinds):
            raise ValueError(f"malformed must be a list of {', '.join(MALFORMED)}")
        if data.get("expire_token_at") is not None and not isinstance(data["expire_token_at"], int):
            raise ValueError("expire_token_at must be a request number")
        if not isinstance(data.get("batch_fail", {}), dict) or not isinstance(data.get("seed", 0), int):
            raise ValueError("batch_fail must be an object and seed an integer")
        if data.get("fraction") and not data.get("statuses", [429, 500, 503]):
            raise ValueError("statuses must not be empty when fraction is set")
        return cls(**data)


MALFORMED = ("html", "truncated", "types")


@dataclass(frozen=True)
class FaultDecision:
    status: int = 0  # 0 = no injected status
    malformed: str = ""  # one of MALFORMED: the real answer broken that way
    drop: bool = False
    drop_after: bool = False  # run the request, then reset the connection instead of answering
    extra_delay: float = 0.0  # seconds
    expire_token: bool = False


class FaultInjector:
    """Applies a ``FaultPlan`` deterministically: the same plan and the same request order give the
    same faults. Thread-safe."""

    def __init__(self, plan: FaultPlan | None = None) -> None:
        self._lock = threading.Lock()
        self.set(plan or FaultPlan())

    def set(self, plan: FaultPlan) -> None:
        with self._lock:
            self.plan = plan
            self._rng = random.Random(plan.seed)  # noqa: S311 (seeded emulator faults)
            self._n = 0
            self._sequence = list(plan.sequence)
            self._malformed = list(plan.malformed)
            self._token_expired_sent = False

    def clear(self) -> None:
        self.set(FaultPlan())

    def decide(self, described: str = "") -> FaultDecision:
        """The fault for the next request; ``described`` (its path and body) is what
        ``drop_after_match`` is searched in."""
        with self._lock:
            self._n += 1
            plan, n = self.plan, self._n
            drop = n in plan.drop_at or (plan.drop_fraction > 0 and self._rng.random() < plan.drop_fraction)
            if drop:
                return FaultDecision(drop=True)
            matching = not plan.drop_after_match or plan.drop_after_match in described
            drop_after = n in plan.drop_after_at or (
                plan.drop_after_fraction > 0 and matching and self._rng.random() < plan.drop_after_fraction
            )
            if drop_after:
                return FaultDecision(drop_after=True)
            delay = 0.0
            if plan.slow_ms and (plan.slow_fraction >= 1.0 or self._rng.random() < plan.slow_fraction):
                delay = plan.slow_ms / 1000.0
            if (
                plan.expire_token_at is not None
                and n >= plan.expire_token_at
                and not self._token_expired_sent
            ):
                self._token_expired_sent = True
                return FaultDecision(expire_token=True, extra_delay=delay)
            if self._malformed:
                return FaultDecision(malformed=self._malformed.pop(0), extra_delay=delay)
            status = 0
            if self._sequence:
                status = int(self._sequence.pop(0))
            elif plan.fraction > 0 and self._rng.random() < plan.fraction:
                status = int(self._rng.choice(plan.statuses))
            return FaultDecision(status=status, extra_delay=delay)

    @property
    def batch_fail(self) -> dict[str, Any]:
        return self.plan.batch_fail
