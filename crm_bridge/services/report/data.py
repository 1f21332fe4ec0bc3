"""The KPI report's data for one period from the store's replicated partners, leads and deals: the
department's KPIs and plan vs actual, per-partner KPIs and plan vs actual, the lead funnel's
stage-by-stage conversion and the points leaderboard. Renderers: ``report.csv_table``,
``report.html_page`` and the terminal's ``cli.report.render_tables``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from crm_bridge.domain.goals import GoalProgress, progress
from crm_bridge.domain.kpis import DepartmentKpis, PartnerKpis, StageReach, compute_kpis, funnel_conversion
from crm_bridge.domain.layout import DesiredLayout
from crm_bridge.domain.model import FunnelKey, Partner, StageKind
from crm_bridge.domain.period import Period
from crm_bridge.domain.rewards import LeaderboardRow
from crm_bridge.errors import UsageError
from crm_bridge.services.report.text import tier_words
from crm_bridge.services.rewards import GoalBook, rewards_for, tier_at

if TYPE_CHECKING:
    from crm_bridge.store import Store  # annotations only: `report --help` needs no database


@dataclass(frozen=True)
class TierMove:
    """A tier change of the period: ``up`` when the new tier ranks higher."""

    partner_id: str
    partner_name: str
    at: datetime
    from_tier: str | None
    to_tier: str | None
    reason: str
    up: bool


@dataclass(frozen=True)
class PartnerRow:
    partner: Partner
    tier: str | None  # at the period's end
    curator: str  # curator's name ("" when none)
    kpis: PartnerKpis
    goals: tuple[GoalProgress, ...] = ()
    moves: tuple[TierMove, ...] = ()  # the period's tier changes, oldest first


@dataclass(frozen=True)
class ReportData:
    period: Period
    generated_at: datetime
    locale: str
    currency: str
    department: DepartmentKpis
    department_goals: tuple[GoalProgress, ...]
    partners: list[PartnerRow]  # by revenue, then name
    funnel: tuple[StageReach, ...]
    stage_names: dict[str, str]  # stage key -> name in the locale
    leaderboard: tuple[LeaderboardRow, ...]
    tier_names: dict[str, str] = field(default_factory=dict)
    timezone: str = "UTC"  # the config's: the generated-at time and the period's days are shown in it
    tier_moves: tuple[TierMove, ...] = ()  # every tier change of the period, oldest first

    @property
    def empty(self) -> bool:
        return self.department.partners == 0 and self.department.leads == 0

    @property
    def last_day(self) -> datetime:
        """The period's last day in the config's time zone (its end is exclusive)."""
        return (self.period.end - timedelta(seconds=1)).astimezone(ZoneInfo(self.timezone))

    @property
    def tier_words(self) -> tuple[str, str]:
        """The tier column's heading and footnote (``report.text.tier_words``)."""
        return tier_words(self.period.end, self.generated_at, self.timezone, self.locale)

    @property
    def generated_local(self) -> datetime:
        return self.generated_at.astimezone(ZoneInfo(self.timezone))


def parse_period(key: str, timezone: str) -> Period:
    """``2026-11``, ``2026-Q4`` or ``2026`` in the company's time zone; UsageError naming the format."""
    try:
        return Period.parse(key.strip(), ZoneInfo(timezone))
    except ValueError as exc:
        raise UsageError(f"--period: {exc}") from exc


def default_period(now: datetime, timezone: str, which: str = "previous_month") -> Period:
    """The period a scheduled report covers: previous_month | previous_quarter | current_month."""
    tz = ZoneInfo(timezone)
    if which == "current_month":
        return Period.containing(now, "month", tz)
    kind = "quarter" if which == "previous_quarter" else "month"
    return Period.containing(now, kind, tz).previous(tz)


def lead_funnel(layout: DesiredLayout) -> tuple[list[str], str, dict[str, str]]:
    """The lead funnel's open stage keys in order, its won stage key, and every stage's name."""
    funnel = next(f for f in layout.funnels if f.key == FunnelKey.LEADS.value)
    ordered = sorted(funnel.stages, key=lambda s: s.sort)
    won = next(s.key for s in ordered if s.kind is StageKind.WON)
    return [s.key for s in ordered if s.kind is StageKind.OPEN], won, {s.key: s.name for s in ordered}


