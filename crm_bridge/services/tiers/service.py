"""Tier evaluation on schedule: KPIs over the rolling window -> ``crm_bridge.domain.tiers.evaluate``
for every partner; downgrades wait out a grace period (partner's curator warned when it starts) and,
when configured, the head's approval (``crm-bridge tiers approve ID``). Each TierChange is recorded in
the tier history, then applied: the tier field pushed to the CRM, the partner's card created or moved
in the tier-upgrade funnel, a task and a notification for the curator.

The change is recorded (history + "to apply" in the tier state) before any CRM write, and the writes
are idempotent (field update, card by external id, task by external id), so a crash midway is
finished by the next run and the history holds each change once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from crm_bridge.domain.kpis import compute_kpis
from crm_bridge.domain.model import Curator, Partner
from crm_bridge.domain.period import Period
from crm_bridge.domain.tiers import (
    TierChange,
    TierDecision,
    TierState,
    TierStatus,
    evaluate,
)
from crm_bridge.errors import UsageError
from crm_bridge.services.notify.message import notice
from crm_bridge.services.tiers.apply import Notify, TierApplier, TierCrm, TierFunnel
from crm_bridge.services.tiers.result import TierRun
from crm_bridge.services.tiers.settings import TierSettings
from crm_bridge.store import Store
from crm_bridge.store.tier_moves import PendingTier, TierPendingRepository

log = logging.getLogger("crm_bridge.tiers")

STATE_NAME = "tiers"


def _still_rejected(entry: dict[str, Any], current: str | None, decision: TierDecision) -> bool:
    """True while the head's rejection of a downgrade stands: the partner is still at the tier the
    downgrade was rejected from and would fall to the same tier. It lapses (and is forgotten) once the
    metrics recover or the tier changes; a fall to a lower tier than the rejected one is proposed."""
    rejected = entry.get("rejected")
    if not rejected:
        return False
    recovered = decision.status in (TierStatus.UNCHANGED, TierStatus.UPGRADE, TierStatus.ASSIGNED)
    if recovered or current != rejected.get("from"):
        entry.pop("rejected", None)
        return False
    return bool(decision.earned == rejected.get("to"))


class TierService:
    """Evaluates and moves the partners of one CRM instance (``portal``) between tiers."""

    def __init__(
        self,
        adapter: TierCrm,
        store: Store,
        portal: str,
        settings: TierSettings,
        *,
        lead_stages: Sequence[str],
        funnel: TierFunnel,
        curators: Sequence[Curator] = (),
        head: Curator | None = None,
        notifier: Notify | None = None,
        training: Callable[[datetime], Mapping[str, int]] | None = None,
        prospects: Callable[[], Collection[str]] | None = None,
    ) -> None:
        """``training``: certified people per partner at a moment (``min_certified_people``
        thresholds); without it that metric counts as 0. ``prospects``: companies that are not
        partners yet (the acquisition funnel says so), given no tier."""
        self._training = training
        self._prospects = prospects
        self._store = store
        self._portal = portal
        self._s = settings
        self._lead_stages = tuple(lead_stages)
        self._curators = {c.key: c for c in curators}
        self._head = head
        self._notifier = notifier
        self._pending = TierPendingRepository(store.engine)
        self._applier = TierApplier(
            adapter, store, portal, funnel, self._curator, settings.names, notifier, settings.policy.locale
        )

    def _curator(self, partner: Partner | None) -> Curator | None:
        return self._curators.get(partner.curator_key or "") if partner else None

    def _state(self) -> dict[str, dict[str, Any]]:
        return dict(self._store.get_state(self._portal, STATE_NAME) or {})

    def _save(self, state: dict[str, dict[str, Any]]) -> None:
        self._store.set_state(self._portal, STATE_NAME, state)

    def evaluate(self, now: datetime) -> TierRun:
        """Evaluate every replicated partner at ``now``. Raises the CRM's retriable errors; what was
        recorded is applied by the next run."""
        run = TierRun()
        state = self._state()
        self._finish_pending_applies(state, now)
        skipped = set(self._prospects()) if self._prospects is not None else set()
        partners = [p for p in self._store.partners(self._portal) if p.crm_id not in skipped]
        period = Period.rolling(now, self._s.policy.window_days)
        report = compute_kpis(
            period,
            self._store.leads(self._portal),
            self._store.deals(self._portal),
            partners,
            lead_stages=self._lead_stages,
        )
        certified = self._training(now) if self._training is not None else {}
        for partner in partners:
            entry = dict(state.get(partner.crm_id, {}))
            current = self._current_tier(partner, entry)
            kpis = report.partners.get(partner.crm_id)
            metrics = kpis.metrics() if kpis else {}
            if certified.get(partner.crm_id):
                metrics = {**metrics, "certified_people": Decimal(certified[partner.crm_id])}
            hyst = TierState.from_dict(entry.get("hyst"))
            decision, new_hyst = evaluate(
                self._s.policy, partner.crm_id, current, metrics, hyst, now, grace=self._s.grace
            )
            run.evaluated += 1
            if _still_rejected(entry, current, decision):
                state[partner.crm_id] = entry  # the head said no to this downgrade: not proposed again
                continue
            open_row = self._pending.open_for(self._portal, partner.crm_id)
            if (
                decision.status in (TierStatus.UNCHANGED, TierStatus.UPGRADE, TierStatus.ASSIGNED)
                and open_row
            ):
                self._pending.close(self._portal, open_row.id, "cancelled", now, "metrics recovered")
                open_row = None
            if open_row is not None and open_row.status == "awaiting_approval":
                continue  # the head decides; keep the state as it was
            entry["hyst"] = new_hyst.to_dict()
            if decision.status in (TierStatus.WARNING, TierStatus.DOWNGRADE_PENDING):
                self._warn(partner, decision.reason, decision.below_since or now, entry, run)
            if decision.status is TierStatus.DOWNGRADE_PENDING and decision.change is not None:
                self._pending.upsert_open(
                    self._portal,
                    partner.crm_id,
                    from_tier=current,
                    to_tier=decision.change.new,
                    reason=decision.reason,
                    status="grace",
                    started_at=decision.below_since or now,
                    effective_at=decision.downgrade_at or now,
                )
            change = decision.change
            if change is not None and decision.status is not TierStatus.DOWNGRADE_PENDING:
                if change.direction == "down" and self._s.approval_required:
                    row = self._pending.upsert_open(
                        self._portal,
                        partner.crm_id,
                        from_tier=change.old,
                        to_tier=change.new,
                        reason=change.reason,
                        status="awaiting_approval",
                        started_at=now,
                        effective_at=now,
                    )
                    run.awaiting_approval.append(row)
                    self._ask_head(partner, row)
                else:
                    if open_row is not None:
                        self._pending.close(self._portal, open_row.id, "applied", now, "grace period over")
                    self._record(state, entry, partner, change, now)
                    run.changes.append(change)
            state[partner.crm_id] = entry
        self._save(state)
        self._finish_pending_applies(state, now)
        log.info("tiers: %d partner(s) evaluated, %d change(s)", run.evaluated, len(run.changes))
        return run

    def _current_tier(self, partner: Partner, entry: dict[str, Any]) -> str | None:
        """Our last applied tier, unless the CRM record changed to another tier after it (by hand)."""
        ours, at = entry.get("tier"), entry.get("at")
        if ours is None or partner.tier == ours:
            return partner.tier if ours is None else ours
        applied = datetime.fromisoformat(at) if at else None
        if partner.modified_at and applied and partner.modified_at > applied + timedelta(minutes=5):
            return partner.tier
        return str(ours)

    def _record(
        self,
        state: dict[str, dict[str, Any]],
        entry: dict[str, Any],
        partner: Partner,
        change: TierChange,
        now: datetime,
    ) -> None:
        history_id = self._store.record_tier_change(
            self._portal,
            partner.crm_id,
            change.old,
            change.new,
            change.reason,
            now,
            {"direction": change.direction},
        )
        entry.update(
            tier=change.new,
            at=now.isoformat(),
            apply={
                "history_id": history_id,
                "old": change.old,
                "new": change.new,
                "direction": change.direction,
                "reason": change.reason,
            },
        )
        state[partner.crm_id] = entry
        self._save(state)

    def _finish_pending_applies(self, state: dict[str, dict[str, Any]], now: datetime) -> None:
        """Apply the changes recorded but not yet (completely) written to the CRM, in batches."""
        items = [
            (pid, self._store.records.partner(self._portal, pid), entry["apply"])
            for pid, entry in state.items()
            if entry.get("apply")
        ]
        for start in range(0, len(items), 50):
            for pid in self._applier.apply_many(items[start : start + 50], now):
                state[pid].pop("apply", None)
            self._save(state)

    def _warn(
        self, partner: Partner, reason: str, since: datetime, entry: dict[str, Any], run: TierRun
    ) -> None:
        key = since.isoformat()
        if entry.get("warned") == key:
            return
        entry["warned"] = key
        run.warnings.append(partner.crm_id)
        curator = self._curator(partner)
        if self._notifier is not None and curator is not None:
            text = notice(self._notifier, "tier_warning", partner=partner.name, reason=reason)
            self._notifier.notify(
                "tier_downgrade_warning", [curator], text, key=f"tier_warning:{partner.crm_id}:{key}"
            )

    def _ask_head(self, partner: Partner, row: PendingTier) -> None:
        if self._notifier is None or self._head is None:
            return
        text = notice(
            self._notifier,
            "tier_pending",
            partner=partner.name,
            old=row.from_tier,
            new=row.to_tier,
            id=row.id,
            reason=row.reason,
        )
        self._notifier.notify("tier_downgrade_pending", [self._head], text, key=f"tier_pending:{row.id}")

    # approvals
    def pending(self) -> list[PendingTier]:
        return self._pending.list(self._portal)

    def pending_row(self, pending_id: int) -> PendingTier | None:
        """The tier move ``pending_id`` whatever its status (None when there is no such id)."""
        return self._pending.get(self._portal, pending_id)

    def approve(self, pending_id: int, *, by: str, now: datetime) -> TierChange:
        """Apply the downgrade awaiting approval ``pending_id``. UsageError when there is none."""
        row = self._open_row(pending_id, "awaiting_approval")
        change = TierChange(
            row.partner_id, row.from_tier, row.to_tier or "", "down", f"{row.reason}; approved by {by}", now
        )
        state = self._state()
        entry = dict(state.get(row.partner_id, {}))
        entry["hyst"] = TierState().to_dict()
        partner = self._store.records.partner(self._portal, row.partner_id) or Partner(
            row.partner_id, row.partner_id
        )
        self._record(state, entry, partner, change, now)
        self._pending.close(self._portal, row.id, "applied", now, by)
        self._finish_pending_applies(state, now)
        return change

    def reject(self, pending_id: int, *, by: str, now: datetime) -> PendingTier:
        row = self._open_row(pending_id, "awaiting_approval")
        self._pending.close(self._portal, row.id, "rejected", now, by)
        state = self._state()
        entry = dict(state.get(row.partner_id, {}))
        entry["hyst"] = TierState().to_dict()
        entry["rejected"] = {"from": row.from_tier, "to": row.to_tier}
        state[row.partner_id] = entry
        self._save(state)
        return row

    def _open_row(self, pending_id: int, status: str) -> PendingTier:
        row = self._pending.get(self._portal, pending_id)
        if row is None or row.status != status:
            shown = f"it is {row.status}" if row else "there is no such id"
            raise UsageError(
                f"no tier downgrade {pending_id} awaiting approval ({shown}; see `crm-bridge tiers list`)"
            )
        return row
