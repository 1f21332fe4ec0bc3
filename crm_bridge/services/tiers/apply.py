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
from crm_bridge.texts import words

log = logging.getLogger("crm_bridge.tiers")

TASK_DAYS = 3  # the curator's task about a tier change is due this many days later

Pending = tuple[str, Partner | None, Mapping[str, Any]]  # partner id, partner, recorded change


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
        locale: str = "en",
    ) -> None:
        self._crm = adapter
        self._store = store
        self._portal = portal
        self._funnel = funnel
        self._curator_of = curator_of
        self._names = names
        self._notifier = notifier
        self._words = words("notify", locale)

    def apply_many(self, items: Sequence[Pending], now: datetime) -> list[str]:
        """Apply recorded changes ``(partner id, partner, todo)`` — todo: history_id, old, new,
        direction, reason — in batched CRM calls. Returns the partner ids done; a partner whose tier
        the CRM refused is left out (logged) so its change is retried next run."""
        if not items:
            return []
        pushed = self._crm.update_partners(
            [PartnerUpdate(pid, {"tier": todo["new"]}) for pid, _, todo in items]
        )
        done = [item for item, out in zip(items, pushed, strict=True) if out.ok]
        for (pid, _, todo), out in zip(items, pushed, strict=True):
            if not out.ok:
                log.warning("the CRM refused tier %r for partner %s: %s", todo["new"], pid, out.error)
        cards = self._cards(done)
        tasks: list[TaskDraft] = []
        for pid, partner, todo in done:
            curator = self._curator_of(partner)
            if curator is None:
                continue
            name = partner.name if partner else pid
            old = todo.get("old") or ""
            label = f"{self._names.get(old, old or '—')} → {self._names.get(todo['new'], todo['new'])}"
            t = self._words
            kind = t["tier_up"] if todo["direction"] == "up" else t["tier_down"]
            card = cards.get(pid)
            tasks.append(
                TaskDraft(
                    f"tier-task:{todo['history_id']}",
                    t["tier_task_title"].format(partner=name, change=label)[:255],
                    t["tier_task"].format(partner=name, change=label, direction=kind, reason=todo["reason"]),
                    curator.crm_user_id,
                    now + timedelta(days=TASK_DAYS),
                    RecordRef(Entity.DEAL, card) if card else RecordRef(Entity.PARTNER, pid),
                )
            )
            if self._notifier is not None:
                text = t["tier_changed"].format(partner=name, change=label, reason=todo["reason"])
                self._notifier.notify(
                    "tier_changed", [curator], text, key=f"tier_changed:{todo['history_id']}"
                )
        for draft, out in zip(tasks, self._crm.create_tasks(tasks) if tasks else [], strict=True):
            if not out.ok:
                log.warning("tier task %s refused: %s", draft.external_id, out.error)
        return [pid for pid, _, _ in done]

    def _cards(self, items: Sequence[Pending]) -> dict[str, str]:
        """Create each partner's card in the tier-upgrade funnel or move it; partner id -> card id."""
        cards: dict[str, str] = {}
        moves: list[RecordUpdate] = []
        drafts: list[DealDraft] = []
        for pid, partner, todo in items:
            stage = self._funnel.up_stage if todo["direction"] == "up" else self._funnel.down_stage
            external_id = f"tier-card:{pid}"
            bound = self._store.lookup(self._portal, "deal", external_id=external_id)
            if bound is not None and bound.crm_id:
                cards[pid] = bound.crm_id
                moves.append(RecordUpdate(Entity.DEAL, bound.crm_id, stage=stage, funnel=self._funnel.key))
                continue
            self._store.reserve(self._portal, "deal", external_id)
            curator = self._curator_of(partner)
            name = partner.name if partner else pid
            drafts.append(
                DealDraft(
                    external_id,
                    self._funnel.key,
                    f"{name}: tier",
                    pid,
                    stage,
                    responsible_user_id=curator.crm_user_id if curator else None,
                )
            )
        for draft, out in zip(drafts, self._crm.create_deals(drafts) if drafts else [], strict=True):
            if not out.ok or not out.crm_id:
                why = out.error if not out.ok else "the CRM answered without the new card's id"
                log.warning("tier card %s refused: %s", draft.external_id, why)
                continue
            self._store.bind(self._portal, "deal", draft.external_id, out.crm_id)
            cards[draft.partner_id or ""] = out.crm_id
            if not out.created:  # it existed (a half-done earlier run): move it too
                moves.append(
                    RecordUpdate(Entity.DEAL, out.crm_id, stage=draft.stage, funnel=self._funnel.key)
                )
        for move, out in zip(moves, self._crm.update_records(moves) if moves else [], strict=True):
            if not out.ok:
                log.warning("moving tier card %s failed: %s", move.crm_id, out.error)
        return cards
