"""KPIs of SPEC §2 over a period: department (new partners, lead→sale conversion, revenue through the
network, repeat-deal share) and per partner (leads, qualified, won, conversion, revenue, average deal,
time to first touch, training), computed in one pass over leads and one over deals.

Definitions (the same everywhere — reports, tiers, goals):
* ``leads``: partner leads created in the period; ``qualified``: those of them that got past the
  lead funnel's first stage (won, or now or ever at a later open stage);
* ``conversion``: percent of the period's leads that are won (a cohort: a lead created in November
  and won in December raises November's conversion);
* ``won`` and ``revenue``: won leads plus won partner deals (e.g. repeat deals) *closed* in the
  period; a record without ``closed_at`` counts at ``modified_at``, else ``created_at``;
* time to first touch: ``first_touch_at - created_at`` of the period's leads that were touched.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from crm_bridge.domain.model import Deal, FunnelKey, Lead, Partner, StageKind
from crm_bridge.domain.period import Period

HUNDRED = Decimal(100)


def percent(part: int | Decimal, whole: int | Decimal) -> Decimal | None:
    """``part`` as a percent of ``whole`` to 0.01, or None when ``whole`` is zero."""
    if not whole:
        return None
    return (Decimal(part) * HUNDRED / Decimal(whole)).quantize(Decimal("0.01"))


@dataclass(slots=True)
class PartnerKpis:
    """One partner's KPIs for a period. Percent values are 0..100; None means "no data"."""

    partner_id: str
    leads: int = 0
    qualified: int = 0
    won_of_leads: int = 0  # the period's leads that are won (numerator of conversion)
    won: int = 0  # won leads + won partner deals closed in the period
    revenue: Decimal = Decimal(0)
    repeat_won: int = 0
    touched: int = 0  # the period's leads with a first touch
    training_completed: bool = False
    _touch_seconds: list[float] = field(default_factory=list, repr=False)

    @property
    def conversion(self) -> Decimal | None:
        return percent(self.won_of_leads, self.leads)

    @property
    def average_deal(self) -> Decimal | None:
        return (self.revenue / self.won).quantize(Decimal("0.01")) if self.won else None

    @property
    def median_first_touch(self) -> timedelta | None:
        return timedelta(seconds=statistics.median(self._touch_seconds)) if self._touch_seconds else None

    @property
    def mean_first_touch(self) -> timedelta | None:
        return timedelta(seconds=statistics.fmean(self._touch_seconds)) if self._touch_seconds else None

    def metrics(self) -> dict[str, Decimal]:
        """The values tier thresholds and goals compare against (keys as in ``tiers.levels``)."""
        values = {
            "revenue": self.revenue,
            "won_deals": Decimal(self.won),
            "leads": Decimal(self.leads),
            "qualified_leads": Decimal(self.qualified),
        }
        if self.conversion is not None:
            values["conversion"] = self.conversion
        return values


@dataclass(slots=True)
class DepartmentKpis:
    """The whole partner network's KPIs for a period."""

    new_partners: int = 0
    partners: int = 0  # partner companies known
    active_partners: int = 0  # partners with at least one lead in the period
    trained_partners: int = 0
    leads: int = 0
    qualified: int = 0
    won_of_leads: int = 0
    won: int = 0
    repeat_won: int = 0
    revenue: Decimal = Decimal(0)

    @property
    def conversion(self) -> Decimal | None:
        return percent(self.won_of_leads, self.leads)

    @property
    def repeat_share(self) -> Decimal | None:
        """Repeat deals as a percent of all won deals closed in the period."""
        return percent(self.repeat_won, self.won)

    @property
    def training_completion(self) -> Decimal | None:
        return percent(self.trained_partners, self.partners)

    def metrics(self) -> dict[str, Decimal]:
        values = {
            "revenue": self.revenue,
            "won_deals": Decimal(self.won),
            "leads": Decimal(self.leads),
            "qualified_leads": Decimal(self.qualified),
            "new_partners": Decimal(self.new_partners),
        }
        for key, value in (("conversion", self.conversion), ("repeat_share", self.repeat_share)):
            if value is not None:
                values[key] = value
        return values


@dataclass(frozen=True, slots=True)
class KpiReport:
    period: Period
    department: DepartmentKpis
    partners: dict[str, PartnerKpis]  # partner CRM id -> KPIs; every known partner and every lead's partner


def _closed(moment: datetime | None, modified: datetime | None, created: datetime) -> datetime:
    return moment or modified or created


