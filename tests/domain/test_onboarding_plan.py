"""Onboarding a signed partner (handbook 5.1, 7.0.1 §1.3): the curator's dated checklist, a returning
partner's tier and start date kept, and which acquisition cards are prospects rather than partners.
Hard-coded expectations; mutation testing (scripts/mutation.sh) found these reached by no domain test."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from crm_bridge.domain.funnels import default_funnels
from crm_bridge.domain.kpis import DepartmentKpis
from crm_bridge.domain.model import FunnelKey, Partner, PartnerType
from crm_bridge.domain.onboarding import (
    ChecklistItem,
    CuratorChoice,
    CuratorRule,
    CuratorSlot,
    OnboardingStep,
    assign_curator,
    plan_onboarding,
    prospect_stages,
)

SIGNED = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
CHECKLIST = (
    ChecklistItem("welcome", "Welcome call with {partner}", due_days=1, description="Introduce {partner}"),
    ChecklistItem("training", "Enrol {partner} in training", due_days=7),
    ChecklistItem("default_due", "Send the handbook"),
)


def test_a_new_partner_gets_the_first_tier_and_a_step_per_checklist_item_dated_from_the_signature() -> None:
    plan = plan_onboarding(
        Partner("42", "Acme"), CuratorChoice("anna", 3, "region Moscow"), "bronze", CHECKLIST, SIGNED
    )

    assert plan.partner_id == "42"
    assert (plan.curator_key, plan.curator_why) == ("anna", "region Moscow")
    assert plan.first_tier == "bronze"
    assert plan.partner_since == SIGNED
    assert plan.steps == (
        OnboardingStep(
            "welcome", "Welcome call with Acme", "Introduce Acme", datetime(2026, 11, 3, 9, 30, tzinfo=UTC)
        ),
        OnboardingStep("training", "Enrol Acme in training", "", datetime(2026, 11, 9, 9, 30, tzinfo=UTC)),
        OnboardingStep("default_due", "Send the handbook", "", datetime(2026, 11, 5, 9, 30, tzinfo=UTC)),
    )


def test_a_returning_partner_keeps_its_tier_and_the_date_it_first_became_a_partner() -> None:
    since = datetime(2024, 3, 1, tzinfo=UTC)
    returning = Partner("7", "Old Friend", tier="gold", partner_since=since)

    plan = plan_onboarding(returning, CuratorChoice(None, 0, "no curator configured"), "bronze", (), SIGNED)

    assert (plan.first_tier, plan.partner_since) == ("gold", since)
    assert plan.curator_key is None and plan.steps == ()


def test_prospects_are_the_open_stages_before_the_signature_and_every_lost_stage() -> None:
    acquisition = next(f for f in default_funnels() if f.key == FunnelKey.ACQUISITION.value)
    stages = [(s.key, s.kind.value == "lost") for s in acquisition.stages]

    assert prospect_stages(stages, ["agreement_signed"]) == {
        "identification",
        "first_contact",
        "negotiation",
        "not_a_fit",
    }
    # the first signing stage counts, even when a later one is also named
    assert prospect_stages(stages, ["onboarding", "negotiation"]) == {
        "identification",
        "first_contact",
        "not_a_fit",
    }
    assert prospect_stages([("a", False), ("b", True), ("c", False)], []) == {"a", "b", "c"}


def test_a_funnel_finds_a_stage_by_its_key_and_nothing_for_an_unknown_key() -> None:
    acquisition = next(f for f in default_funnels() if f.key == FunnelKey.ACQUISITION.value)

    found = acquisition.stage("negotiation")

    assert found is not None and found.names["en"] == "Negotiation and terms"
    assert acquisition.stage("no_such_stage") is None


def test_the_department_metrics_a_goal_can_name_with_conversion_and_repeat_share_only_when_defined() -> None:
    busy = DepartmentKpis(
        new_partners=3,
        partners=10,
        leads=40,
        qualified=20,
        won_of_leads=10,
        won=8,
        repeat_won=2,
        revenue=Decimal("1500.50"),
    )

    assert busy.metrics() == {
        "revenue": Decimal("1500.50"),
        "won_deals": Decimal(8),
        "leads": Decimal(40),
        "qualified_leads": Decimal(20),
        "new_partners": Decimal(3),
        "conversion": Decimal(25),
        "repeat_share": Decimal(25),
    }
    assert DepartmentKpis().metrics() == {
        "revenue": Decimal(0),
        "won_deals": Decimal(0),
        "leads": Decimal(0),
        "qualified_leads": Decimal(0),
        "new_partners": Decimal(0),
    }


def test_round_robin_hands_partners_out_in_turn_and_says_so() -> None:
    slots = [CuratorSlot("a"), CuratorSlot("b")]

    first = assign_curator(CuratorRule.ROUND_ROBIN, Partner("1", "P"), slots, 0)
    second = assign_curator(CuratorRule.ROUND_ROBIN, Partner("2", "Q"), slots, first.turn)
    third = assign_curator(CuratorRule.ROUND_ROBIN, Partner("3", "R"), slots, second.turn)

    assert [(c.key, c.turn, c.why) for c in (first, second, third)] == [
        ("a", 1, "round-robin"),
        ("b", 2, "round-robin"),
        ("a", 3, "round-robin"),
    ]
    assert assign_curator(CuratorRule.REGION, Partner("4", "S"), [], 5) == CuratorChoice(
        None, 5, "no curator configured"
    )


def test_a_partner_keeps_its_curator_only_while_that_curator_is_still_configured() -> None:
    slots = [CuratorSlot("a"), CuratorSlot("b")]

    kept = assign_curator(CuratorRule.ROUND_ROBIN, Partner("1", "P", curator_key="b"), slots, 4)
    gone = assign_curator(CuratorRule.ROUND_ROBIN, Partner("2", "Q", curator_key="left"), slots, 4)

    assert kept == CuratorChoice("b", 4, "already assigned")
    assert gone == CuratorChoice("a", 5, "round-robin")


def test_the_curator_choice_says_which_rule_and_value_decided_it() -> None:
    slots = [
        CuratorSlot("north", regions=frozenset({"Murmansk"})),
        CuratorSlot("resale", partner_types=frozenset({"reseller"})),
    ]
    reseller = Partner("1", "P", type=PartnerType.RESELLER, region="Murmansk")
    nobody = Partner("2", "Q")

    assert assign_curator(CuratorRule.REGION, reseller, slots, 0) == CuratorChoice(
        "north", 1, "region Murmansk"
    )
    assert assign_curator(CuratorRule.PARTNER_TYPE, reseller, slots, 0) == CuratorChoice(
        "resale", 1, "partner_type reseller"
    )
    assert assign_curator(CuratorRule.PARTNER_TYPE, nobody, slots, 1) == CuratorChoice(
        "resale", 2, "round-robin (no curator covers partner_type —)"
    )
    assert assign_curator(
        CuratorRule.REGION, reseller, [CuratorSlot("x", regions=frozenset({"Omsk"}))], 0
    ) == (CuratorChoice("x", 1, "round-robin (no curator covers region Murmansk)"))
