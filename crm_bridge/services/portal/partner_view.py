"""What one partner's portal pages show, computed for that partner only: its leads (the CRM's replicated
leads with their stage, and its registrations not synced yet), its tier and what the next tier needs,
its plan for the month, its reward statement for a period, its training status and the leaderboard.

Every method takes the partner id from the caller's session; nothing here accepts a partner id from a
request, and each lead is looked up within the partner's own leads."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from crm_bridge.domain.goals import GoalProgress, progress
from crm_bridge.domain.kpis import PartnerKpis, compute_kpis
from crm_bridge.domain.layout import DesiredLayout
from crm_bridge.domain.model import Partner, StageKind
from crm_bridge.domain.period import Period
from crm_bridge.domain.rewards import Statement
from crm_bridge.services.report.data import lead_funnel
from crm_bridge.services.rewards import GoalBook, rewards_for
from crm_bridge.services.tiers.settings import TierSettings
from crm_bridge.store import Store
from crm_bridge.store.tier_moves import PendingTier, TierPendingRepository


@dataclass(frozen=True, slots=True)
class LeadRow:
    """One of the partner's leads. ``state``: open | won | lost (the CRM's stage kind), waiting (created
    by crm-bridge, not synced back yet) or refused (the CRM refused to create it)."""

    key: str  # the CRM id, or the registration's external id while there is none
    customer_name: str
    stage_name: str
    state: str
    created_at: datetime
    amount: Decimal
    conflict: bool = False  # the registration's reason names the other partner: never shown here
    crm_id: str | None = None
    step: int = 0  # position among the lead funnel's open stages (1-based; 0 = not open)
    steps: int = 0


@dataclass(frozen=True, slots=True)
class Threshold:
    metric: str  # revenue | won_deals | leads | qualified_leads | conversion
    actual: Decimal
    minimum: Decimal

    @property
    def met(self) -> bool:
        return self.actual >= self.minimum

    @property
    def missing(self) -> Decimal:
        return max(Decimal(0), self.minimum - self.actual)

    @property
    def percent(self) -> int:
        if self.minimum <= 0:
            return 100
        return int(min(Decimal(100), self.actual * 100 / self.minimum))


@dataclass(frozen=True, slots=True)
class TierView:
    """Where the partner stands: its tier, the next one and its thresholds over the rolling window,
    the thresholds that keep the current tier, and a downgrade under way (grace or awaiting the head)."""

    tier: str | None
    tier_name: str
    levels: tuple[tuple[str, str], ...]  # (key, name), lowest first
    next_tier: str | None
    next_name: str
    to_next: tuple[Threshold, ...]
    to_keep: tuple[Threshold, ...]
    window_days: int
    window: Period
    pending: PendingTier | None
    pending_to_name: str = ""


@dataclass(frozen=True, slots=True)
class Overview:
    partner: Partner
    month: Period
    kpis: PartnerKpis
    plan: tuple[GoalProgress, ...]
    tier: TierView


class PartnerPortal:
    """Read models of the partner portal over the state store of one CRM instance (``portal``)."""

    def __init__(
        self,
        store: Store,
        portal: str,
        settings: Any,
        layout: DesiredLayout,
        *,
        clock: Callable[[], datetime],
    ) -> None:
        self._store = store
        self._portal = portal
        self._settings = settings
        self._clock = clock
        self.zone = ZoneInfo(settings.timezone)
        self.open_stages, self._won_stage, self.stage_names = lead_funnel(layout)
        self._tiers = TierSettings.from_settings(settings)
        self._pending = TierPendingRepository(store.engine)

    @property
    def tier_names(self) -> dict[str, str]:
        return dict(self._tiers.names)

    def partner(self, partner_id: str) -> Partner | None:
        return self._store.records.partner(self._portal, partner_id)

    def leads(self, partner_id: str) -> list[LeadRow]:
        """The partner's leads, newest first: every lead the CRM holds with its partner reference, then
        its registrations the sync has not brought back yet."""
        regs = self._store.intake.of_partner(self._portal, partner_id)
        by_lead = {r.lead_crm_id: r for r in regs if r.lead_crm_id}
        rows: list[LeadRow] = []
        seen: set[str] = set()
        order = {key: i for i, key in enumerate(self.open_stages)}
        for lead in self._store.leads(self._portal, partner_id=partner_id):
            if lead.partner_id != partner_id:  # belt and braces over the store's filter
                continue
            seen.add(lead.crm_id)
            reg = by_lead.get(lead.crm_id)
            conflict = lead.conflict or bool(reg and reg.conflict)
            step = order[lead.stage] + 1 if lead.stage_kind is StageKind.OPEN and lead.stage in order else 0
            rows.append(
                LeadRow(
                    lead.crm_id,
                    lead.customer_name or (reg.customer_name if reg else "") or lead.title,
                    self.stage_names.get(lead.stage, lead.stage),
                    lead.stage_kind.value,
                    lead.created_at,
                    lead.amount,
                    conflict,
                    lead.crm_id,
                    step,
                    len(self.open_stages),
                )
            )
        for reg in regs:
            if reg.lead_crm_id in seen or reg.expired_at is not None:
                continue
            state = "refused" if reg.status == "failed" else "waiting"
            rows.append(
                LeadRow(
                    reg.lead_crm_id or reg.external_id,
                    reg.customer_name,
                    "",
                    state,
                    reg.registered_at,
                    Decimal(0),
                    reg.conflict,
                    reg.lead_crm_id,
                )
            )
        rows.sort(key=lambda r: r.created_at, reverse=True)
        return rows

    def lead(self, partner_id: str, key: str) -> LeadRow | None:
        """One of the partner's own leads by its key; None for anybody else's (or no such lead)."""
        return next((row for row in self.leads(partner_id) if row.key == key), None)

    def tier(self, partner_id: str, now: datetime | None = None) -> TierView:
        now = now or self._clock()
        partner = self.partner(partner_id)
        policy = self._tiers.policy
        window = Period.rolling(now, policy.window_days)
        kpis = self._kpis(partner_id, window)
        metrics = kpis.metrics()
        current = partner.tier if partner else None
        index = policy.index(current)
        levels = tuple((lv.key, lv.name or lv.key) for lv in policy.levels)
        # a partner with no tier yet has the lowest tier ahead of it, not the second one
        position = -1 if index is None else index
        nxt = policy.levels[position + 1] if position + 1 < len(policy.levels) else None
        keep = policy.levels[position] if index is not None else None

        def thresholds(level: Any) -> tuple[Threshold, ...]:
            if level is None:
                return ()
            return tuple(
                Threshold(
                    name.removeprefix("min_"), metrics.get(name.removeprefix("min_"), Decimal(0)), minimum
                )
                for name, minimum in level.thresholds.items()
            )

        names = self._tiers.names
        pending = self._pending.open_for(self._portal, partner_id)
        return TierView(
            current,
            names.get(current or "", current or "—"),
            levels,
            nxt.key if nxt else None,
            names.get(nxt.key, nxt.key) if nxt else "",
            thresholds(nxt),
            thresholds(keep),
            policy.window_days,
            window,
            pending,
            names.get(pending.to_tier or "", pending.to_tier or "") if pending else "",
        )

    def overview(self, partner_id: str) -> Overview | None:
        partner = self.partner(partner_id)
        if partner is None:
            return None
        now = self._clock()
        month = Period.containing(now, "month", self.zone)
        kpis = self._kpis(partner_id, month)
        targets = GoalBook.from_settings(self._settings).for_partner(partner_id, month, partner.tier)
        plan = progress(targets, kpis.metrics()) if targets else ()
        return Overview(partner, month, kpis, plan, self.tier(partner_id, now))

    def statement(self, partner_id: str, period: Period) -> tuple[Statement | None, str]:
        """The partner's reward statement for ``period`` and the currency."""
        result = rewards_for(self._settings, self._store, self._portal, period)
        mine = next((s for s in result.statements if s.partner_id == partner_id), None)
        return mine, result.currency

    def leaderboard(self, partner_id: str, period: Period) -> list[dict[str, Any]]:
        """Rank, name and points of every partner; other partners' revenue and deals are never shown,
        and with ``portal.leaderboard: anonymous`` neither are their names."""
        result = rewards_for(self._settings, self._store, self._portal, period)
        anonymous = self._settings.portal.leaderboard == "anonymous"
        rows = []
        for row in result.leaderboard:
            me = row.partner_id == partner_id
            rows.append(
                {
                    "rank": row.rank,
                    "name": row.name if me or not anonymous else None,
                    "points": row.points,
                    "me": me,
                    "won_deals": row.won_deals if me else None,
                    "revenue": row.revenue if me else None,
                }
            )
        return rows

    def periods(self, count: int = 6) -> list[Period]:
        """The current month and the ``count - 1`` before it, newest first."""
        month = Period.containing(self._clock(), "month", self.zone)
        out = [month]
        while len(out) < count:
            out.append(out[-1].previous(self.zone))
        return out

    def _kpis(self, partner_id: str, period: Period) -> PartnerKpis:
        partner = self.partner(partner_id)
        partners: Sequence[Partner] = [partner] if partner else []
        report = compute_kpis(
            period,
            self._store.leads(self._portal, partner_id=partner_id),
            self._store.deals(self._portal, partner_id=partner_id),
            partners,
            lead_stages=self.open_stages,
        )
        return report.partners.get(partner_id) or PartnerKpis(partner_id)
