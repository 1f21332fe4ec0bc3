"""Periods, department and partner KPIs, funnel conversion and plan vs actual."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm_bridge.domain.goals import Targets, plan_met, progress, targets_for
from crm_bridge.domain.kpis import compute_kpis, funnel_conversion
from crm_bridge.domain.model import Deal, Lead, Partner, StageKind
from crm_bridge.domain.period import Period

STAGES = ["lead_registered", "qualification", "offer"]
NOV = Period.month("2026-11")


def at(day: int, month: int = 11, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def lead(
    n: int,
    partner: str | None = "p1",
    stage: str = "lead_registered",
    kind: StageKind = StageKind.OPEN,
    created: datetime | None = None,
    **extra: object,
) -> Lead:
    return Lead(str(n), partner, f"lead {n}", stage, kind, created or at(5), **extra)  # type: ignore[arg-type]


def test_periods_are_half_open_and_parse_the_config_keys() -> None:
    assert Period.month("2026-11").start == datetime(2026, 11, 1, tzinfo=UTC)
    assert Period.month("2026-12").end == datetime(2027, 1, 1, tzinfo=UTC)
    q4 = Period.parse("2026-Q4")
    assert (q4.start, q4.end, q4.kind) == (at(1, 10, 0), datetime(2027, 1, 1, tzinfo=UTC), "quarter")
    assert Period.parse("2026").end == datetime(2027, 1, 1, tzinfo=UTC)
    assert NOV.contains(at(1, 11, 0)) and not NOV.contains(datetime(2026, 12, 1, tzinfo=UTC))
    assert Period.month("2026-01").previous().key == "2025-12"
    assert Period.quarter("2026-Q1").previous().key == "2025-Q4"
    with pytest.raises(ValueError, match="not a period"):
        Period.parse("2026-13")


def test_a_month_in_moscow_starts_at_21_00_utc_the_day_before() -> None:
    moscow = Period.month("2026-11", ZoneInfo("Europe/Moscow"))
    assert moscow.start == datetime(2026, 10, 31, 21, tzinfo=UTC)
    assert Period.containing(moscow.start, "month", ZoneInfo("Europe/Moscow")).key == "2026-11"


def test_a_rolling_window_ends_at_now_exclusive() -> None:
    window = Period.rolling(at(30), 30)
    assert window.start == at(31, 10) and window.end == at(30)
    assert not window.contains(at(30))


def test_partner_kpis_count_leads_qualified_won_revenue_and_average_deal() -> None:
    leads = [
        lead(1),  # registered, not qualified
        lead(2, stage="qualification"),
        lead(3, stage="offer"),
        lead(4, stage="deal_closed", kind=StageKind.WON, amount=Decimal("1000.50"), closed_at=at(20)),
        lead(5, stage="deal_closed", kind=StageKind.WON, amount=Decimal("2000"), closed_at=at(2, 12)),
        lead(6, stage="lead_lost", kind=StageKind.LOST, furthest_stage="offer"),
        lead(7, stage="lead_lost", kind=StageKind.LOST),  # lost, history unknown: not qualified
        lead(8, created=at(20, 10)),  # October: not this period
        lead(9, partner=None),  # not a partner lead
    ]
    report = compute_kpis(NOV, leads, lead_stages=STAGES)
    p1 = report.partners["p1"]
    assert (p1.leads, p1.qualified, p1.won_of_leads, p1.won) == (7, 5, 2, 1)
    assert p1.conversion == Decimal("28.57")  # 2 of 7 leads won (one closes in December)
    assert p1.revenue == Decimal("1000.50") and p1.average_deal == Decimal("1000.50")
    assert report.department.leads == 7 and set(report.partners) == {"p1"}


def test_won_partner_deals_add_revenue_and_repeat_share() -> None:
    deals = [
        Deal(
            "d1",
            "p1",
            "repeat",
            "repeat",
            "repeat_won",
            StageKind.WON,
            Decimal("300"),
            at(1),
            closed_at=at(3),
        ),
        Deal("d2", "p2", "x", "other", "won", StageKind.WON, Decimal("700"), at(1), closed_at=at(4)),
        Deal("d3", "p2", "x", "repeat", "negotiation", StageKind.OPEN, Decimal("900"), at(1)),
    ]
    leads = [lead(1, stage="deal_closed", kind=StageKind.WON, amount=Decimal("1000"), closed_at=at(9))]
    dept = compute_kpis(NOV, leads, deals, lead_stages=STAGES).department
    assert (dept.won, dept.repeat_won, dept.revenue) == (3, 1, Decimal("2000"))
    assert dept.repeat_share == Decimal("33.33")


def test_new_partners_active_partners_and_training_completion() -> None:
    partners = [
        Partner("p1", "A", partner_since=at(3), training_completed=True),
        Partner("p2", "B", partner_since=at(3, 10)),
        Partner("p3", "C"),
    ]
    report = compute_kpis(NOV, [lead(1, "p2")], (), partners, lead_stages=STAGES)
    dept = report.department
    assert (dept.new_partners, dept.partners, dept.active_partners) == (1, 3, 1)
    assert dept.training_completion == Decimal("33.33")
    assert report.partners["p3"].leads == 0 and report.partners["p3"].conversion is None
    assert report.partners["p1"].training_completed


def test_time_to_first_touch_median_and_mean() -> None:
    leads = [lead(i, first_touch_at=at(5) + timedelta(hours=h)) for i, h in enumerate([1, 2, 9])] + [lead(9)]
    p1 = compute_kpis(NOV, leads, lead_stages=STAGES).partners["p1"]
    assert p1.median_first_touch == timedelta(hours=2)
    assert p1.mean_first_touch == timedelta(hours=4)
    assert p1.touched == 3


def test_funnel_conversion_counts_every_lead_at_each_stage_it_passed() -> None:
    leads = [
        lead(1),
        lead(2, stage="qualification"),
        lead(3, stage="offer"),
        lead(4, stage="deal_closed", kind=StageKind.WON),
        lead(5, stage="lead_lost", kind=StageKind.LOST, furthest_stage="qualification"),
    ]
    rows = funnel_conversion(leads, STAGES, "deal_closed", NOV)
    assert [(r.stage, r.reached) for r in rows] == [
        ("lead_registered", 5),
        ("qualification", 4),
        ("offer", 2),
        ("deal_closed", 1),
    ]
    assert rows[2].of_previous == Decimal("50.00") and rows[3].of_first == Decimal("20.00")


@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 3)), max_size=60))
def test_department_totals_are_the_sum_of_partner_kpis(rows: list[tuple[int, int]]) -> None:
    kinds = [StageKind.OPEN, StageKind.OPEN, StageKind.WON, StageKind.LOST, StageKind.OPEN]
    stages = ["lead_registered", "offer", "deal_closed", "lead_lost", "qualification"]
    leads = [
        lead(i, f"p{p}", stages[s], kinds[s], amount=Decimal(i), closed_at=at(7))
        for i, (s, p) in enumerate(rows)
    ]
    report = compute_kpis(NOV, leads, lead_stages=STAGES)
    parts = report.partners.values()
    assert report.department.revenue == sum((k.revenue for k in parts), Decimal(0))
    assert report.department.leads == len(rows) == sum(k.leads for k in parts)
    reach = funnel_conversion(leads, STAGES, "deal_closed")
    assert reach[1].reached == report.department.qualified
    assert reach[-1].reached == report.department.won


def test_plan_vs_actual_names_each_target_with_fulfilment() -> None:
    p1 = compute_kpis(
        NOV,
        [lead(1, stage="deal_closed", kind=StageKind.WON, amount=Decimal("500"), closed_at=at(9)), lead(2)],
        lead_stages=STAGES,
    ).partners["p1"]
    rows = progress(Targets(revenue=Decimal("1000"), leads=2), p1.metrics())
    assert [(r.target, r.actual, r.fulfilment, r.met) for r in rows] == [
        ("revenue", Decimal("500"), Decimal("50.00"), False),
        ("leads", Decimal("2"), Decimal("100.00"), True),
    ]
    assert not plan_met(Targets(revenue=Decimal("1000"), leads=2), p1.metrics())
    assert plan_met(Targets(leads=2), p1.metrics())
    assert not plan_met(Targets(), p1.metrics())  # no plan is not a met plan


def test_a_partners_own_plan_wins_over_its_tier_default_of_the_same_period_kind() -> None:
    own = Targets(leads=5)
    gold = Targets(leads=20)
    goals = {"p1": {"2026-11": own}}
    q4 = Period.quarter("2026-Q4")
    assert targets_for("p1", NOV, goals, tier="gold", tier_defaults={"gold": gold}) is own
    assert targets_for("p2", q4, goals, tier="gold", tier_defaults={"gold": gold}) is gold
    assert targets_for("p2", NOV, goals, tier="gold", tier_defaults={"gold": gold}) is None
