"""Rewards: commission statements under effective-dated rules, MDF lines, points and leaderboard."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm_bridge.domain.model import Deal, Lead, StageKind
from crm_bridge.domain.period import Period
from crm_bridge.domain.rewards import (
    Activity,
    Bracket,
    MdfClaim,
    PointsRules,
    RewardRules,
    leaderboard,
    points,
    rules_for,
    statement,
)

D = Decimal
Q4 = Period.quarter("2026-Q4")
TIERED = RewardRules(date(2026, 1, 1), commission_by_tier={"silver": D(5), "gold": D("7.5")})


def won(n: int, amount: str, day: int = 1, partner: str = "p1", kind: StageKind = StageKind.WON) -> Deal:
    closed = datetime(2026, 10, day, 12, tzinfo=UTC)
    return Deal(
        f"D{n}", partner, f"deal {n}", "leads", "deal_closed", kind, D(amount), closed, closed_at=closed
    )


def test_commission_is_the_tier_percent_of_each_won_deal_in_the_period_only() -> None:
    deals = [
        won(1, "1000.10", 3),
        won(2, "200", 4, partner="p2"),
        won(3, "500", 5, kind=StageKind.LOST),
        won(4, "300", 6),
    ]
    late = datetime(2027, 1, 1, tzinfo=UTC)
    deals.append(
        Deal("D5", "p1", "next quarter", "leads", "won", StageKind.WON, D(900), late, closed_at=late)
    )
    s = statement("p1", Q4, deals, None, [TIERED], tier="gold")
    assert [(ln.record_id, ln.amount) for ln in s.lines] == [("D1", D("75.01")), ("D4", D("22.50"))]
    assert s.total == D("97.51") and s.revenue == D("1300.10") and not s.plan_met


def test_rounding_happens_per_line_half_up_and_the_total_is_the_sum_of_lines() -> None:
    rules = RewardRules(date(2026, 1, 1), commission_by_tier={"t": D(5)})
    s = statement(
        "p1", Q4, [won(1, "0.10", 1), won(2, "0.10", 2), won(3, "0.10", 3)], None, [rules], tier="t"
    )
    assert [ln.amount for ln in s.lines] == [D("0.01")] * 3  # 0.005 each rounds up
    assert s.total == D("0.03")  # not round(0.015) = 0.02


def test_commission_by_revenue_brackets_is_marginal_in_close_order() -> None:
    rules = RewardRules(date(2026, 1, 1), brackets=(Bracket(D(0), D(5)), Bracket(D(1000), D(10))))
    s = statement("p1", Q4, [won(2, "600", 9), won(1, "800", 2)], None, [rules])
    assert [ln.record_id for ln in s.lines] == ["D1", "D2"]
    assert [ln.amount for ln in s.lines] == [D("40.00"), D("50.00")]  # 200*5% + 400*10% for the second
    assert "5% on 200" in s.lines[1].description and "10% on 400" in s.lines[1].description


def test_plan_bonus_and_over_performance_are_paid_only_when_the_plan_is_met() -> None:
    rules = RewardRules(
        date(2026, 1, 1),
        commission_by_tier={"t": D(0)},
        plan_bonus_fixed=D(500),
        over_performance_percent=D(2),
    )
    met = statement("p1", Q4, [won(1, "12000")], D(10000), [rules], tier="t")
    kinds = {ln.kind: ln.amount for ln in met.lines}
    assert met.plan_met and kinds["plan_bonus"] == D("500.00") and kinds["over_performance"] == D("40.00")
    missed = statement("p1", Q4, [won(1, "9999.99")], D(10000), [rules], tier="t")
    assert not missed.plan_met and {ln.kind for ln in missed.lines} == {"commission"}


def test_a_percent_plan_bonus_is_a_percent_of_the_period_revenue() -> None:
    rules = RewardRules(date(2026, 1, 1), commission_by_tier={"t": D(0)}, plan_bonus_percent=D(3))
    s = statement("p1", Q4, [won(1, "1000"), won(2, "1000")], D(2000), [rules], tier="t")
    assert [ln.amount for ln in s.lines if ln.kind == "plan_bonus"] == [D("60.00")]


def test_a_statement_uses_the_rules_effective_at_the_period_start_so_past_statements_do_not_change() -> None:
    raised = RewardRules(date(2027, 1, 1), commission_by_tier={"gold": D(20)})
    mid_quarter = RewardRules(date(2026, 11, 15), commission_by_tier={"gold": D(50)})
    s = statement("p1", Q4, [won(1, "1000")], None, [TIERED, raised, mid_quarter], tier="gold")
    assert s.rules_effective_from == date(2026, 1, 1) and s.total == D("75.00")


def test_the_rule_set_for_a_local_time_zone_month_is_the_one_of_its_first_local_day() -> None:
    msk = timezone(timedelta(hours=3))
    november = Period.month("2026-11", msk)
    new_rates = RewardRules(date(2026, 11, 1), commission_by_tier={"gold": D(1)})
    deal = Deal(
        "D1", "p1", "x", "leads", "won", StageKind.WON, D(100), november.start, closed_at=november.start
    )
    assert statement("p1", november, [deal], None, [TIERED, new_rates], tier="gold").total == D("1.00")


def test_rules_missing_for_the_date_or_the_tier_are_reported() -> None:
    with pytest.raises(ValueError, match="no reward rules are effective on 2025-12-31"):
        rules_for([TIERED], date(2025, 12, 31))
    with pytest.raises(ValueError, match="no commission percent for tier 'bronze'"):
        statement("p1", Q4, [won(1, "10")], None, [TIERED], tier="bronze")


def test_rule_sets_must_choose_one_commission_scheme_and_sane_brackets() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        RewardRules(date(2026, 1, 1))
    with pytest.raises(ValueError, match="start at 0"):
        RewardRules(date(2026, 1, 1), brackets=(Bracket(D(100), D(5)),))


def test_leads_count_as_won_records_too() -> None:
    closed = datetime(2026, 10, 2, tzinfo=UTC)
    lead = Lead("L1", "p1", "lead", "deal_closed", StageKind.WON, closed, amount=D(200), closed_at=closed)
    assert statement("p1", Q4, [lead], None, [TIERED], tier="silver").total == D("10.00")


def test_mdf_lines_pay_approved_minus_reimbursed_capped_by_the_budget() -> None:
    claims = [MdfClaim("expo", D(600), D(500), D(100)), MdfClaim("ads", D(800), D(800))]
    s = statement("p1", Q4, [], None, [TIERED], claims, tier="gold", mdf_budget=D(1000))
    assert [ln.amount for ln in s.lines] == [D("400.00"), D("500.00")]
    assert "capped by the remaining budget 500.00" in s.lines[1].description
    assert s.mdf is not None and s.mdf.requested == D(1400) and s.mdf.remaining_budget == D(0)
    assert s.total == D("900.00")


def test_an_mdf_claim_cannot_approve_more_than_requested() -> None:
    with pytest.raises(ValueError, match="approved is more than requested"):
        MdfClaim("expo", D(100), D(101))


def test_points_add_deals_leads_revenue_units_and_training() -> None:
    rules = PointsRules(per_won_deal=10, per_lead=1, revenue_unit=D(1000), training_completed=50)
    assert (
        points(Activity("p1", won_deals=2, leads=7, revenue=D("2999.99"), training_completed=True), rules)
        == 79
    )


def test_leaderboard_ranks_by_points_then_revenue_and_shares_ranks_on_full_ties() -> None:
    rules = PointsRules(per_won_deal=10, per_lead=0, training_completed=0)
    rows = leaderboard(
        [
            Activity("c", won_deals=1, revenue=D(100)),
            Activity("a", won_deals=1, revenue=D(100)),
            Activity("b", won_deals=1, revenue=D(500)),
            Activity("d", won_deals=3),
        ],
        rules,
    )
    assert [(r.rank, r.partner_id) for r in rows] == [(1, "d"), (2, "b"), (3, "a"), (3, "c")]


@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 3), st.sampled_from([D(0), D(100)])),
        min_size=1,
        max_size=8,
    ),
    st.randoms(),
)
def test_leaderboard_does_not_depend_on_input_order(
    rows: list[tuple[int, int, Decimal]], rnd: object
) -> None:
    acts = [Activity(f"p{i}", won_deals=w, leads=n, revenue=r) for i, (w, n, r) in enumerate(rows)]
    shuffled = list(acts)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert leaderboard(acts, PointsRules()) == leaderboard(shuffled, PointsRules())


def test_points_add_certifications_and_the_training_bonus_only_when_training_is_completed() -> None:
    rules = PointsRules(per_won_deal=10, per_lead=1, training_completed=50, per_certification=7)
    assert points(Activity("p1", won_deals=2, leads=3, certifications=2), rules) == 20 + 3 + 14
    assert (
        points(Activity("p1", won_deals=2, leads=3, certifications=2, training_completed=True), rules) == 87
    )
    assert points(Activity("p1"), rules) == 0


def test_leaderboard_breaks_a_points_and_revenue_tie_by_won_deals_and_names_a_nameless_partner_by_id() -> (
    None
):
    rules = PointsRules(per_won_deal=10, per_lead=1)
    fewer = Activity("p-a", won_deals=1, leads=10, revenue=Decimal(500), name="Alpha")  # 20 points
    more = Activity("p-b", won_deals=2, leads=0, revenue=Decimal(500))  # 20 points, more won deals
    rows = leaderboard([fewer, more], rules)
    assert [(r.rank, r.partner_id, r.name, r.points) for r in rows] == [
        (1, "p-b", "p-b", 20),
        (2, "p-a", "Alpha", 20),
    ]