def _stage_index(order: dict[str, int], lead: Lead, top: int) -> int:
    """How far along the lead funnel a lead got: 0 = first stage; ``top`` = won."""
    if lead.stage_kind is StageKind.WON:
        return top
    reached = order.get(lead.stage, 0) if lead.stage_kind is StageKind.OPEN else 0
    if lead.furthest_stage is not None:
        reached = max(reached, order.get(lead.furthest_stage, 0))
    return reached


def compute_kpis(
    period: Period,
    leads: Iterable[Lead],
    deals: Iterable[Deal] = (),
    partners: Iterable[Partner] = (),
    *,
    lead_stages: Sequence[str],
) -> KpiReport:
    """KPIs for ``period``. ``lead_stages`` are the lead funnel's open stage keys in order (the first
    one is "not yet qualified"). Leads and deals without a partner are not partner sales: skipped."""
    order = {key: i for i, key in enumerate(lead_stages)}
    top = len(lead_stages)
    dept = DepartmentKpis()
    per: dict[str, PartnerKpis] = {}
    active: set[str] = set()
    for partner in partners:
        per[partner.crm_id] = PartnerKpis(partner.crm_id, training_completed=partner.training_completed)
        dept.partners += 1
        dept.trained_partners += partner.training_completed
        dept.new_partners += period.contains(partner.partner_since)
    start, end = period.start, period.end
    for lead in leads:
        pid = lead.partner_id
        if not pid:
            continue
        kpis = per.get(pid)
        if kpis is None:
            kpis = per[pid] = PartnerKpis(pid)
        won = lead.stage_kind is StageKind.WON
        if start <= lead.created_at < end:
            active.add(pid)
            kpis.leads += 1
            if _stage_index(order, lead, top) > 0:
                kpis.qualified += 1
            if won:
                kpis.won_of_leads += 1
            if lead.first_touch_at is not None:
                kpis.touched += 1
                kpis._touch_seconds.append(max(0.0, (lead.first_touch_at - lead.created_at).total_seconds()))
        if won and start <= _closed(lead.closed_at, lead.modified_at, lead.created_at) < end:
            kpis.won += 1
            kpis.revenue += lead.amount
    for deal in deals:
        pid = deal.partner_id
        if not pid or deal.stage_kind is not StageKind.WON:
            continue
        if not start <= _closed(deal.closed_at, deal.modified_at, deal.created_at) < end:
            continue
        kpis = per.get(pid)
        if kpis is None:
            kpis = per[pid] = PartnerKpis(pid)
        kpis.won += 1
        kpis.revenue += deal.amount
        if deal.repeat or deal.funnel == FunnelKey.REPEAT.value:
            kpis.repeat_won += 1
    for kpis in per.values():
        dept.leads += kpis.leads
        dept.qualified += kpis.qualified
        dept.won_of_leads += kpis.won_of_leads
        dept.won += kpis.won
        dept.repeat_won += kpis.repeat_won
        dept.revenue += kpis.revenue
    dept.active_partners = len(active)
    return KpiReport(period, dept, per)


@dataclass(frozen=True, slots=True)
class StageReach:
    """How many leads reached ``stage``; percents of the first stage and of the previous one."""

    stage: str
    reached: int
    of_first: Decimal | None
    of_previous: Decimal | None


def funnel_conversion(
    leads: Iterable[Lead], lead_stages: Sequence[str], won_stage: str, period: Period | None = None
) -> tuple[StageReach, ...]:
    """Stage-by-stage conversion of the lead funnel (open stages in order, then the won stage) for
    the leads created in ``period`` (all leads when None). A lost lead counts up to the furthest
    stage it is known to have reached (the first stage when the CRM keeps no history)."""
    order = {key: i for i, key in enumerate(lead_stages)}
    top = len(lead_stages)
    at_least = [0] * (top + 1)
    for lead in leads:
        if period is not None and not period.start <= lead.created_at < period.end:
            continue
        at_least[_stage_index(order, lead, top)] += 1
    for i in range(top - 1, -1, -1):  # reaching stage i+1 means having passed stage i
        at_least[i] += at_least[i + 1]
    keys = [*lead_stages, won_stage]
    return tuple(
        StageReach(
            key,
            at_least[i],
            percent(at_least[i], at_least[0]),
            percent(at_least[i], at_least[i - 1]) if i else None,
        )
        for i, key in enumerate(keys)
    )
