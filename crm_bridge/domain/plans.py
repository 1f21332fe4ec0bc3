"""Individual cooperation plans (handbook 7.0.1 §1.2): how far through its period a plan is, how
far the partner is through the plan, and when the curator gets a reminder.

Reminder rule (one home, ``reminder_due``): once ``from_elapsed`` percent of the period is gone, a
plan whose fulfilment (the mean over its targets, each capped at 100 %) trails the time gone by
more than ``lag`` percentage points earns a reminder — "70 % of the quarter gone, 30 % of the plan
done". One reminder per plan per ``step`` percent of time gone, so a lagging partner is mentioned
again later in the period, never twice for the same stretch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, Decimal

from crm_bridge.domain.goals import GoalProgress, Targets, progress
from crm_bridge.domain.period import Period

HUNDRED = Decimal(100)


def elapsed_percent(period: Period, now: datetime) -> Decimal:
    """Percent of ``period`` gone at ``now`` (0 before it, 100 after), to 0.1."""
    if now <= period.start:
        return Decimal(0)
    if now >= period.end:
        return HUNDRED
    gone = Decimal((now - period.start).total_seconds())
    whole = Decimal((period.end - period.start).total_seconds())
    return (gone * HUNDRED / whole).quantize(Decimal("0.1"), ROUND_DOWN)


@dataclass(frozen=True, slots=True)
class PlanStatus:
    """A plan at a moment: per-target progress, the overall fulfilment and the time gone."""

    partner_id: str
    period: Period
    rows: tuple[GoalProgress, ...]
    fulfilment: Decimal  # mean of the targets' fulfilment, each capped at 100
    elapsed: Decimal

    @property
    def met(self) -> bool:
        return bool(self.rows) and all(r.met for r in self.rows)

    @property
    def lag(self) -> Decimal:
        """Percentage points the plan trails the calendar by (negative = ahead)."""
        return self.elapsed - self.fulfilment


def plan_status(
    partner_id: str, period: Period, targets: Targets, metrics: Mapping[str, Decimal], now: datetime
) -> PlanStatus:
    rows = progress(targets, metrics)
    capped = [min(r.fulfilment if r.fulfilment is not None else HUNDRED, HUNDRED) for r in rows]
    overall = (sum(capped, Decimal(0)) / len(capped)).quantize(Decimal("0.1")) if capped else HUNDRED
    return PlanStatus(partner_id, period, rows, overall, elapsed_percent(period, now))


@dataclass(frozen=True, slots=True)
class ReminderRule:
    from_elapsed: Decimal = Decimal(50)  # no reminders in the first half of the period
    lag: Decimal = Decimal(30)  # trailing the calendar by this many points
    step: Decimal = Decimal(10)  # at most one reminder per this much time gone

    def __post_init__(self) -> None:
        for name in ("from_elapsed", "lag", "step"):
            value = getattr(self, name)
            if not Decimal(0) <= value <= HUNDRED:
                raise ValueError(f"{name} must be between 0 and 100")
        if self.step <= 0:
            raise ValueError("step must be above 0")


def reminder_due(rule: ReminderRule, status: PlanStatus) -> str | None:
    """The reminder's de-duplication mark (``"70"``: the stretch of time gone it is for) when the
    plan lags enough to mention, else None. Nothing after the period has ended or once it is met."""
    if status.elapsed >= HUNDRED or status.met or not status.rows:
        return None
    if status.elapsed < rule.from_elapsed or status.lag < rule.lag:
        return None
    stretch = (status.elapsed / rule.step).to_integral_value(ROUND_DOWN) * rule.step
    return f"{stretch.normalize():f}"
