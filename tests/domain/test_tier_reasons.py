"""Tier decisions, read as the partner manager sees them: the whole decision (status, change, the
state to keep) and its reason word for word, numbers written as configured (12.50, not 12.5; 100000,
not 1E+5), in English and Russian."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

from crm_bridge.domain.tiers import (
    HysteresisMode,
    TierChange,
    TierDecision,
    TierLevel,
    TierPolicy,
    TierState,
    TierStatus,
    evaluate,
)

NOW = datetime(2026, 11, 1, 3, tzinfo=UTC)
LEVELS = (
    TierLevel("bronze", "Бронза"),
    TierLevel("silver", "Серебро", {"min_revenue": D("12.50"), "won_deals": D(1)}),
    TierLevel("gold", "Золото", {"revenue": D("1E+5"), "leads": D(0)}),
)
EN = TierPolicy(LEVELS, D(10), 2, HysteresisMode.EITHER)
RU = TierPolicy(LEVELS, D(10), 2, HysteresisMode.EITHER, locale="ru")


def test_a_partner_without_a_known_tier_is_assigned_the_earned_one_and_told_why() -> None:
    decision, state = evaluate(EN, "p1", None, {}, TierState(), NOW)
    why = "meets bronze: no thresholds"
    change = TierChange("p1", None, "bronze", "up", why, NOW)
    assert (decision, state) == (
        TierDecision("p1", TierStatus.ASSIGNED, None, "bronze", why, change),
        TierState(),
    )
    decision, _ = evaluate(EN, "p1", "diamond", {"revenue": D("12.5"), "won_deals": D(1)}, TierState(), NOW)
    why = "meets silver: revenue 12.5 >= 12.50; won deals 1 >= 1 (tier 'diamond' is not in the policy)"
    change = TierChange("p1", "diamond", "silver", "up", why, NOW)
    assert decision == TierDecision("p1", TierStatus.ASSIGNED, "diamond", "silver", why, change)


def test_a_metric_not_given_counts_as_zero() -> None:
    decision, _ = evaluate(EN, "p1", None, {"revenue": D(13)}, TierState(), NOW)
    assert decision.earned == "bronze"  # won deals: none given, the threshold is 1
    decision, _ = evaluate(
        EN, "p1", "bronze", {"revenue": D("100000.00"), "won_deals": D(1)}, TierState(), NOW
    )
    why = "meets gold: revenue 100000 >= 100000; leads 0 >= 0"
    change = TierChange("p1", "bronze", "gold", "up", why, NOW)
    assert decision == TierDecision("p1", TierStatus.UPGRADE, "bronze", "gold", why, change)


def test_an_unchanged_tier_restates_what_it_meets() -> None:
    decision, state = evaluate(
        EN, "p1", "silver", {"revenue": D("13.00"), "won_deals": D(2)}, TierState(), NOW
    )
    why = "meets silver: revenue 13 >= 12.50; won deals 2 >= 1"
    assert (decision, state) == (
        TierDecision("p1", TierStatus.UNCHANGED, "silver", "silver", why),
        TierState(),
    )


def test_a_first_warning_lists_every_threshold_missed_with_the_gap_and_the_rule() -> None:
    metrics = {"revenue": D(99_999), "leads": D(-1)}  # leads below 0: no gap to compute against 0
    runs_only = TierPolicy(LEVELS, D(10), 2, HysteresisMode.CONSECUTIVE)
    decision, state = evaluate(runs_only, "p1", "gold", metrics, TierState(), NOW)
    why = (
        "below gold: revenue 99999 < 100000 (0.0% below); leads -1 < 0 (0.0% below); below for 1 "
        "evaluation(s) (drops after 2 evaluations in a row)"
    )
    expected = TierDecision(
        "p1", TierStatus.WARNING, "gold", "bronze", why, first_warning=True, below_count=1, below_since=NOW
    )
    assert (decision, state) == (expected, TierState(1, NOW))


def test_a_downgrade_waits_for_the_grace_period_then_applies_and_says_so_in_russian() -> None:
    since = NOW - timedelta(days=3)
    below = (
        "ниже уровня «Золото»: выручка 50000 < 100000 (на 50.0% ниже); ниже порога оценок подряд: 2 "
        "(понижение после 2 оценок подряд или когда более чем на 10% ниже)"
    )
    change = TierChange("p1", "gold", "bronze", "down", below + "; теперь «Бронза»", NOW)
    decision, state = evaluate(
        RU, "p1", "gold", {"revenue": D(50_000)}, TierState(1, since), NOW, grace=timedelta(days=7)
    )
    due = NOW + timedelta(days=4)
    pending = below + "; понижение 2026-11-05 03:00 UTC, если показатели не восстановятся"
    assert (decision, state) == (
        TierDecision(
            "p1",
            TierStatus.DOWNGRADE_PENDING,
            "gold",
            "bronze",
            pending,
            change,
            below_count=2,
            below_since=since,
            downgrade_at=due,
        ),
        TierState(2, since),
    )
    decision, state = evaluate(RU, "p1", "gold", {"revenue": D(50_000)}, TierState(1, since), NOW)
    assert (decision, state) == (
        TierDecision(
            "p1",
            TierStatus.DOWNGRADE,
            "gold",
            "bronze",
            change.reason,
            change,
            below_count=2,
            below_since=since,
        ),
        TierState(),
    )


def test_more_than_the_margin_below_drops_at_once_and_exactly_the_margin_below_only_warns() -> None:
    def status(revenue: int) -> TierStatus:
        return evaluate(EN, "p1", "gold", {"revenue": D(revenue)}, TierState(), NOW)[0].status

    assert status(90_000) is TierStatus.WARNING  # 10 % below 100000: not more than the margin
    assert status(90_050) is TierStatus.WARNING
    assert status(89_999) is TierStatus.DOWNGRADE
