"""Goals: plan per period for a partner or the department (SPEC §2 workflow 2) and plan vs actual
against the KPIs of ``crm_bridge.domain.kpis``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from decimal import Decimal

from crm_bridge.domain.kpis import percent
from crm_bridge.domain.period import Period

# Target name -> the KPI metric key it is compared with (``PartnerKpis.metrics()``).
_METRIC = {
    "revenue": "revenue",
    "leads": "leads",
    "qualified_leads": "qualified_leads",
    "won_deals": "won_deals",
    "conversion": "conversion",
    "new_partners": "new_partners",
    "repeat_share": "repeat_share",
    "certified_people": "certified_people",
}


@dataclass(frozen=True, slots=True)
class Targets:
    """A plan for one period; only the targets given (not None) are tracked. Percent targets are 0..100.
    ``new_partners`` and ``repeat_share`` only make sense for the department."""

    revenue: Decimal | None = None
    leads: int | None = None
    qualified_leads: int | None = None
    won_deals: int | None = None
    conversion: Decimal | None = None
    new_partners: int | None = None
    repeat_share: Decimal | None = None
    certified_people: int | None = None  # the training target: people holding a valid certificate

    def items(self) -> list[tuple[str, Decimal]]:
        return [(f.name, Decimal(v)) for f in fields(self) if (v := getattr(self, f.name)) is not None]


# partner CRM id -> period key ("2026-11", "2026-Q4", "2026") -> targets
Goals = Mapping[str, Mapping[str, Targets]]


@dataclass(frozen=True, slots=True)
class GoalProgress:
    """One target: ``fulfilment`` is actual as a percent of plan (None when the plan is 0)."""

    target: str
    plan: Decimal
    actual: Decimal
    fulfilment: Decimal | None
    met: bool


def progress(targets: Targets, metrics: Mapping[str, Decimal]) -> tuple[GoalProgress, ...]:
    """Plan vs actual for every target given. A metric with no data (e.g. conversion without leads)
    counts as 0."""
    result = []
    for name, plan in targets.items():
        actual = metrics.get(_METRIC[name], Decimal(0))
        result.append(GoalProgress(name, plan, actual, percent(actual, plan), actual >= plan))
    return tuple(result)


def plan_met(targets: Targets, metrics: Mapping[str, Decimal]) -> bool:
    """True when there is at least one target and every target is met."""
    rows = progress(targets, metrics)
    return bool(rows) and all(row.met for row in rows)


def targets_for(
    partner_id: str,
    period: Period,
    goals: Goals,
    *,
    tier: str | None = None,
    tier_defaults: Mapping[str, Targets] | None = None,
    tier_default_kind: str = "quarter",
) -> Targets | None:
    """The partner's own plan for the period's key; else its tier's default plan when the period
    is of the kind the defaults are written for; else None (no plan)."""
    own = goals.get(partner_id, {}).get(period.key)
    if own is not None:
        return own
    if tier is not None and tier_defaults and period.kind == tier_default_kind:
        return tier_defaults.get(tier)
    return None