def certified_people(settings: Any, store: Store, portal: str, at: datetime) -> dict[str, int]:
    """People of each partner holding a valid certificate at ``at`` (``domain.training``)."""
    from crm_bridge.domain.training import training_stats

    valid = settings.training.certificate_valid_days
    stats = training_stats(store.training.all(portal), at, valid_days=valid)
    return {pid: st.certified_people for pid, st in stats.items()}


def build_report(
    store: Store,
    portal: str,
    settings: Any,
    layout: DesiredLayout,
    period: Period,
    *,
    now: datetime,
) -> ReportData:
    """Everything the report shows for ``period``, computed from the state store (run sync first)."""
    s = settings  # a crm_bridge.config.Settings
    stages, won_stage, names = lead_funnel(layout)
    partners = {p.crm_id: p for p in store.partners(portal)}
    leads = list(store.leads(portal))
    deals = list(store.deals(portal))
    kpis = compute_kpis(period, leads, deals, partners.values(), lead_stages=stages)
    goals = GoalBook.from_settings(s, store.plans.all(portal))
    trained = certified_people(s, store, portal, min(now, period.end))
    dept_targets = goals.department.get(period.key)
    dept_goals = progress(dept_targets, kpis.department.metrics()) if dept_targets else ()
    history: dict[str, list[Any]] = {}
    for h in store.tier_history(portal):
        history.setdefault(h.partner_id, []).append(h)
    curators = {c.key: c.name for c in s.curators}
    rank = {lv.key: i for i, lv in enumerate(s.tiers.levels)}
    moves = [
        TierMove(
            h.partner_id,
            partners[h.partner_id].name if h.partner_id in partners else h.partner_id,
            h.at,
            h.from_tier,
            h.to_tier,
            h.reason,
            rank.get(h.to_tier or "", -1) > rank.get(h.from_tier or "", -1),
        )
        for changes in history.values()
        for h in changes
        if period.start <= h.at < period.end
    ]
    moves.sort(key=lambda m: (m.at, m.partner_name))
    rows = []
    for pid, k in kpis.partners.items():
        partner = partners.get(pid) or Partner(pid, f"partner {pid}")
        tier = tier_at(history.get(pid, []), period.end, partner.tier)
        targets = goals.for_partner(pid, period, tier)
        rows.append(
            PartnerRow(
                partner,
                tier,
                curators.get(partner.curator_key or "", ""),
                k,
                progress(targets, {**k.metrics(), "certified_people": Decimal(trained.get(pid, 0))})
                if targets
                else (),
                tuple(m for m in moves if m.partner_id == pid),
            )
        )
    rows.sort(key=lambda r: (-r.kpis.revenue, r.partner.name, r.partner.crm_id))
    rewards = rewards_for(s, store, portal, period)
    locale = str(s.locale)
    tier_names = {lv.key: lv.name.get(locale) for lv in s.tiers.levels}
    return ReportData(
        period=period,
        generated_at=now,
        locale=locale,
        currency=rewards.currency,
        department=kpis.department,
        department_goals=dept_goals,
        partners=rows,
        funnel=funnel_conversion(leads, stages, won_stage, period),
        stage_names=names,
        leaderboard=rewards.leaderboard,
        tier_names=tier_names,
        timezone=s.timezone,
        tier_moves=tuple(moves),
    )


def move_text(data: ReportData, moves: Sequence[TierMove]) -> str:
    """``↑ Silver → Gold`` per change, ``-`` when none."""
    names = data.tier_names
    return (
        ", ".join(
            f"{'↑' if m.up else '↓'} {names.get(m.from_tier or '', m.from_tier or '-')} → "
            f"{names.get(m.to_tier or '', m.to_tier or '-')}"
            for m in moves
        )
        or "-"
    )


def active_rows(data: ReportData) -> Sequence[PartnerRow]:
    """Partners with any activity in the period (the rest are only counted)."""
    return [r for r in data.partners if r.kpis.leads or r.kpis.won or r.kpis.revenue]
