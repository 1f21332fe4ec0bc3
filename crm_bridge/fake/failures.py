"""Failure injection for the FakeCRM: make the Nth call, the next calls, or a seeded fraction of
calls fail with ``RateLimited`` or ``TransientError`` — before the work, or after it (a lost
answer: the CRM did the write but the caller never heard back)."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from typing import Literal

from crm_bridge.errors import CrmRetriableError, RateLimited, TransientError

FailureKind = Literal["rate_limit", "transient"]
When = Literal["before", "after"]


@dataclass
class _Rule:
    kind: FailureKind
    when: When
    method: str | None
    call_number: int | None = None  # fail exactly the Nth call (1-based, counted per method filter)
    remaining: int = 0  # fail this many matching calls
    fraction: float = 0.0
    rng: random.Random | None = None


class FailureInjector:
    """Decides, per call, whether a failure is injected. Counts every call per method."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self._rules: list[_Rule] = []

    def fail_next(
        self,
        kind: FailureKind = "transient",
        *,
        times: int = 1,
        method: str | None = None,
        when: When = "before",
    ) -> None:
        """The next ``times`` calls (of ``method``, or any) fail."""
        self._rules.append(_Rule(kind, when, method, remaining=times))

    def fail_call(
        self,
        number: int,
        kind: FailureKind = "transient",
        *,
        method: str | None = None,
        when: When = "before",
    ) -> None:
        """Call number ``number`` (1-based; of ``method`` or of all methods) fails once."""
        self._rules.append(_Rule(kind, when, method, call_number=number))

    def fail_fraction(
        self,
        fraction: float,
        kind: FailureKind = "transient",
        *,
        seed: int = 0,
        method: str | None = None,
        when: When = "before",
    ) -> None:
        """Each matching call fails with probability ``fraction`` (reproducible by ``seed``)."""
        if not 0.0 <= fraction <= 1.0:
            raise ValueError("fraction must be between 0 and 1")
        self._rules.append(_Rule(kind, when, method, fraction=fraction, rng=random.Random(seed)))  # noqa: S311 (seeded test failures)

    def clear(self) -> None:
        self._rules.clear()

    def enter(self, method: str) -> _Rule | None:
        """Count a call of ``method``; return the rule that makes it fail, if any."""
        self.calls[method] += 1
        total = sum(self.calls.values())
        for rule in self._rules:
            if rule.method is not None and rule.method != method:
                continue
            number = self.calls[method] if rule.method else total
            if rule.call_number is not None and rule.call_number == number:
                return rule
            if rule.remaining > 0:
                rule.remaining -= 1
                return rule
            if rule.rng is not None and rule.rng.random() < rule.fraction:
                return rule
        return None

    @staticmethod
    def error(rule: _Rule, method: str) -> CrmRetriableError:
        if rule.kind == "rate_limit":
            return RateLimited(f"injected rate limit on {method}", crm="fake", retry_after=1.0)
        return TransientError(f"injected transient failure on {method}", crm="fake", status=503)
