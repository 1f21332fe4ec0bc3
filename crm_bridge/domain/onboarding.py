"""Onboarding a partner whose agreement is signed (acquisition funnel, last stages; handbook 5.1 and
7.0.1 §1.3): which curator gets it, and the curator's onboarding checklist as dated tasks.

Curator rule (one home, ``assign_curator``): ``round_robin`` hands partners out in turn;
``region``/``partner_type`` pick among the curators whose ``regions``/``partner_types`` match the
partner, in turn among several, and fall back to plain round-robin over everybody when nobody
matches (a partner is never left without a curator: the handbook gives every partner exactly one).
A partner that already has a curator keeps it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from crm_bridge.domain.model import Partner


class CuratorRule(StrEnum):
    ROUND_ROBIN = "round_robin"
    REGION = "region"
    PARTNER_TYPE = "partner_type"


@dataclass(frozen=True, slots=True)
class CuratorSlot:
    """A curator as the rule sees it: key, and what it covers (empty = anything)."""

    key: str
    regions: frozenset[str] = frozenset()
    partner_types: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class CuratorChoice:
    """``key`` None only when no curator is configured; ``turn`` is the round-robin counter to keep;
    ``why`` says how the choice was made (shown in the onboarding task and the CLI)."""

    key: str | None
    turn: int
    why: str


def _matches(rule: CuratorRule, slot: CuratorSlot, partner: Partner) -> bool:
    if rule is CuratorRule.REGION:
        return bool(partner.region) and partner.region.casefold() in {r.casefold() for r in slot.regions}
    if rule is CuratorRule.PARTNER_TYPE:
        return partner.type is not None and partner.type.value in slot.partner_types
    return True


def assign_curator(
    rule: CuratorRule, partner: Partner, curators: Sequence[CuratorSlot], turn: int
) -> CuratorChoice:
    """The curator for ``partner`` under ``rule``; ``turn`` is the round-robin counter so far."""
    if partner.curator_key and any(c.key == partner.curator_key for c in curators):
        return CuratorChoice(partner.curator_key, turn, "already assigned")
    if not curators:
        return CuratorChoice(None, turn, "no curator configured")
    pool = [c for c in curators if _matches(rule, c, partner)] if rule is not CuratorRule.ROUND_ROBIN else []
    if rule is CuratorRule.ROUND_ROBIN:
        why = "round-robin"
        pool = list(curators)
    elif pool:
        why = f"{rule.value} {partner.region if rule is CuratorRule.REGION else partner.type}"
    else:
        why = f"round-robin (no curator covers {rule.value} {partner.region or partner.type or '—'})"
        pool = list(curators)
    chosen = pool[turn % len(pool)]
    return CuratorChoice(chosen.key, turn + 1, why)


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    """One onboarding step for the curator: a task due ``due_days`` after the agreement."""

    key: str
    title: str
    due_days: int = 3
    description: str = ""


@dataclass(frozen=True, slots=True)
class OnboardingStep:
    key: str
    title: str
    description: str
    deadline: datetime


@dataclass(frozen=True, slots=True)
class OnboardingPlan:
    """What onboarding one partner means: its curator, the first tier, the date it became a
    partner, and the curator's dated steps."""

    partner_id: str
    curator_key: str | None
    curator_why: str
    first_tier: str
    partner_since: datetime
    steps: tuple[OnboardingStep, ...] = field(default_factory=tuple)


def plan_onboarding(
    partner: Partner,
    choice: CuratorChoice,
    first_tier: str,
    checklist: Sequence[ChecklistItem],
    signed_at: datetime,
) -> OnboardingPlan:
    """The onboarding of ``partner`` whose agreement was signed at ``signed_at``. A tier it already
    has is kept (a returning partner is not demoted to the first tier), so is its ``partner_since``."""
    steps = tuple(
        OnboardingStep(
            item.key,
            item.title.format(partner=partner.name),
            item.description.format(partner=partner.name),
            signed_at + timedelta(days=item.due_days),
        )
        for item in checklist
    )
    return OnboardingPlan(
        partner.crm_id,
        choice.key,
        choice.why,
        partner.tier or first_tier,
        partner.partner_since or signed_at,
        steps,
    )


def prospect_stages(stages: Sequence[tuple[str, bool]], trigger_stages: Sequence[str]) -> frozenset[str]:
    """The acquisition stages (``(key, lost)`` in funnel order) whose cards are prospects, not partners:
    every open stage before the first stage that signs the agreement, and the lost stages (not a fit).
    A prospect has no tier yet and is not evaluated for one."""
    result: set[str] = set()
    signed = False
    for key, lost in stages:
        signed = signed or key in trigger_stages
        if lost or not signed:
            result.add(key)
    return frozenset(result)
