"""The lifecycle's pure rules: scorecard weighting and verdict, curator assignment, plan progress and
reminders, training counts, the access diff on a tier change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from crm_bridge.domain.access import Access, AccessPolicy, access_change, unlocked
from crm_bridge.domain.goals import Targets
from crm_bridge.domain.model import QUALIFICATION_CRITERIA, Partner, PartnerType
from crm_bridge.domain.onboarding import CuratorRule, CuratorSlot, assign_curator
from crm_bridge.domain.period import Period
from crm_bridge.domain.plans import ReminderRule, plan_status, reminder_due
from crm_bridge.domain.scorecard import Scorecard, Verdict, evaluate, scores_from_fields
from crm_bridge.domain.training import Completion, training_stats

CARD = Scorecard(
    {
        "values_fit": Decimal(25),
        "audience_overlap": Decimal(25),
        "reputation": Decimal(20),
        "track_record": Decimal(20),
        "scalability": Decimal(10),
    },
    Decimal(60),
    5,
    min_each=2,
)
scores = st.fixed_dictionaries({c: st.integers(0, 5) for c in QUALIFICATION_CRITERIA})


@given(scores)
def test_the_weighted_score_stays_within_0_and_100_and_passes_only_above_the_mark(
    card: dict[str, int],
) -> None:
    result = evaluate(CARD, card)
    assert result.score is not None and Decimal(0) <= result.score <= Decimal(100)
    passed = result.score >= 60 and min(card.values()) >= 2
    assert (result.verdict is Verdict.PASSED) == passed


@given(scores, st.sampled_from(QUALIFICATION_CRITERIA))
def test_a_better_score_on_one_criterion_never_lowers_the_total(card: dict[str, int], criterion: str) -> None:
    better = {**card, criterion: min(5, card[criterion] + 1)}
    assert evaluate(CARD, better).score >= evaluate(CARD, card).score  # type: ignore[operator]


def test_a_card_with_a_criterion_missing_gets_no_verdict_and_names_it() -> None:
    result = evaluate(CARD, {"values_fit": 5, "audience_overlap": 5}, "ru")
    assert result.verdict is Verdict.INCOMPLETE and result.score is None
    assert "Репутация и компетенции" in result.reason


def test_crm_field_values_become_scores_and_junk_is_left_out() -> None:
    raw = {
        "score_values_fit": "4",
        "score_reputation": 3.0,
        "score_scalability": "4.5",
        "score_track_record": "",
    }
    assert scores_from_fields(raw) == {"values_fit": 4, "reputation": 3}


def test_curators_by_region_in_turn_and_round_robin_when_nobody_covers_it() -> None:
    slots = [CuratorSlot("a", frozenset({"MSK"})), CuratorSlot("b", frozenset({"MSK"})), CuratorSlot("c")]
    msk = Partner("1", "P", region="msk")
    first = assign_curator(CuratorRule.REGION, msk, slots, 0)
    second = assign_curator(CuratorRule.REGION, msk, slots, first.turn)
    far = assign_curator(CuratorRule.REGION, Partner("2", "Q", region="Omsk"), slots, second.turn)
    kept = assign_curator(
        CuratorRule.PARTNER_TYPE, Partner("3", "R", type=PartnerType.RESELLER, curator_key="c"), slots, 5
    )
    assert (first.key, second.key) == ("a", "b")
    assert far.key == "c" and far.why.startswith("round-robin (no curator covers region Omsk")
    assert (kept.key, kept.turn) == ("c", 5)


Q4 = Period.quarter("2026-Q4")


def test_a_plan_trailing_the_calendar_is_reminded_once_per_stretch() -> None:
    rule = ReminderRule(Decimal(50), Decimal(30), Decimal(10))
    targets = Targets(revenue=Decimal(1000), won_deals=10)
    metrics = {"revenue": Decimal(300), "won_deals": Decimal(3)}
    early = plan_status("p", Q4, targets, metrics, datetime(2026, 11, 1, tzinfo=UTC))
    late = plan_status("p", Q4, targets, metrics, datetime(2026, 12, 5, tzinfo=UTC))
    later = plan_status("p", Q4, targets, metrics, datetime(2026, 12, 7, tzinfo=UTC))
    met = plan_status(
        "p",
        Q4,
        targets,
        {"revenue": Decimal(2000), "won_deals": Decimal(12)},
        datetime(2026, 12, 5, tzinfo=UTC),
    )
    assert reminder_due(rule, early) is None  # a third of the quarter gone: too early
    assert late.fulfilment == Decimal("30.0") and reminder_due(rule, late) == "70"
    assert reminder_due(rule, later) == "70"  # the same stretch: the same key, no second reminder
    assert met.fulfilment == Decimal("100.0") and reminder_due(rule, met) is None


def test_certified_people_are_distinct_people_with_a_certificate_still_valid() -> None:
    at = datetime(2026, 12, 1, tzinfo=UTC)
    done = [
        Completion("1", "a@x.ru", "c1", at - timedelta(days=10)),
        Completion("1", "A@x.ru", "c2", at - timedelta(days=5)),  # the same person again
        Completion("1", "b@x.ru", "c1", at - timedelta(days=400)),  # expired
        Completion("1", "c@x.ru", "c3", at - timedelta(days=3), certified=False),
        Completion("2", "d@y.ru", "c1", at + timedelta(days=1)),  # after the moment asked
    ]
    stats = training_stats(done, at, valid_days=365, period=Period.month("2026-11"))
    assert (stats["1"].certified_people, stats["1"].completions, stats["1"].certifications) == (1, 4, 2)
    assert "2" not in stats  # nothing of it counts yet


def test_access_is_cumulative_up_the_tiers_and_a_downgrade_loses_only_the_upper_tiers_items() -> None:
    policy = AccessPolicy(
        ("bronze", "silver", "gold"),
        {
            "silver": Access({"regions": frozenset({"Kazan"})}),
            "gold": Access({"products": frozenset({"Pro"})}),
        },
    )
    down = access_change(policy, "1", "gold", "silver")
    assert unlocked(policy, "gold").describe() == "regions: Kazan; products: Pro"
    assert down.lost.describe() == "products: Pro" and down.gained.is_empty()
    assert not access_change(policy, "1", "bronze", "bronze").changed
    flat = AccessPolicy(policy.tiers, policy.by_tier, cumulative=False)
    assert unlocked(flat, "gold").describe() == "products: Pro"
