"""Applying one recorded TierChange to the CRM: the partner's tier field, its card in the tier-upgrade
funnel (created once per partner, moved on every change), a task and a notification for the curator.
Every write is idempotent, so applying the same change twice leaves one card, one task, one message."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from crm_bridge.domain.layout import DesiredLayout
from crm_bridge.domain.model import Curator, FunnelKey, Partner, StageKind
from crm_bridge.errors import CrmValidationError
from crm_bridge.ports import (
    DealDraft,
    Entity,
    PartnerFieldWriter,
    PartnerUpdate,
    RecordRef,
    RecordUpdate,
    RecordWriter,
    TaskDraft,
    TaskSink,
)
from crm_bridge.store import Store

log = logging.getLogger("crm_bridge.tiers")

TASK_DAYS = 3  # the curator's task about a tier change is due this many days later


class Notify(Protocol):
    def notify(self, event: str, recipients: Sequence[Any], text: str, *, key: str) -> None: ...


class TierCrm(PartnerFieldWriter, RecordWriter, TaskSink, Protocol):
    """What applying a tier change writes."""


@dataclass(frozen=True, slots=True)
class TierFunnel:
    """Where a partner's card goes: ``up_stage`` after an upgrade (the funnel's won stage, "new tier
    reached"), ``down_stage`` after a downgrade (its first stage: reassess and set goals)."""

    key: str = FunnelKey.TIER_UPGRADE.value
    up_stage: str = "tier_reached"
    down_stage: str = "assessment"

    @classmethod
    def from_layout(cls, layout: DesiredLayout) -> TierFunnel:
        funnel = next(f for f in layout.funnels if f.key == FunnelKey.TIER_UPGRADE.value)
        ordered = sorted(funnel.stages, key=lambda s: s.sort)
        won = next(s.key for s in ordered if s.kind is StageKind.WON)
        first = next(s.key for s in ordered if s.kind is StageKind.OPEN)
        return cls(funnel.key, won, first)


class TierApplier:
    def __init__(
        self,
        adapter: TierCrm,
        store: Store,
        portal: str,
        funnel: TierFunnel,
        curator_of: Callable[[Partner | None], Curator | None],
        names: Mapping[str, str],
        notifier: Notify | None,
    ) -> None:
        self._crm = adapter
        self._store = store
        self._portal = portal
        self._funnel = funnel
        self._curator_of = curator_of
        self._names = names
        self._notifier = notifier

    def apply(self, partner_id: str, partner: Partner | None, todo: Mapping[str, Any], now: datetime) -> None:
        """Apply ``todo`` (history_id, old, new, direction, reason). Raises CrmValidationError when the
        CRM refuses the tier value; the caller keeps ``todo`` for the next run."""
        new, old, direction = todo["new"], todo.get("old"), todo["direction"]
        (pushed,) = self._crm.update_partners([PartnerUpdate(partner_id, {"tier": new})])
        if not pushed.ok:
            raise CrmValidationError(
                f"the CRM refused tier {new!r} for partner {partner_id}: {pushed.error}", entity="partner"
            )
        curator = self._curator_of(partner)
        name = partner.name if partner else partner_id
        card = self._card(partner_id, name, direction, curator)
        label = f"{self._names.get(old or '', old or '—')} → {self._names.get(new, new)}"
        if curator is not None:
            description = (
                f"{name}: tier {label} ({'upgrade' if direction == 'up' else 'downgrade'}).\n{todo['reason']}"
            )
            task = TaskDraft(
                f"tier-task:{todo['history_id']}",
                f"{name}: tier {label}"[:255],
                description,
                curator.crm_user_id,
                now + timedelta(days=TASK_DAYS),
                RecordRef(Entity.DEAL, card) if card else RecordRef(Entity.PARTNER, partner_id),
            )
            (out,) = self._crm.create_tasks([task])
            if not out.ok:
                log.warning("tier task for partner %s refused: %s", partner_id, out.error)
            if self._notifier is not None:
                text = f"Tier change: {name} {label}. {todo['reason']}"
                self._notifier.notify(
                    "tier_changed", [curator], text, key=f"tier_changed:{todo['history_id']}"
                )

    def _card(self, partner_id: str, name: str, direction: str, curator: Curator | None) -> str | None:
        """Create the partner's card in the tier-upgrade funnel, or move it; returns its CRM id."""
        external_id = f"tier-card:{partner_id}"
        stage = self._funnel.up_stage if direction == "up" else self._funnel.down_stage
        bound = self._store.lookup(self._portal, "deal", external_id=external_id)
        if bound is not None and bound.crm_id:
            update = RecordUpdate(Entity.DEAL, bound.crm_id, stage=stage, funnel=self._funnel.key)
            (out,) = self._crm.update_records([update])
            if not out.ok:
                log.warning("moving the tier card of partner %s failed: %s", partner_id, out.error)
            return bound.crm_id
        self._store.reserve(self._portal, "deal", external_id)
        draft = DealDraft(
            external_id,
            self._funnel.key,
            f"{name}: tier",
            partner_id,
            stage,
            responsible_user_id=curator.crm_user_id if curator else None,
        )
        (created,) = self._crm.create_deals([draft])
        if not created.ok or not created.crm_id:
            log.warning("tier card of partner %s refused: %s", partner_id, created.error)
            return None
        if not created.created:  # it existed (a half-done earlier run): move it too
            self._crm.update_records(
                [RecordUpdate(Entity.DEAL, created.crm_id, stage=stage, funnel=self._funnel.key)]
            )
        self._store.bind(self._portal, "deal", external_id, created.crm_id)
        return created.crm_id
