"""Edges of the domain rules that mutation testing (scripts/mutation.sh) showed no test stating: MDF lines
and their budget, claim validation, rolling windows, the time gone in a plan period, a partner's metric
keys, the tier memory the store persists, scorecard fields and a customer's identity. Hard-coded
expectations, through the domain's public functions."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from crm_bridge.domain.distribution import DistributionState
from crm_bridge.domain.kpis import PartnerKpis, StageReach, compute_kpis, funnel_conversion
from crm_bridge.domain.model import CustomerIdentity, Deal, Lead, Partner, StageKind
from crm_bridge.domain.period import Period
from crm_bridge.domain.plans import elapsed_percent
from crm_bridge.domain.registration import RegistrationRecord, normalise_identity
from crm_bridge.domain.rewards import (
    Bracket,
    MdfClaim,
    MdfSummary,
    RewardRules,
    Statement,
    StatementLine,
    rules_for,
    statement,
)
from crm_bridge.domain.scorecard import criterion_name, scores_from_fields
from crm_bridge.domain.tiers import TierState
from crm_bridge.domain.training import Completion, TrainingStats, training_stats

D = Decimal
Q4 = Period.quarter("2026-Q4")
RULES = RewardRules(date(2026, 1, 1), commission_by_tier={"gold": D(5)})


def mdf_statement(claims: list[MdfClaim], budget: Decimal | None) -> tuple[list[StatementLine], object]:
    s = statement("p1", Q4, [], None, [RULES], claims, tier="gold", mdf_budget=budget)
    return list(s.lines), s.mdf


def test_without_a_budget_each_mdf_claim_pays_approved_minus_what_was_already_paid() -> None:
    lines, summary = mdf_statement(
        [MdfClaim("expo", D(600), D(500), D(100)), MdfClaim("ads", D(800), D(800))], None
    )

    assert lines == [
        StatementLine("mdf", "MDF: expo: requested 600, approved 500, paid 100", D(500), None, D("400.00")),
        StatementLine("mdf", "MDF: ads: requested 800, approved 800, paid 0", D(800), None, D("800.00")),
    ]
    assert summary == MdfSummary(None, D(1400), D(1300), D(100), D("1200.00"), None)


def test_a_budget_caps_the_claims_in_order_and_says_by_how_much_was_left() -> None:
    claims = [
        MdfClaim("expo", D(600), D(500), D(100)),  # fits: 1200 left, pays 400, leaves 700
        MdfClaim("ads", D(800), D(800)),  # only 700 left: pays 700
        MdfClaim("print", D(300), D(200)),  # nothing left
    ]

    lines, summary = mdf_statement(claims, D(1200))

    assert [(ln.description, ln.amount) for ln in lines] == [
        ("MDF: expo: requested 600, approved 500, paid 100", D("400.00")),
        ("MDF: ads: requested 800, approved 800, paid 0 (capped by the remaining budget 700.00)", D(700)),
        ("MDF: print: requested 300, approved 200, paid 0 (capped by the remaining budget 0.00)", D(0)),
    ]
    assert summary == MdfSummary(D(1200), D(1700), D(1500), D(100), D("1100.00"), D(0))
    _, roomy = mdf_statement(claims[:1], D(2000))
    assert roomy == MdfSummary(D(2000), D(600), D(500), D(100), D("400.00"), D(1500))


@pytest.mark.parametrize(
    ("requested", "approved", "reimbursed", "message"),
    [
        ("-1", "0", "0", "amounts must not be negative"),
        ("100", "-1", "0", "amounts must not be negative"),
        ("100", "50", "-1", "amounts must not be negative"),
        ("100", "50", "51", "reimbursed is more than approved"),
    ],
)
def test_an_mdf_claim_refuses_negative_amounts_and_paying_more_than_approved(
    requested: str, approved: str, reimbursed: str, message: str
) -> None:
    with pytest.raises(ValueError, match=rf"^MDF claim 'expo': {message}$"):
        MdfClaim("expo", D(requested), D(approved), D(reimbursed))


def test_an_mdf_claim_may_be_paid_in_full() -> None:
    assert MdfClaim("expo", D(100), D(50), D(50)).reimbursed == D(50)


def test_a_rolling_window_is_the_days_up_to_its_end_named_in_utc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Tokyo")  # the machine's zone does not leak into the window
    time.tzset()
    try:
        end = datetime(2026, 11, 30, 12, 0, tzinfo=ZoneInfo("Europe/Moscow"))
        window = Period.rolling(end, 1)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()

    assert window.start == datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
    assert window.end == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    assert (window.key, window.kind) == ("1d to 2026-11-30 09:00", "rolling")
    with pytest.raises(ValueError, match="^a rolling window needs at least one day$"):
        Period.rolling(end, 0)


def test_the_time_gone_in_a_plan_period_is_rounded_down_to_a_tenth() -> None:
    three_days = Period(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 4, tzinfo=UTC), "3d")

    assert elapsed_percent(three_days, datetime(2026, 10, 31, tzinfo=UTC)) == D(0)
    assert elapsed_percent(three_days, datetime(2026, 11, 3, tzinfo=UTC)) == D("66.6")  # not 66.7
    assert elapsed_percent(three_days, datetime(2026, 11, 5, tzinfo=UTC)) == D(100)


def test_a_partner_s_metrics_carry_the_keys_tier_thresholds_name() -> None:
    active = PartnerKpis("p1", leads=8, qualified=4, won_of_leads=2, won=3, revenue=D("900.50"))

    assert active.metrics() == {
        "revenue": D("900.50"),
        "won_deals": D(3),
        "leads": D(8),
        "qualified_leads": D(4),
        "conversion": D(25),
    }
    assert PartnerKpis("p2", won=1, revenue=D(10)).metrics() == {  # no leads: no conversion at all
        "revenue": D(10),
        "won_deals": D(1),
        "leads": D(0),
        "qualified_leads": D(0),
    }


def test_the_tier_memory_round_trips_through_what_the_store_keeps() -> None:
    since = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)

    assert TierState().to_dict() == {"below_count": 0, "below_since": None}
    assert TierState(2, since).to_dict() == {"below_count": 2, "below_since": "2026-11-01T06:00:00+00:00"}
    assert TierState.from_dict({"below_count": 2, "below_since": None}) == TierState(2, None)
    assert TierState.from_dict({"below_since": "2026-11-01T06:00:00+00:00"}) == TierState(0, since)
    assert TierState.from_dict(None) == TierState() == TierState.from_dict({})


def test_scorecard_fields_are_read_past_an_empty_one() -> None:
    fields = {"score_values_fit": "", "score_audience_overlap": "4", "score_reputation": 3.0}

    assert scores_from_fields(fields) == {"audience_overlap": 4, "reputation": 3}


def test_a_customer_identity_is_normalised_with_the_country_code_and_inn_rules_given() -> None:
    german = CustomerIdentity("Anna@Example.DE", "030 1234567", "7707083893")
    expected = CustomerIdentity("anna@example.de", "+49301234567", "7707083893")
    assert normalise_identity(german, "+49") == expected

    short = CustomerIdentity(tax_id="123456789")
    with pytest.raises(ValueError, match="^tax_id: an ИНН has 10 or 12 digits, this one has 9$"):
        normalise_identity(short)
    assert normalise_identity(short, inn=False).tax_id == "123456789"

    typo = CustomerIdentity(tax_id="7707083894")
    assert normalise_identity(typo).tax_id == "7707083894"  # the control digits only when asked
    with pytest.raises(ValueError, match="control digits do not match"):
        normalise_identity(typo, inn_checksum=True)


def test_a_year_is_its_local_calendar_year_and_the_previous_year_comes_before_it() -> None:
    moscow = ZoneInfo("Europe/Moscow")

    year = Period.year("2026", moscow)

    assert (year.start, year.end) == (
        datetime(2025, 12, 31, 21, 0, tzinfo=UTC),
        datetime(2026, 12, 31, 21, 0, tzinfo=UTC),
    )
    assert (year.key, year.kind) == ("2026", "year")
    assert year.previous(moscow) == Period.year("2025", moscow)
    for wrong in ("2026-11", "2026-Q4", "26"):
        with pytest.raises(ValueError, match=rf"^'{wrong}' is not a year: use YYYY, e\.g\. 2026$"):
            Period.year(wrong)


def test_training_stats_per_partner_at_a_moment_with_certificates_valid_for_a_year() -> None:
    at = datetime(2026, 11, 20, tzinfo=UTC)
    done = [
        Completion("1", "e@x.ru", "c5", at),  # at the very moment asked: not yet
        Completion("1", "old@x.ru", "c1", at - timedelta(days=400)),  # certificate expired
        Completion("1", "a@x.ru", "c2", at - timedelta(days=10)),
        Completion("1", "A@x.ru", "c6", at - timedelta(days=5)),  # the same person again
        Completion("1", "b@x.ru", "c3", at - timedelta(days=365)),  # valid to its last day
        Completion("1", "c@x.ru", "c4", at - timedelta(days=1), certified=False),
        Completion("3", "f@z.ru", "c1", at + timedelta(days=5)),  # certified in the month, after `at`
        Completion("4", "g@w.ru", "c4", at - timedelta(days=2), certified=False),
    ]

    stats = training_stats(done, at, valid_days=365, period=Period.month("2026-11"))

    assert stats == {
        "1": TrainingStats("1", 2, 5, 3, at - timedelta(days=1)),  # certified this month: e, a, A
        "3": TrainingStats("3", 0, 0, 1, None),
        "4": TrainingStats("4", 0, 1, 0, at - timedelta(days=2)),
    }
    forever = training_stats(done, at)
    assert forever["1"] == TrainingStats("1", 3, 5, 0, at - timedelta(days=1))


def test_the_period_containing_a_moment_is_taken_in_the_local_zone() -> None:
    moscow = ZoneInfo("Europe/Moscow")
    new_year_in_moscow = datetime(2026, 3, 31, 22, 0, tzinfo=UTC)  # 1 April 01:00 in Moscow

    assert Period.containing(new_year_in_moscow, "month", moscow) == Period.month("2026-04", moscow)
    assert Period.containing(new_year_in_moscow, "quarter", moscow) == Period.quarter("2026-Q2", moscow)
    assert Period.containing(new_year_in_moscow, "quarter") == Period.quarter("2026-Q1")
    assert Period.containing(datetime(2026, 1, 15, tzinfo=UTC), "quarter").key == "2026-Q1"
    assert Period.containing(datetime(2026, 12, 31, 22, 0, tzinfo=UTC), "year", moscow) == Period.year(
        "2027", moscow
    )
    assert Period.month("2026-11", moscow).end == datetime(2026, 11, 30, 21, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="^period kind must be month, quarter or year, not 'week'$"):
        Period.containing(new_year_in_moscow, "week")
    for wrong in ("2026", "2026-Q4", "2026-13"):
        with pytest.raises(ValueError, match=rf"^'{wrong}' is not a month: use YYYY-MM, e\.g\. 2026-11$"):
            Period.month(wrong)


def test_the_distribution_cursor_round_trips_through_what_the_store_keeps() -> None:
    state = DistributionState(last={"pool": "m2"}, current={"pool": {"m1": -1, "m2": 1}}, sticky={"p1": "m1"})

    kept = state.to_dict()

    assert kept == {"last": {"pool": "m2"}, "current": {"pool": {"m1": -1, "m2": 1}}, "sticky": {"p1": "m1"}}
    assert DistributionState.from_dict(kept) == state
    assert DistributionState.from_dict({"sticky": {7: 8}}) == DistributionState(sticky={"7": "8"})
    assert DistributionState.from_dict(None) == DistributionState()


JAN = date(2026, 1, 1)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({}, "give exactly one of commission by tier or revenue brackets"),
        (
            {"commission_by_tier": {"gold": D(5)}, "brackets": (Bracket(D(0), D(3)),)},
            "give exactly one of commission by tier or revenue brackets",
        ),
        ({"brackets": (Bracket(D(1), D(3)),)}, "brackets must start at 0 and increase"),
        ({"brackets": (Bracket(D(0), D(3)), Bracket(D(0), D(5)))}, "brackets must start at 0 and increase"),
        (
            {"commission_by_tier": {"gold": D(5)}, "plan_bonus_fixed": D(100), "plan_bonus_percent": D(1)},
            "give a fixed or a percent plan bonus, not both",
        ),
    ],
)
def test_reward_rules_refuse_ambiguous_settings_naming_the_rule_set(
    settings: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=f"^rewards from 2026-01-01: {message}$"):
        RewardRules(JAN, **settings)  # type: ignore[arg-type]


def test_reward_rules_accept_increasing_brackets_from_zero() -> None:
    brackets = (Bracket(D(0), D(3)), Bracket(D(1000), D(5)), Bracket(D(5000), D(7)))
    assert RewardRules(JAN, brackets=brackets).brackets == brackets
    with pytest.raises(ValueError, match=r"^no reward rules are effective on 2025-12-31 \(the earliest"):
        rules_for([RewardRules(JAN, brackets=brackets)], date(2025, 12, 31))


def won_deal(n: int, amount: str, title: str = "", day_: int = 1) -> Deal:
    closed = datetime(2026, 10, day_, 12, tzinfo=UTC)
    return Deal(
        f"D{n}", "p1", title, "leads", "deal_closed", StageKind.WON, D(amount), closed, closed_at=closed
    )


def test_bracket_commission_lines_say_which_part_of_each_deal_earned_which_percent() -> None:
    rules = RewardRules(JAN, brackets=(Bracket(D(0), D(3)), Bracket(D(1000), D(5)), Bracket(D(5000), D(7))))
    deals = [
        won_deal(1, "800", "alpha", 1),
        won_deal(2, "200", "", 2),  # fills the first bracket exactly
        won_deal(3, "700", "gamma", 3),
        won_deal(4, "1", "tiny", 4),
        won_deal(5, "0", "free", 5),
    ]

    s = statement("p1", Q4, deals, None, [rules])

    assert list(s.lines) == [
        StatementLine("commission", "commission (3% on 800) on alpha", D(800), D(3), D("24.00"), "D1"),
        StatementLine("commission", "commission (3% on 200) on D2", D(200), D(3), D("6.00"), "D2"),
        StatementLine("commission", "commission (5% on 700) on gamma", D(700), D(5), D("35.00"), "D3"),
        StatementLine("commission", "commission (5% on 1) on tiny", D(1), D(5), D("0.05"), "D4"),
        StatementLine("commission", "commission (nothing) on free", D(0), D(0), D("0.00"), "D5"),
    ]
    assert [str(ln.rate) for ln in s.lines[:2]] == ["3.0000", "3.0000"]
    spanning = statement("p1", Q4, [won_deal(1, "800", "a"), won_deal(2, "700", "b", 2)], None, [rules])
    assert spanning.lines[1] == StatementLine(
        "commission", "commission (3% on 200, 5% on 500) on b", D(700), D("4.4286"), D("31.00"), "D2"
    )


def test_tier_commission_plan_bonus_and_over_performance_lines() -> None:
    rules = RewardRules(
        JAN, commission_by_tier={"gold": D(5)}, plan_bonus_fixed=D(100), over_performance_percent=D(2)
    )
    deals = [won_deal(1, "1000", "alpha"), won_deal(2, "500", "", 2)]

    s = statement("p1", Q4, deals, D(1200), [rules], tier="gold")

    assert list(s.lines) == [
        StatementLine("commission", "commission 5% (tier gold) on alpha", D(1000), D(5), D("50.00"), "D1"),
        StatementLine("commission", "commission 5% (tier gold) on D2", D(500), D(5), D("25.00"), "D2"),
        StatementLine("plan_bonus", "plan bonus: revenue 1500 met the plan 1200", D(1500), None, D("100.00")),
        StatementLine(
            "over_performance", "over-performance 2% on 300 above the plan 1200", D(300), D(2), D("6.00")
        ),
    ]
    assert (s.revenue, s.plan_met, s.total) == (D(1500), True, D("181.00"))
    exactly = statement("p1", Q4, deals, D(1500), [rules], tier="gold")
    assert [ln.kind for ln in exactly.lines] == ["commission", "commission", "plan_bonus"]  # nothing above
    assert statement("p1", Q4, deals, D(1), [rules], tier="gold").plan_met
    no_plan = statement("p1", Q4, deals, D(0), [rules], tier="gold")
    assert not no_plan.plan_met and [ln.kind for ln in no_plan.lines] == ["commission", "commission"]


def test_a_percent_plan_bonus_line() -> None:
    rules = RewardRules(JAN, commission_by_tier={"gold": D(5)}, plan_bonus_percent=D(10))

    s = statement("p1", Q4, [won_deal(1, "1500", "alpha")], D(1200), [rules], tier="gold")

    assert s.lines[-1] == StatementLine(
        "plan_bonus", "plan bonus 10% of revenue 1500 (plan 1200 met)", D(1500), D(10), D("150.00")
    )


def test_a_statement_uses_the_rules_in_force_on_the_local_first_day_of_its_period() -> None:
    moscow = ZoneInfo("Europe/Moscow")
    old = RewardRules(JAN, commission_by_tier={"gold": D(5)})
    autumn = RewardRules(date(2026, 10, 1), commission_by_tier={"gold": D(6)})
    next_year = RewardRules(date(2027, 1, 1), commission_by_tier={"gold": D(7)})
    rules = [old, autumn, next_year]

    quarter = statement("p1", Period.quarter("2026-Q4", moscow), [], None, rules, tier="gold")
    year = statement("p1", Period.year("2027", moscow), [], None, rules, tier="gold")
    custom = Period(datetime(2026, 10, 5, tzinfo=UTC), datetime(2026, 10, 9, tzinfo=UTC), "week 41")

    assert quarter.rules_effective_from == date(2026, 10, 1)  # not 30 September, the UTC date
    assert year.rules_effective_from == date(2027, 1, 1)
    assert statement("p1", custom, [], None, rules, tier="gold").rules_effective_from == date(2026, 10, 1)


def test_period_keys_are_parsed_in_the_zone_given_and_kept_in_utc(monkeypatch: pytest.MonkeyPatch) -> None:
    moscow = ZoneInfo("Europe/Moscow")
    monkeypatch.setenv("TZ", "Asia/Tokyo")  # the machine's zone leaks into neither bound
    time.tzset()
    try:
        q4 = Period.quarter("2026-Q4", moscow)
        parsed = [Period.parse(key, moscow) for key in ("2026-11", "2026-Q4", "2026")]
        month = Period.month("2026-11")
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()

    assert (q4.start, q4.end) == (
        datetime(2026, 9, 30, 21, 0, tzinfo=UTC),
        datetime(2026, 12, 31, 21, 0, tzinfo=UTC),
    )
    assert parsed == [Period.month("2026-11", moscow), q4, Period.year("2026", moscow)]
    assert month.start.isoformat() == "2026-11-01T00:00:00+00:00"
    assert month.end.isoformat() == "2026-12-01T00:00:00+00:00"


NOV = Period.month("2026-11")
LEAD_STAGES = ["lead_registered", "qualification", "offer"]


def a_lead(
    n: int, partner: str | None, created: datetime, stage: str = "lead_registered", **extra: object
) -> Lead:
    kind = StageKind.WON if stage == "deal_closed" else StageKind.OPEN
    return Lead(f"L{n}", partner, f"lead {n}", stage, kind, created, **extra)  # type: ignore[arg-type]


def test_kpis_count_a_period_from_its_first_instant_up_to_but_not_including_its_end() -> None:
    leads = [
        a_lead(1, None, NOV.start, "deal_closed", amount=D(999)),  # no partner: not a partner sale
        a_lead(2, "p1", NOV.start, "qualification", first_touch_at=NOV.start - timedelta(hours=1)),
        a_lead(3, "p1", NOV.end),  # the next month's
        a_lead(
            4, "p2", datetime(2026, 10, 20, tzinfo=UTC), "deal_closed", amount=D(300), closed_at=NOV.start
        ),
        a_lead(5, "p1", datetime(2026, 11, 10, tzinfo=UTC), "deal_closed", amount=D(200)),  # closed = created
        a_lead(6, "p3", datetime(2026, 11, 15, tzinfo=UTC)),
    ]

    report = compute_kpis(NOV, leads, partners=[Partner("p1", "One")], lead_stages=LEAD_STAGES)

    p1, p2 = report.partners["p1"], report.partners["p2"]
    assert (p1.partner_id, p1.leads, p1.qualified, p1.won_of_leads, p1.won, p1.revenue) == (
        "p1",
        2,
        2,
        1,
        1,
        D(200),
    )
    assert (p1.touched, p1.median_first_touch) == (1, timedelta(0))  # touched before it was created: 0
    assert (p2.partner_id, p2.leads, p2.won, p2.revenue) == ("p2", 0, 1, D(300))
    assert sorted(report.partners) == ["p1", "p2", "p3"]
    assert (report.department.active_partners, report.department.leads, report.department.revenue) == (
        2,
        3,
        D(500),
    )


def test_funnel_conversion_counts_the_leads_created_in_the_period_stage_by_stage() -> None:
    leads = [
        a_lead(1, "p1", NOV.end, "offer"),  # outside the period, listed first
        a_lead(2, "p1", NOV.start, "offer"),
        a_lead(3, "p1", datetime(2026, 11, 3, tzinfo=UTC), "qualification"),
        a_lead(4, "p1", datetime(2026, 11, 4, tzinfo=UTC), "deal_closed"),
        a_lead(5, "p1", datetime(2026, 11, 5, tzinfo=UTC)),
    ]

    assert funnel_conversion(leads, LEAD_STAGES, "deal_closed", NOV) == (
        StageReach("lead_registered", 4, D(100), None),
        StageReach("qualification", 3, D(75), D(75)),
        StageReach("offer", 2, D(50), D("66.67")),
        StageReach("deal_closed", 1, D(25), D(50)),
    )


def test_a_period_needs_aware_bounds_and_an_end_after_its_start() -> None:
    naive = datetime(2026, 11, 2)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="^period w: start and end must be timezone-aware$"):
        Period(NOV.start, naive, "w")
    with pytest.raises(ValueError, match="^period w: start and end must be timezone-aware$"):
        Period(naive, NOV.end, "w")
    with pytest.raises(ValueError, match="^period w: end must be after start$"):
        Period(NOV.start, NOV.start, "w")


def test_a_stage_the_funnel_no_longer_has_counts_as_not_qualified() -> None:
    in_nov = datetime(2026, 11, 5, tzinfo=UTC)
    lost = StageKind.LOST
    leads = [
        a_lead(1, "p1", in_nov, "renamed_stage"),  # open, in a stage no longer configured
        Lead("L2", "p1", "lost early", "lead_lost", lost, in_nov, furthest_stage="removed_stage"),
        Lead("L3", "p1", "lost late", "lead_lost", lost, in_nov, furthest_stage="offer"),
    ]

    report = compute_kpis(NOV, leads, lead_stages=LEAD_STAGES)

    assert (report.partners["p1"].leads, report.partners["p1"].qualified) == (3, 1)


def test_a_statement_without_mdf_names_its_partner_period_tier_and_plan() -> None:
    rules = RewardRules(JAN, commission_by_tier={"gold": D(5)})
    deal = won_deal(1, "1000", "alpha")

    s = statement("p1", Q4, [deal], D(2000), [rules], tier="gold")

    assert s == Statement(
        "p1",
        Q4,
        JAN,
        "gold",
        D(1000),
        D(2000),
        False,
        (StatementLine("commission", "commission 5% (tier gold) on alpha", D(1000), D(5), D("50.00"), "D1"),),
        D("50.00"),
        None,
    )
    with_budget = statement("p1", Q4, [deal], None, [rules], tier="gold", mdf_budget=D(10))
    assert [ln.kind for ln in with_budget.lines] == ["commission"]
    assert with_budget.mdf == MdfSummary(D(10), D(0), D(0), D(0), D(0), D(10))


def test_the_window_before_a_rolling_window_has_the_same_length() -> None:
    week = Period.rolling(datetime(2026, 11, 30, tzinfo=UTC), 7)

    assert week.previous() == Period(
        datetime(2026, 11, 16, tzinfo=UTC),
        datetime(2026, 11, 23, tzinfo=UTC),
        f"before {week.key}",
        "rolling",
    )


def test_criterion_names_in_both_languages_and_an_unknown_key_as_itself() -> None:
    assert criterion_name("values_fit", "en") == "Shared values and goals"
    assert criterion_name("values_fit", "ru") == "Общие ценности и цели"
    assert criterion_name("charisma", "ru") == "charisma"


def test_a_registration_lapses_for_lack_of_progress_only_before_its_window_ends() -> None:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    quiet = RegistrationRecord("p1", CustomerIdentity("a@b.ru"), start)

    assert quiet.expired_for_lack_of_progress(90, 30, start + timedelta(days=30))  # at the very day
    assert not quiet.expired_for_lack_of_progress(90, 30, start + timedelta(days=29))
    assert not quiet.expired_for_lack_of_progress(30, 30, start + timedelta(days=30))  # the window ran out


def test_won_deals_count_when_closed_in_the_period_by_their_best_known_close_moment() -> None:
    oct_ = datetime(2026, 10, 1, tzinfo=UTC)
    won = StageKind.WON

    def deal(n: int, partner: str | None, amount: str, funnel: str = "leads", **when: object) -> Deal:
        return Deal(f"D{n}", partner, "", funnel, "won", won, D(amount), oct_, **when)  # type: ignore[arg-type]

    deals = [
        deal(1, None, "999", closed_at=NOV.start),  # no partner: skipped, the rest still read
        Deal("D2", "p1", "", "leads", "lost", StageKind.LOST, D(5), oct_, closed_at=NOV.start),
        deal(3, "p1", "100", closed_at=NOV.start),  # closed at the first instant
        deal(4, "p1", "200", "repeat", modified_at=datetime(2026, 11, 5, tzinfo=UTC)),  # no close date
        deal(5, "p1", "400", closed_at=NOV.end, modified_at=NOV.start),  # closed in December
        deal(6, "p2", "50", repeat=True, closed_at=datetime(2026, 11, 9, tzinfo=UTC)),
        Deal(
            "D7", "p3", "", "leads", "won", won, D(70), datetime(2026, 11, 2, tzinfo=UTC)
        ),  # created = closed
    ]
    leads = [
        a_lead(
            1, "p1", NOV.start, "deal_closed", amount=D(10), modified_at=datetime(2026, 11, 2, tzinfo=UTC)
        ),
        a_lead(2, "p2", NOV.start, "deal_closed", amount=D(20), closed_at=NOV.end),  # won in December
        # created in October, no close date, last changed in November: won in November
        a_lead(3, "p2", datetime(2026, 10, 2, tzinfo=UTC), "deal_closed", modified_at=NOV.start, amount=D(1)),
    ]

    report = compute_kpis(NOV, leads, deals, lead_stages=LEAD_STAGES)

    p1, p2, p3 = (report.partners[p] for p in ("p1", "p2", "p3"))
    assert (p1.partner_id, p1.won, p1.revenue, p1.repeat_won, p1.won_of_leads) == ("p1", 3, D(310), 1, 1)
    assert (p2.partner_id, p2.won, p2.revenue, p2.repeat_won, p2.won_of_leads) == ("p2", 2, D(51), 1, 1)
    assert (p3.partner_id, p3.won, p3.revenue) == ("p3", 1, D(70))
    dept = report.department
    assert (dept.won, dept.won_of_leads, dept.repeat_won, dept.revenue) == (6, 2, 2, D(431))
    assert report.period == NOV


def test_scorecard_fields_are_read_past_one_that_is_not_a_number() -> None:
    assert scores_from_fields({"score_values_fit": "four", "score_reputation": "3"}) == {"reputation": 3}


def test_a_partner_s_won_leads_and_repeat_deals_add_up() -> None:
    in_nov = datetime(2026, 11, 5, tzinfo=UTC)
    leads = [a_lead(n, "p1", in_nov, "deal_closed", amount=D(n * 100)) for n in (1, 2)]
    deals = [
        Deal(f"D{n}", "p1", "", "repeat", "won", StageKind.WON, D(10), in_nov, closed_at=in_nov)
        for n in (1, 2)
    ]

    p1 = compute_kpis(NOV, leads, deals, lead_stages=LEAD_STAGES).partners["p1"]

    assert (p1.won, p1.revenue, p1.repeat_won) == (4, D(320), 2)
