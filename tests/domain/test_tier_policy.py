"""Tier policy: immediate upgrades, hysteresis on downgrades, warnings, grace, and the properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from crm_bridge.domain.tiers import (
    HysteresisMode,
    TierLevel,
    TierPolicy,
    TierState,
    TierStatus,
    evaluate,
)

NOW = datetime(2026, 11, 1, 3, tzinfo=UTC)
D = Decimal
LADDER = (
    TierLevel("bronze", "Bronze"),
    TierLevel("silver", "Silver", {"min_revenue": D(100_000), "min_won_deals": D(3)}),
    TierLevel("gold", "Gold", {"min_revenue": D(500_000), "min_won_deals": D(10)}),
    TierLevel(
        "platinum", "Platinum", {"min_revenue": D(2_000_000), "min_won_deals": D(25), "conversion": D(30)}
    ),
)


def policy(
    mode: HysteresisMode = HysteresisMode.EITHER, consecutive: int = 2, margin: int = 10
) -> TierPolicy:
    return TierPolicy(LADDER, D(margin), consecutive, mode)


def m(revenue: int, won: int, conversion: int | None = None) -> dict[str, Decimal]:
    values = {"revenue": D(revenue), "won_deals": D(won)}
    if conversion is not None:
        values["conversion"] = D(conversion)
    return values


def test_an_upgrade_happens_at_once_and_names_the_kpis_against_the_thresholds() -> None:
    decision, state = evaluate(policy(), "p1", "bronze", m(600_000, 12), TierState(3, NOW), NOW)
    assert decision.status is TierStatus.UPGRADE
    assert decision.change is not None
    assert (decision.change.old, decision.change.new, decision.change.direction) == ("bronze", "gold", "up")
    assert decision.change.reason == "meets gold: revenue 600000 >= 500000; won deals 12 >= 10"
    assert state == TierState()


def test_a_partner_without_a_tier_gets_the_one_it_earns_and_the_floor_at_least() -> None:
    decision, _ = evaluate(policy(), "p1", None, m(0, 0), TierState(), NOW)
    assert decision.status is TierStatus.ASSIGNED and decision.change and decision.change.new == "bronze"
    decision, _ = evaluate(policy(), "p1", "diamond", m(150_000, 4), TierState(), NOW)
    assert decision.change and decision.change.new == "silver"
    assert "'diamond' is not in the policy" in decision.reason


def test_a_partner_slightly_below_its_tier_is_warned_first_then_demoted_on_the_second_evaluation() -> None:
    first, state = evaluate(policy(), "p1", "gold", m(480_000, 10), TierState(), NOW)
    assert first.status is TierStatus.WARNING and first.first_warning and first.change is None
    assert "revenue 480000 < 500000 (4.0% below)" in first.reason
    assert "below for 1 evaluation(s)" in first.reason
    later = NOW + timedelta(days=1)
    second, state = evaluate(policy(), "p1", "gold", m(480_000, 10), state, later)
    assert second.status is TierStatus.DOWNGRADE and not second.first_warning
    assert second.change and (second.change.new, second.change.direction, second.change.at) == (
        "silver",
        "down",
        later,
    )
    assert state == TierState()


def test_a_partner_far_below_its_tier_drops_at_once_in_either_mode_but_not_in_consecutive_mode() -> None:
    far = m(300_000, 10)  # 40% below gold's revenue
    decision, _ = evaluate(policy(consecutive=5), "p1", "gold", far, TierState(), NOW)
    assert decision.status is TierStatus.DOWNGRADE
    decision, _ = evaluate(policy(HysteresisMode.CONSECUTIVE, 5), "p1", "gold", far, TierState(), NOW)
    assert decision.status is TierStatus.WARNING


def test_both_mode_needs_the_margin_and_the_run_of_evaluations() -> None:
    strict = policy(HysteresisMode.BOTH, consecutive=2)
    first, state = evaluate(strict, "p1", "gold", m(300_000, 10), TierState(), NOW)
    assert first.status is TierStatus.WARNING
    near, state_near = evaluate(strict, "p1", "gold", m(490_000, 10), state, NOW)
    assert near.status is TierStatus.WARNING and state_near.below_count == 2
    far, _ = evaluate(strict, "p1", "gold", m(300_000, 10), state, NOW)
    assert far.status is TierStatus.DOWNGRADE


def test_recovering_resets_the_count() -> None:
    _, state = evaluate(policy(consecutive=3), "p1", "gold", m(480_000, 10), TierState(), NOW)
    _, state = evaluate(policy(consecutive=3), "p1", "gold", m(520_000, 10), state, NOW)
    assert state == TierState()


def test_a_grace_period_keeps_a_due_downgrade_pending_until_it_runs_out() -> None:
    grace = timedelta(days=14)
    first, state = evaluate(
        policy(consecutive=1), "p1", "gold", m(480_000, 10), TierState(), NOW, grace=grace
    )
    assert first.status is TierStatus.DOWNGRADE_PENDING and first.first_warning
    assert first.downgrade_at == NOW + grace and first.change and first.change.new == "silver"
    assert "downgrade at 2026-11-15 03:00 UTC" in first.reason
    still, state = evaluate(
        policy(consecutive=1), "p1", "gold", m(480_000, 10), state, NOW + timedelta(days=7), grace=grace
    )
    assert still.status is TierStatus.DOWNGRADE_PENDING and not still.first_warning
    done, _ = evaluate(policy(consecutive=1), "p1", "gold", m(480_000, 10), state, NOW + grace, grace=grace)
    assert done.status is TierStatus.DOWNGRADE


def test_the_state_survives_a_round_trip_through_json_types() -> None:
    state = TierState(2, NOW)
    assert TierState.from_dict(state.to_dict()) == state
    assert TierState.from_dict(None) == TierState()


@pytest.mark.parametrize(
    ("levels", "message"),
    [
        ((), "at least one tier"),
        ((TierLevel("a"), TierLevel("a")), "used twice"),
        (
            (TierLevel("a", thresholds={"min_karma": D(1)}),),
            r"levels\[0\] \(a\): unknown threshold 'min_karma'",
        ),
        (
            (TierLevel("a"), TierLevel("b", thresholds={"min_revenue": D(-1)})),
            r"levels\[1\].min_revenue: must be >= 0",
        ),
    ],
)
def test_a_bad_policy_is_refused_with_the_key_path(levels: tuple[TierLevel, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TierPolicy(levels)


metrics_st = st.builds(
    m, st.integers(0, 3_000_000), st.integers(0, 40), st.one_of(st.none(), st.integers(0, 100))
)
tiers_st = st.sampled_from(["bronze", "silver", "gold", "platinum", None])
state_st = st.builds(TierState, st.integers(0, 5), st.just(NOW))
mode_st = st.sampled_from(list(HysteresisMode))


def _rank(key: str | None) -> int:
    return ["bronze", "silver", "gold", "platinum"].index(key) if key else -1


@given(metrics_st, metrics_st, tiers_st, state_st, mode_st, st.integers(1, 4))
def test_better_metrics_never_give_a_lower_tier_from_the_same_state(
    a: dict[str, Decimal],
    b: dict[str, Decimal],
    tier: str | None,
    state: TierState,
    mode: HysteresisMode,
    n: int,
) -> None:
    low = {k: min(a.get(k, D(0)), b.get(k, D(0))) for k in a.keys() | b.keys()}
    high = {k: max(a.get(k, D(0)), b.get(k, D(0))) for k in a.keys() | b.keys()}
    p = policy(mode, n)
    worse, _ = evaluate(p, "p", tier, low, state, NOW)
    better, _ = evaluate(p, "p", tier, high, state, NOW)
    applied = (TierStatus.ASSIGNED, TierStatus.UPGRADE, TierStatus.DOWNGRADE)
    rank_worse = _rank(worse.change.new if worse.change and worse.status in applied else tier)
    rank_better = _rank(better.change.new if better.change and better.status in applied else tier)
    assert rank_better >= rank_worse


@given(metrics_st, tiers_st, state_st, mode_st)
@example(m(150_000, 4), "bronze", TierState(1, NOW), HysteresisMode.BOTH)
def test_an_earned_higher_tier_is_granted_in_one_evaluation(
    metrics: dict[str, Decimal], tier: str | None, state: TierState, mode: HysteresisMode
) -> None:
    p = policy(mode)
    earned = p.levels[p.earned(metrics)].key
    decision, _ = evaluate(p, "p", tier, metrics, state, NOW)
    if _rank(earned) > _rank(tier):
        assert decision.change is not None and decision.change.new == earned


@given(
    st.lists(st.tuples(st.booleans(), st.integers(0, 99)), min_size=1, max_size=40),
    st.sampled_from([HysteresisMode.EITHER, HysteresisMode.BOTH, HysteresisMode.MARGIN]),
    st.integers(0, 40),
)
def test_metrics_oscillating_inside_the_hysteresis_band_never_change_the_tier(
    steps: list[tuple[bool, int]], mode: HysteresisMode, margin: int
) -> None:
    """Gold partner; each evaluation is either at gold (but below platinum) or below gold's revenue
    by at most the margin; runs below are shorter than ``consecutive`` (always, with MARGIN mode)."""
    n = 3
    p = policy(mode, consecutive=n, margin=margin)
    state, run = TierState(), 0
    for above, depth in steps:
        run = 0 if above else run + 1
        if run >= n and mode is not HysteresisMode.MARGIN:
            above, run = True, 0
        shortfall = D(500_000) * D(margin) / 100 * D(depth) / 100
        revenue = D(500_000) + D(depth) * 1000 if above else D(500_000) - shortfall
        decision, state = evaluate(p, "p", "gold", {"revenue": revenue, "won_deals": D(12)}, state, NOW)
        assert decision.status in (TierStatus.UNCHANGED, TierStatus.WARNING), decision.reason
        assert decision.change is None


def test_with_locale_ru_the_reasons_are_russian_and_name_the_tiers_by_their_names() -> None:
    ladder = (
        TierLevel("bronze", "Бронзовый"),
        TierLevel("silver", "Серебряный", {"min_revenue": D(100_000)}),
    )
    ru = TierPolicy(ladder, D(10), 2, HysteresisMode.EITHER, locale="ru")

    up, _ = evaluate(ru, "p1", "bronze", m(150_000, 0), TierState(), NOW)
    down, _ = evaluate(ru, "p1", "silver", m(50_000, 0), TierState(), NOW, grace=timedelta(days=14))

    assert up.reason == "условия уровня «Серебряный» выполнены: выручка 150000 ≥ 100000"
    assert down.reason == (
        "ниже уровня «Серебряный»: выручка 50000 < 100000 (на 50.0% ниже); ниже порога оценок подряд: 1 "
        "(понижение после 2 оценок подряд или когда более чем на 10% ниже); понижение 2026-11-15 03:00 UTC, "
        "если показатели не восстановятся"
    )
