"""What the domain refuses and where its thresholds sit: the scorecard's and reminder rule's settings, plan
reminders at the edges of their thresholds, plan status with no or zero targets, routing conditions, and
ИНН/e-mail checks. Found unstated by mutation testing (scripts/mutation.sh); hard-coded expectations."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from crm_bridge.domain.distribution import DistributionPolicy, RoutingRule
from crm_bridge.domain.funnels import default_funnels
from crm_bridge.domain.goals import GoalProgress, Targets, progress
from crm_bridge.domain.model import Lead, StageKind
from crm_bridge.domain.period import Period
from crm_bridge.domain.plans import PlanStatus, ReminderRule, plan_status, reminder_due
from crm_bridge.domain.registration import inn_checksum_ok, normalise_email, normalise_tax_id
from crm_bridge.domain.scorecard import Scorecard, ScoreResult, Verdict, evaluate
from crm_bridge.domain.tiers import TierLevel, TierPolicy

D = Decimal
START = datetime(2026, 1, 1, tzinfo=UTC)
HUNDRED_DAYS = Period(START, START + timedelta(days=100), "100d")  # a day is one percent of it


WEIGHTS = "weights must be >= 0 with at least one above 0"


def day(n: int) -> datetime:
    return START + timedelta(days=n)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"weights": {"values_fit": D(-1), "reputation": D(2)}},
            "weights must be >= 0 with at least one above 0",
        ),
        ({"weights": {"values_fit": D(0)}}, "weights must be >= 0 with at least one above 0"),
        ({"pass_mark": D("-0.1")}, "pass_mark must be between 0 and 100"),
        ({"pass_mark": D("100.1")}, "pass_mark must be between 0 and 100"),
        ({"scale_max": 0}, "scale_max must be at least 1"),
        ({"min_each": -1}, "min_each must be between 0 and scale_max"),
        ({"min_each": 6}, "min_each must be between 0 and scale_max"),
    ],
)
def test_a_scorecard_refuses_settings_outside_its_ranges(settings: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        Scorecard(**settings)  # type: ignore[arg-type]


def test_a_scorecard_accepts_the_edges_of_its_ranges() -> None:
    low = Scorecard({"values_fit": D("0.5"), "reputation": D(0)}, pass_mark=D(0), scale_max=1, min_each=0)
    high = Scorecard(pass_mark=D(100), scale_max=5, min_each=5)

    assert low.criteria() == ("values_fit",)
    assert (high.pass_mark, high.min_each) == (D(100), 5)


def test_the_unknown_criteria_message_lists_every_known_one() -> None:
    with pytest.raises(ValueError) as refused:
        Scorecard({"charisma": D(1), "values_fit": D(1)})
    assert str(refused.value) == (
        "unknown criteria ['charisma']: use "
        "values_fit, audience_overlap, reputation, track_record, scalability"
    )


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"from_elapsed": D(-1)}, "from_elapsed must be between 0 and 100"),
        ({"lag": D(101)}, "lag must be between 0 and 100"),
        ({"step": D(0)}, "step must be above 0"),
    ],
)
def test_a_reminder_rule_refuses_settings_outside_its_ranges(
    settings: dict[str, Decimal], message: str
) -> None:
    with pytest.raises(ValueError, match=f"^{message}$"):
        ReminderRule(**settings)


def test_a_reminder_rule_accepts_the_edges_of_its_ranges() -> None:
    assert ReminderRule(D(0), D(100), D(1)).step == D(1)
    assert ReminderRule(D(100), D(0), D("0.5")).step == D("0.5")


def status_at(n: int, leads: int, plan: int = 10) -> PlanStatus:
    return plan_status("p1", HUNDRED_DAYS, Targets(leads=plan), {"leads": D(leads)}, day(n))


RULE = ReminderRule(from_elapsed=D(50), lag=D(30), step=D(10))


def test_a_reminder_starts_exactly_at_its_thresholds_and_names_the_stretch_rounded_down() -> None:
    assert reminder_due(RULE, status_at(50, 0)) == "50"  # half gone, nothing done: due at once
    assert reminder_due(RULE, status_at(50, 2)) == "50"  # 20 % done: trailing by exactly 30 points
    assert reminder_due(RULE, status_at(50, 3)) is None  # trailing by 20 points only
    assert reminder_due(RULE, status_at(40, 0)) is None  # far behind, but before the reminders start
    assert reminder_due(RULE, status_at(78, 0)) == "70"  # 78 % gone is in the stretch from 70, not 80


def test_no_reminder_once_the_period_is_over() -> None:
    over = status_at(100, 0)

    assert (over.elapsed, over.fulfilment, over.met) == (D(100), D(0), False)
    assert reminder_due(RULE, over) is None


def test_plan_status_names_its_partner_and_period_and_counts_a_zero_plan_as_fulfilled() -> None:
    zero_plan = plan_status("p1", HUNDRED_DAYS, Targets(leads=0, won_deals=4), {"won_deals": D(1)}, day(10))
    no_targets = plan_status("p2", HUNDRED_DAYS, Targets(), {}, day(10))

    assert (zero_plan.partner_id, zero_plan.period) == ("p1", HUNDRED_DAYS)
    assert zero_plan.fulfilment == D("62.5")  # (100 for the zero plan + 25) / 2
    assert (no_targets.partner_id, no_targets.fulfilment, no_targets.rows) == ("p2", D(100), ())


def test_a_target_with_no_data_counts_as_nothing_done() -> None:
    assert progress(Targets(revenue=D(500), leads=3), {"leads": D(3)}) == (
        GoalProgress("revenue", D(500), D(0), D(0), False),
        GoalProgress("leads", D(3), D(3), D(100), True),
    )


def lead(region: str = "", specialisation: str = "") -> Lead:
    return Lead(
        "1",
        "p1",
        "lead",
        "lead_registered",
        StageKind.OPEN,
        START,
        region=region,
        specialisation=specialisation,
    )


def test_a_routing_rule_claims_only_leads_of_its_regions_and_specialisations() -> None:
    north = RoutingRule(("m1",), regions=frozenset({"north"}), specialisations=frozenset({"erp"}))

    assert north.matches(lead("north", "erp"), None)
    assert not north.matches(lead("south", "erp"), None)
    assert not north.matches(lead("north", "crm"), None)
    assert RoutingRule(("m1",)).matches(lead("anywhere", "anything"), None)


def test_inn_control_digits() -> None:
    assert inn_checksum_ok("7707083893")
    assert inn_checksum_ok("1000000010")  # the weighted sum leaves 10 mod 11: the control digit is 0
    assert not inn_checksum_ok("1000000011")
    assert not inn_checksum_ok("770708389a")  # ten characters, not all digits
    assert not inn_checksum_ok("123")
    assert not inn_checksum_ok("")


def test_tax_ids_and_e_mails_are_refused_with_a_message_naming_the_field() -> None:
    assert normalise_tax_id("   ") == ""
    with pytest.raises(ValueError, match="^tax_id: may contain only digits, spaces and dashes$"):
        normalise_tax_id("77O7083893")
    with pytest.raises(ValueError, match=r"^tax_id: the ИНН control digits do not match \(a typo\?\)$"):
        normalise_tax_id("7707083894", checksum=True)
    with pytest.raises(ValueError, match=r"^email: is not an e-mail address \(expected name@domain\.tld\)$"):
        normalise_email("anna at example")


def test_default_funnel_stages_carry_both_languages_and_the_won_lost_colours() -> None:
    leads = next(f for f in default_funnels() if f.key == "leads")

    assert [(s.key, s.kind, s.color) for s in leads.stages] == [
        ("lead_registered", StageKind.OPEN, "#39A8EF"),
        ("qualification", StageKind.OPEN, "#2FC6F6"),
        ("offer", StageKind.OPEN, "#FFA900"),
        ("deal_closed", StageKind.WON, "#7BD500"),
        ("lead_lost", StageKind.LOST, "#FF5752"),
    ]
    assert dict(leads.stages[0].names) == {"ru": "Регистрация лида", "en": "Lead registered"}


@pytest.mark.parametrize(
    ("levels", "settings", "message"),
    [
        ((), {}, "tiers.levels: give at least one tier"),
        (("a", "b", "a"), {}, "tiers.levels: a tier key is used twice in ['a', 'b', 'a']"),
        (("a",), {"margin_percent": D("-0.5")}, "tiers.hysteresis.margin_percent: must be between 0 and 100"),
        (
            ("a",),
            {"margin_percent": D("100.5")},
            "tiers.hysteresis.margin_percent: must be between 0 and 100",
        ),
        (("a",), {"consecutive": 0}, "tiers.hysteresis.consecutive: must be >= 1"),
    ],
)
def test_a_tier_policy_is_refused_with_the_whole_message(
    levels: tuple[str, ...], settings: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError) as refused:
        TierPolicy(tuple(TierLevel(k) for k in levels), **settings)  # type: ignore[arg-type]
    assert str(refused.value) == message


def test_a_tier_policy_accepts_the_edges_of_its_ranges() -> None:
    zero = TierPolicy((TierLevel("a", thresholds={"min_revenue": D(0)}),), margin_percent=D(0), consecutive=1)
    full = TierPolicy((TierLevel("a"),), margin_percent=D(100))

    assert (zero.margin_percent, zero.consecutive, full.margin_percent) == (D(0), 1, D(100))


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"strategy": "random"},
            "strategy 'random': use one of round_robin, weighted, least_loaded, territory, sticky",
        ),
        ({"fallback": "territory"}, "fallback 'territory': use one of round_robin, weighted, least_loaded"),
        (
            {"rules": (RoutingRule(("m1",), name="north", strategy="random"),)},
            "rule 'north': strategy 'random' is unknown",
        ),
    ],
)
def test_a_distribution_policy_refuses_unknown_strategies(settings: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError) as refused:
        DistributionPolicy(**settings)  # type: ignore[arg-type]
    assert str(refused.value) == message


def test_every_quarter_starts_on_its_first_month_and_bad_keys_are_refused() -> None:
    starts = [Period.quarter(f"2026-Q{n}").start.month for n in (1, 2, 3, 4)]

    assert starts == [1, 4, 7, 10]
    assert Period.quarter("2026-Q4").end == datetime(2027, 1, 1, tzinfo=UTC)
    assert (Period.parse("2026-Q2").kind, Period.parse("2026").kind, Period.parse("2026-02").kind) == (
        "quarter",
        "year",
        "month",
    )
    for wrong in ("2026-Q5", "2026-11", "2026"):
        with pytest.raises(ValueError, match=rf"^'{wrong}' is not a quarter: use YYYY-Qn, e\.g\. 2026-Q4$"):
            Period.quarter(wrong)
    with pytest.raises(ValueError) as refused:
        Period.parse("26-1")
    assert (
        str(refused.value) == "'26-1' is not a period: use 2026-11 (month), 2026-Q4 (quarter) or 2026 (year)"
    )


CARD2 = Scorecard({"values_fit": D(2), "reputation": D(1)}, pass_mark=D("62.50"), scale_max=5, min_each=2)


def test_a_scorecard_verdict_with_its_whole_reason() -> None:
    assert evaluate(CARD2, {"values_fit": 4, "reputation": 2, "scalability": 9}) == ScoreResult(
        Verdict.PASSED, D("66.7"), reason="score 66.7 % ≥ pass mark 62.50 %"
    )
    assert evaluate(CARD2, {"values_fit": 5, "reputation": 5}).reason == "score 100 % ≥ pass mark 62.50 %"
    assert evaluate(CARD2, {"values_fit": 3, "reputation": 1}) == ScoreResult(
        Verdict.FAILED,
        D("46.7"),
        weak=("reputation",),
        reason="score 46.7 % < pass mark 62.50 %; below the minimum 2 on: Reputation and competence",
    )
    assert evaluate(CARD2, {}, "ru") == ScoreResult(
        Verdict.INCOMPLETE,
        None,
        ("values_fit", "reputation"),
        reason="ещё не оценено: Общие ценности и цели, Репутация и компетенции",
    )
    assert evaluate(CARD2, {"values_fit": 1}, "de").reason == "not scored yet: Reputation and competence"
    assert evaluate(Scorecard({"values_fit": D(1)}, scale_max=16), {"values_fit": 1}).score == D("6.3")
    with pytest.raises(ValueError, match="^values_fit: 6 is outside 0..5$"):
        evaluate(CARD2, {"values_fit": 6, "reputation": 1})
