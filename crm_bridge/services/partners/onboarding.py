"""Onboarding (acquisition funnel, last stages): when a partner's acquisition card reaches one of
``onboarding.trigger_stages`` (agreement signed), the partner gets its curator (``onboarding.curator_rule``),
a "partner since" date, the first tier, the curator's onboarding checklist as dated CRM tasks on the
card, the portal invitation (through the optional ``Lifecycle.invite`` hook: the partner portal owns
invitations), and the card moves to ``onboarding.onboarding_stage``.

Recorded, then applied: the decided onboarding (curator, tier, steps) is stored before any CRM write
and marked done after every write succeeded; each write is idempotent (field values, tasks by external
id ``onboarding:<partner>:<step>``, the card move), so a crash midway is finished by the next run
with one task per step and the same curator."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from crm_bridge.domain.model import Deal, Partner
from crm_bridge.domain.onboarding import (
    ChecklistItem,
    CuratorRule,
    CuratorSlot,
    OnboardingPlan,
    assign_curator,
    plan_onboarding,
)
from crm_bridge.ports import Entity, PartnerUpdate, RecordRef, RecordUpdate, TaskDraft
from crm_bridge.services.partners.context import Lifecycle
from crm_bridge.store.lifecycle import LifecycleRow
from crm_bridge.texts import words

log = logging.getLogger("crm_bridge.partners")

TURN_STATE = "onboarding_turn"  # strategy state: the curator round-robin counter


def _plan_json(plan: OnboardingPlan) -> dict[str, Any]:
    return {
        "curator": plan.curator_key,
        "why": plan.curator_why,
        "tier": plan.first_tier,
        "since": plan.partner_since.isoformat(),
        "steps": [
            {"key": s.key, "title": s.title, "description": s.description, "deadline": s.deadline.isoformat()}
            for s in plan.steps
        ],
    }


@dataclass(frozen=True, slots=True)
class OnboardRow:
    partner: Partner
    card: Deal
    curator_key: str | None
    why: str
    tier: str
    steps: int
    action: str  # onboarded | would onboard | error
    error: str = ""


@dataclass
class OnboardRun:
    rows: list[OnboardRow] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action)


class OnboardingService:
    def __init__(self, life: Lifecycle) -> None:
        self.life = life
        cfg = life.settings.onboarding
        self.cfg = cfg
        self.rule = CuratorRule(cfg.curator_rule)
        self.first_tier = cfg.first_tier or life.settings.tiers.levels[0].key
        self.checklist = [ChecklistItem(i.key, i.title, i.due_days, i.description) for i in cfg.checklist]
        self.slots = [CuratorSlot(c.key, c.regions, c.partner_types) for c in life.curators]

    def run(self, now: datetime, *, dry_run: bool = False) -> OnboardRun:
        """Onboard every partner whose agreement is signed and that is not onboarded yet; finish
        onboardings recorded by an earlier run. ``dry_run``: decide and show, write nothing."""
        life, run = self.life, OnboardRun()
        partners = life.partners()
        cards = life.acquisition_cards()
        states = life.store.lifecycle.all(life.portal)
        turn_state = life.store.get_state(life.portal, TURN_STATE) or {}
        turn = int(turn_state.get("turn", 0))
        recorded: list[LifecycleRow] = []
        for pid, card in sorted(cards.items(), key=lambda kv: kv[0]):
            partner = partners.get(pid)
            state = states.get(pid) or LifecycleRow(pid)
            if partner is None or state.onboarding_status == "done":
                continue
            if state.onboarding_status == "recorded" and state.onboarding:
                recorded.append(state)
                continue
            if card.stage not in self.cfg.trigger_stages:
                continue
            choice = assign_curator(self.rule, partner, self.slots, turn)
            turn = choice.turn
            signed_at = card.modified_at or now
            plan = plan_onboarding(partner, choice, self.first_tier, self.checklist, signed_at)
            if dry_run:
                row = OnboardRow(
                    partner,
                    card,
                    plan.curator_key,
                    plan.curator_why,
                    plan.first_tier,
                    len(plan.steps),
                    "would onboard",
                )
                run.rows.append(row)
                continue
            recorded.append(replace(state, onboarding_status="recorded", onboarding=_plan_json(plan)))
        if dry_run:
            return run
        fresh = [
            r
            for r in recorded
            if r.partner_id not in states or states[r.partner_id].onboarding_status != "recorded"
        ]
        life.store.lifecycle.save(life.portal, fresh)  # decided before any CRM write
        life.store.set_state(life.portal, TURN_STATE, {"turn": turn})
        for state in recorded:
            run.rows.append(self._apply(partners[state.partner_id], cards[state.partner_id], state, now))
        return run

    def _apply(self, partner: Partner, card: Deal, state: LifecycleRow, now: datetime) -> OnboardRow:
        life, plan = self.life, state.onboarding or {}
        curator = life.curator(plan.get("curator"))
        fields: dict[str, Any] = {
            "partner_since": datetime.fromisoformat(plan["since"]),
            "tier": plan["tier"],
        }
        if curator is not None:
            fields["curator"] = curator.crm_user_id
        errors: list[str] = []
        (out,) = life.crm.update_partners([PartnerUpdate(partner.crm_id, fields)])
        if not out.ok:
            errors.append(f"partner fields: {out.error}")
        if curator is not None:
            tasks = [
                TaskDraft(
                    f"onboarding:{partner.crm_id}:{step['key']}",
                    step["title"][:255],
                    step["description"] or step["title"],
                    curator.crm_user_id,
                    datetime.fromisoformat(step["deadline"]),
                    RecordRef(Entity.DEAL, card.crm_id),
                )
                for step in plan.get("steps", [])
            ]
            for task, done in zip(tasks, life.crm.create_tasks(tasks) if tasks else [], strict=True):
                if not done.ok:
                    errors.append(f"task {task.external_id}: {done.error}")
        if life.invite is not None:
            life.invite(partner, curator)
        if self.cfg.onboarding_stage and card.stage != self.cfg.onboarding_stage:
            move = RecordUpdate(Entity.DEAL, card.crm_id, stage=self.cfg.onboarding_stage, funnel=card.funnel)
            (moved,) = life.crm.update_records([move])
            if not moved.ok:
                errors.append(f"card move: {moved.error}")
        steps = len(plan.get("steps", []))
        if errors:
            log.warning("onboarding of partner %s not finished: %s", partner.crm_id, "; ".join(errors))
            return OnboardRow(
                partner,
                card,
                plan.get("curator"),
                plan.get("why", ""),
                plan["tier"],
                steps,
                "error",
                "; ".join(errors),
            )
        life.store.lifecycle.save(life.portal, [replace(state, onboarding_status="done", onboarded_at=now)])
        self._tell(partner, curator, plan, steps)
        return OnboardRow(
            partner, card, plan.get("curator"), plan.get("why", ""), plan["tier"], steps, "onboarded"
        )

    def _tell(self, partner: Partner, curator: Any, plan: dict[str, Any], steps: int) -> None:
        if curator is None:
            return
        said = words("lifecycle", self.life.locale)["onboarded"]
        text = said.format(partner=partner.name, why=plan.get("why", ""), tier=plan["tier"], steps=steps)
        self.life.notify("partner_onboarded", [curator], text, key=f"partner_onboarded:{partner.crm_id}")
