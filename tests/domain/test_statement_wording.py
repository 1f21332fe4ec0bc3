"""A reward statement's lines in the reader's language: every kind of line, worded in Russian for a
Russian partner (the bot, the portal, ``crm-bridge rewards --partner``) and in English as in the CSV, a
tier by its name when one is given. Hard-coded expectations through ``statement`` and
``StatementLine.describe``."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from crm_bridge.domain.model import Deal, StageKind
from crm_bridge.domain.period import Period
from crm_bridge.domain.rewards import Bracket, MdfClaim, RewardRules, StatementLine, statement

D = Decimal
Q4 = Period.quarter("2026-Q4")
JAN = date(2026, 1, 1)


def won(n: int, amount: str, title: str = "") -> Deal:
    closed = datetime(2026, 10, n, 12, tzinfo=UTC)
    return Deal(
        f"D{n}", "p1", title, "leads", "deal_closed", StageKind.WON, D(amount), closed, closed_at=closed
    )


def said(lines: tuple[StatementLine, ...], locale: str, names: dict[str, str] | None = None) -> list[str]:
    return [line.describe(locale, names) for line in lines]


def test_commission_by_tier_plan_bonus_and_over_performance_in_russian_and_english() -> None:
    rules = RewardRules(
        JAN, commission_by_tier={"gold": D(10)}, plan_bonus_percent=D(2), over_performance_percent=D(3)
    )
    s = statement("p1", Q4, [won(1, "600000", "Поставка")], D(500000), [rules], tier="gold")

    assert said(s.lines, "ru", {"gold": "Золотой"}) == [
        "комиссия 10% (уровень «Золотой») по сделке Поставка",
        "бонус за план 2% от выручки 600000 (план 500000 выполнен)",
        "сверх плана 3% с 100000 выше плана 500000",
    ]
    assert said(s.lines, "en") == [  # without names: the tier's key, as in the CSV's description
        "commission 10% (tier gold) on Поставка",
        "plan bonus 2% of revenue 600000 (plan 500000 met)",
        "over-performance 3% on 100000 above the plan 500000",
    ]
    assert [line.description for line in s.lines] == said(s.lines, "en")
    assert said(s.lines, "de", {"gold": ""}) == said(s.lines, "en")  # no such locale, no such name: as is


def test_a_fixed_plan_bonus_and_bracket_commissions_name_each_part_in_russian() -> None:
    rules = RewardRules(JAN, brackets=(Bracket(D(0), D(3)), Bracket(D(1000), D(5))), plan_bonus_fixed=D(5000))
    deals = [won(1, "1500", "Альфа"), won(2, "0")]

    s = statement("p1", Q4, deals, D(1000), [rules])

    assert said(s.lines, "ru") == [
        "комиссия (3% с 1000, 5% с 500) по сделке Альфа",
        "комиссия (ничего) по сделке D2",
        "бонус за план: выручка 1500, план 1000 выполнен",
    ]
    assert said(s.lines, "en") == [
        "commission (3% on 1000, 5% on 500) on Альфа",
        "commission (nothing) on D2",
        "plan bonus: revenue 1500 met the plan 1000",
    ]


def test_mdf_lines_and_the_budget_that_capped_them_in_russian() -> None:
    claims = [MdfClaim("Выставка", D(600), D(500), D(100)), MdfClaim("Реклама", D(800), D(800))]

    s = statement(
        "p1",
        Q4,
        [],
        None,
        [RewardRules(JAN, commission_by_tier={"gold": D(5)})],
        claims,
        tier="gold",
        mdf_budget=D(1200),
    )

    assert said(s.lines, "ru") == [
        "MDF: Выставка: запрошено 600, одобрено 500, выплачено 100",
        "MDF: Реклама: запрошено 800, одобрено 800, выплачено 0 (ограничено остатком бюджета 700.00)",
    ]
    assert s.lines[1].description == (
        "MDF: Реклама: requested 800, approved 800, paid 0 (capped by the remaining budget 700.00)"
    )


def test_a_line_made_without_a_wording_says_its_description_in_any_language() -> None:
    line = StatementLine("mdf", "MDF: by hand", D(1), None, D(1))

    assert line.describe("ru", {"gold": "Золотой"}) == "MDF: by hand"
