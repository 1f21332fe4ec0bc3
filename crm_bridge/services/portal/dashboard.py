"""What the head's dashboard shows for a period: the department's KPIs against the plan, the four
funnels' stage-by-stage conversion, the leaderboard, tier moves waiting for the head, and the daemon's
last job runs. Read models over the KPI report (``report.data``) and the state store."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from crm_bridge.domain.kpis import StageReach, funnel_conversion
from crm_bridge.domain.layout import DesiredLayout
from crm_bridge.domain.model import FunnelKey, StageKind
from crm_bridge.domain.period import Period
from crm_bridge.services.report.data import ReportData, build_report
from crm_bridge.store import Store
from crm_bridge.store.tier_moves import PendingTier, TierPendingRepository


@dataclass(frozen=True, slots=True)
class _Card:
    """A record on a funnel as ``funnel_conversion`` reads it (partners and deals as well as leads)."""

    stage: str
    stage_kind: StageKind
    created_at: datetime
    furthest_stage: str | None = None


@dataclass(frozen=True)
class FunnelView:
    key: str  # FunnelKey value
    name: str
    scope: str  # "period": records created in the period | "now": every record where it is now
    stages: tuple[StageReach, ...]
    stage_names: Mapping[str, str]

    @property
    def total(self) -> int:
        return self.stages[0].reached if self.stages else 0

    @property
    def overall(self) -> Any:
        return self.stages[-1].of_first if self.stages else None


@dataclass(frozen=True, slots=True)
class JobRow:
    """A daemon job's runs since the daemon started (``crm_bridge.daemon.jobs.JobStatus``)."""

    name: str
    runs: int
    failures: int
    last_success: datetime | None
    last_error: str | None
    running: bool

    @classmethod
    def from_status(cls, name: str, status: Mapping[str, Any]) -> JobRow:
        success = status.get("last_success")
        return cls(
            name,
            int(status.get("runs") or 0),
            int(status.get("failures") or 0),
            datetime.fromisoformat(success) if isinstance(success, str) else None,
            status.get("last_error"),
            bool(status.get("running")),
        )


@dataclass(frozen=True)
class Dashboard:
    report: ReportData
    funnels: tuple[FunnelView, ...]
    awaiting: tuple[PendingTier, ...]  # downgrades the head approves or rejects
    in_grace: tuple[PendingTier, ...]  # downgrades counting down their grace period
    partner_names: Mapping[str, str]
    jobs: tuple[JobRow, ...] = ()


def _ordered(layout: DesiredLayout, key: str) -> tuple[str, list[str], str, dict[str, str]]:
    funnel = next(f for f in layout.funnels if f.key == key)
    stages = sorted(funnel.stages, key=lambda s: s.sort)
    open_keys = [s.key for s in stages if s.kind is StageKind.OPEN]
    won = next((s.key for s in stages if s.kind is StageKind.WON), "won")
    return funnel.name, open_keys, won, {s.key: s.name for s in stages}


def _funnel(layout: DesiredLayout, key: str, cards: Iterable[Any], period: Period | None) -> FunnelView:
    name, open_keys, won, names = _ordered(layout, key)
    reach = funnel_conversion(cards, open_keys, won, period)
    return FunnelView(key, name, "period" if period is not None else "now", reach, names)


def build_dashboard(
    store: Store,
    portal: str,
    settings: Any,
    layout: DesiredLayout,
    period: Period,
    *,
    now: datetime,
    jobs: Callable[[], Mapping[str, Mapping[str, Any]]] = dict,
) -> Dashboard:
    """The dashboard for ``period`` (funnels of leads and repeat deals: records created in the period;
    the acquisition and tier-upgrade funnels: every partner card where it stands now)."""
    report = build_report(store, portal, settings, layout, period, now=now)
    partners = list(store.partners(portal))
    funnel = next(f for f in layout.funnels if f.key == FunnelKey.ACQUISITION.value)
    kinds = {s.key: s.kind for s in funnel.stages}
    # partner cards have no creation time the funnel needs (the "now" scope counts them where they are);
    # a partner without an acquisition stage in the CRM is not on the funnel
    acquisition = [
        _Card(p.acquisition_stage, kinds.get(p.acquisition_stage, StageKind.OPEN), now)
        for p in partners
        if p.acquisition_stage
    ]
    deals = list(store.deals(portal))
    tier_cards = [
        _Card(d.stage, d.stage_kind, d.created_at) for d in deals if d.funnel == FunnelKey.TIER_UPGRADE
    ]
    repeat_cards = [_Card(d.stage, d.stage_kind, d.created_at) for d in deals if d.funnel == FunnelKey.REPEAT]
    funnels = (
        _funnel(layout, FunnelKey.ACQUISITION.value, acquisition, None),
        _funnel(layout, FunnelKey.LEADS.value, store.leads(portal), period),
        _funnel(layout, FunnelKey.TIER_UPGRADE.value, tier_cards, None),
        _funnel(layout, FunnelKey.REPEAT.value, repeat_cards, period),
    )
    pending = TierPendingRepository(store.engine).list(portal)
    return Dashboard(
        report,
        funnels,
        tuple(p for p in pending if p.status == "awaiting_approval"),
        tuple(p for p in pending if p.status == "grace"),
        {p.crm_id: p.name for p in partners},
        tuple(JobRow.from_status(name, status) for name, status in jobs().items()),
    )
