"""Rewards for a period: statements per partner from replicated leads and deals, effective-dated
rules from the config, the tier at the end of the period from the tier history, plan bonuses from the
goals, MDF budgets, the leaderboard, and the CSV accounting reads."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from crm_bridge.config import parse_settings
from crm_bridge.domain.model import Deal, Lead, Partner, StageKind
from crm_bridge.domain.period import Period
from crm_bridge.domain.rewards import MdfClaim
from crm_bridge.errors import ConfigError, DataError
from crm_bridge.ports import Entity, RecordPage, SyncCursor
from crm_bridge.services.rewards import (
    GoalBook,
    compute_rewards,
    leaderboard_csv,
    reward_rules,
    rewards_for,
    statements_csv,
    tier_at,
)
from crm_bridge.store import Store

MSK = ZoneInfo("Europe/Moscow")
PORTAL = "bitrix24:test"
Q4 = Period.parse("2026-Q4", MSK)
Q3 = Period.parse("2026-Q3", MSK)
ROMASHKA = Partner("101", "ООО «Ромашка»", tier="gold", training_completed=True)
VEKTOR = Partner("102", "АО «Вектор»", tier="silver")
NEW = Partner("103", "ООО «Новичок»")  # no tier in the CRM yet

CONFIG: dict[str, Any] = {
    "timezone": "Europe/Moscow",
    "crm": {"kind": "bitrix24", "bitrix24": {"webhook_url": "${B24_WEBHOOK_URL}"}},
    "rewards": {
        "currency": "RUB",
        "rule_sets": [
            {
                "effective_from": "2026-01-01",
                "commission": {"by_tier": {"bronze": 5, "silver": 7, "gold": 10, "platinum": 12}},
                "plan_bonus": {"fixed": 50000},
                "over_performance_percent": 3,
                "points": {"per_won_deal": 10, "per_lead": 1, "revenue_unit": 100000},
            },
            {
                "effective_from": "2027-01-01",
                "commission": {"by_tier": {"bronze": 6, "silver": 8, "gold": 11, "platinum": 14}},
            },
        ],
        "mdf": {"period": "quarter", "budget_by_tier": {"gold": 300000}},
    },
    "goals": {
        "partners": {"101": {"2026-Q4": {"revenue": 1000000}}},
        "by_tier": {"period": "quarter", "targets": {"silver": {"revenue": 5000000}}},
    },
}
ENV = {"B24_WEBHOOK_URL": "https://b24.example.ru/rest/1/abcdef123456/"}


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=MSK).astimezone(UTC)


def won_lead(crm_id: str, partner: str, amount: int, closed: str) -> Lead:
    return Lead(
        crm_id,
        partner,
        f"Lead {crm_id}",
        "deal_closed",
        StageKind.WON,
        at(closed) - timedelta(days=20),
        amount=Decimal(amount),
        closed_at=at(closed),
        modified_at=at(closed),
    )


def open_lead(crm_id: str, partner: str, created: str) -> Lead:
    return Lead(
        crm_id,
        partner,
        f"Lead {crm_id}",
        "qualification",
        StageKind.OPEN,
        at(created),
        modified_at=at(created),
    )


def repeat_deal(crm_id: str, partner: str, amount: int, closed: str) -> Deal:
    return Deal(
        crm_id,
        partner,
        f"Repeat {crm_id}",
        "repeat",
        "repeat_won",
        StageKind.WON,
        Decimal(amount),
        at(closed) - timedelta(days=5),
        closed_at=at(closed),
        repeat=True,
        modified_at=at(closed),
    )


@pytest.fixture
def settings() -> Any:
    return parse_settings(CONFIG, ENV)


def test_a_statement_pays_the_tier_rate_plan_bonus_and_over_performance(settings: Any) -> None:
    leads = [won_lead("1", "101", 800_000, "2026-10-15"), won_lead("2", "101", 400_000, "2026-12-01")]
    result = compute_rewards(
        Q4, [ROMASHKA], leads, [], rules=reward_rules(settings), goals=GoalBook.from_settings(settings)
    )

    (s,) = result.statements
    assert (s.tier, s.revenue, s.plan_revenue, s.plan_met) == ("gold", 1_200_000, 1_000_000, True)
    assert result.by_kind(s) == {
        "commission": Decimal("120000.00"),
        "plan_bonus": Decimal("50000.00"),
        "over_performance": Decimal("6000.00"),
    }
    assert s.total == Decimal("176000.00")


def test_won_leads_and_repeat_deals_closed_in_the_period_count_and_others_do_not(settings: Any) -> None:
    records = [won_lead("1", "102", 100_000, "2026-09-30"), won_lead("2", "102", 200_000, "2026-10-01")]
    deals = [repeat_deal("9", "102", 50_000, "2026-11-11"), repeat_deal("10", "102", 70_000, "2027-01-02")]
    leads = [*records, open_lead("3", "102", "2026-10-05")]

    (s,) = compute_rewards(Q4, [VEKTOR], leads, deals, rules=reward_rules(settings)).statements

    assert sorted(line.record_id or "" for line in s.lines if line.kind == "commission") == ["2", "9"]
    assert s.revenue == 250_000 and s.tier == "silver"
    assert s.total == Decimal("17500.00")  # 7 % of 250 000, no plan given for it in this call


def test_the_tier_paid_is_the_one_at_the_end_of_the_period_not_today(settings: Any) -> None:
    @dataclass(frozen=True)
    class Change:
        partner_id: str
        from_tier: str | None
        to_tier: str | None
        at: datetime

    history = [
        Change("101", "silver", "gold", at("2026-08-20")),
        Change("101", "gold", "platinum", at("2027-01-10")),
    ]
    leads = [won_lead("1", "101", 100_000, "2026-11-01")]

    result = compute_rewards(
        Q4,
        [replace_tier(ROMASHKA, "platinum")],
        leads,
        [],
        rules=reward_rules(settings),
        tier_history=history,
    )

    assert result.statements[0].tier == "gold"
    assert tier_at(history, at("2026-08-01"), "platinum") == "silver"  # before the first recorded change
    assert tier_at([], at("2026-08-01"), "platinum") == "platinum"


def replace_tier(p: Partner, tier: str) -> Partner:
    return replace(p, tier=tier)


def test_a_closed_quarter_keeps_its_rates_when_next_years_rules_start(settings: Any) -> None:
    q1 = Period.parse("2027-Q1", MSK)
    leads = [won_lead("1", "102", 100_000, "2026-12-10"), won_lead("2", "102", 100_000, "2027-02-10")]

    last = compute_rewards(Q4, [VEKTOR], leads, [], rules=reward_rules(settings)).statements[0]
    this = compute_rewards(q1, [VEKTOR], leads, [], rules=reward_rules(settings)).statements[0]

    assert (last.rules_effective_from.isoformat(), last.total) == ("2026-01-01", Decimal("7000.00"))
    assert (this.rules_effective_from.isoformat(), this.total) == ("2027-01-01", Decimal("8000.00"))


def test_a_partner_without_a_tier_is_paid_at_the_lowest_level(settings: Any) -> None:
    leads = [won_lead("1", "103", 100_000, "2026-10-10")]

    (s,) = compute_rewards(
        Q4, [NEW], leads, [], rules=reward_rules(settings), default_tier="bronze"
    ).statements

    assert (s.tier, s.total) == ("bronze", Decimal("5000.00"))


def test_a_tier_the_rules_do_not_price_is_reported_with_the_partner() -> None:
    rules = reward_rules(parse_settings(CONFIG, ENV))
    odd = replace_tier(VEKTOR, "diamond")

    with pytest.raises(
        DataError, match=r"partner 102 \(АО «Вектор»\).*no commission percent for tier 'diamond'"
    ):
        compute_rewards(Q4, [odd], [won_lead("1", "102", 10, "2026-10-10")], [], rules=rules)


def test_mdf_budget_of_the_tier_caps_what_is_paid_out_for_quarter_statements(settings: Any) -> None:
    claims = {
        "101": [
            MdfClaim("Конференция", Decimal(250_000), Decimal(200_000)),
            MdfClaim("Реклама", Decimal(150_000), Decimal(150_000), Decimal(50_000)),
        ]
    }
    result = compute_rewards(
        Q4,
        [ROMASHKA],
        [],
        [],
        rules=reward_rules(settings),
        mdf_claims=claims,
        mdf_budgets={"gold": Decimal(300_000)},
    )

    (s,) = result.statements
    assert s.mdf is not None and s.mdf.budget == 300_000 and s.mdf.approved == 350_000
    assert [line.amount for line in s.lines if line.kind == "mdf"] == [
        Decimal("200000.00"),
        Decimal("50000.00"),
    ]
    month = compute_rewards(
        Period.parse("2026-11", MSK),
        [ROMASHKA],
        [],
        [],
        rules=reward_rules(settings),
        mdf_budgets={"gold": Decimal(300_000)},
    )
    assert month.statements[0].mdf is None  # budgets are per quarter here


def test_mdf_claims_for_an_unknown_partner_are_refused(settings: Any) -> None:
    with pytest.raises(DataError, match="MDF claims: no such partner.*999"):
        compute_rewards(
            Q4,
            [ROMASHKA],
            [],
            [],
            rules=reward_rules(settings),
            mdf_claims={"999": [MdfClaim("x", Decimal(1))]},
        )


def test_the_leaderboard_ranks_by_points_from_the_rules_in_force(settings: Any) -> None:
    leads = [
        won_lead("1", "101", 300_000, "2026-10-15"),
        won_lead("2", "102", 900_000, "2026-10-20"),
        open_lead("3", "102", "2026-10-21"),
    ]

    result = compute_rewards(
        Q4, [ROMASHKA, VEKTOR, NEW], leads, [], rules=reward_rules(settings), default_tier="bronze"
    )
    board = result.leaderboard

    # Ромашка: 1 won (10) + 3 revenue points + 50 for training; Вектор: 10 + 1 lead made in Q4 + 9
    assert [(r.rank, r.name, r.points) for r in board] == [
        (1, "ООО «Ромашка»", 63),
        (2, "АО «Вектор»", 20),
        (3, "ООО «Новичок»", 0),
    ]


def test_no_rule_sets_in_the_config_is_a_config_error_naming_the_key() -> None:
    bare = parse_settings({k: v for k, v in CONFIG.items() if k != "rewards"}, ENV)

    with pytest.raises(ConfigError, match="rewards.rule_sets"):
        reward_rules(bare)


def test_the_statements_csv_has_a_line_per_item_and_a_total_per_partner(settings: Any) -> None:
    leads = [won_lead("1", "101", 800_000, "2026-10-15"), won_lead("2", "101", 400_000, "2026-12-01")]
    result = compute_rewards(
        Q4,
        [ROMASHKA, VEKTOR],
        leads,
        [],
        rules=reward_rules(settings),
        goals=GoalBook.from_settings(settings),
    )

    rows = list(csv.DictReader(io.StringIO(statements_csv(result))))

    romashka = [r for r in rows if r["partner_id"] == "101"]
    assert [r["line"] for r in romashka] == [
        "commission",
        "commission",
        "plan_bonus",
        "over_performance",
        "total",
    ]
    items = sum(Decimal(r["amount"]) for r in romashka if r["line"] != "total")
    assert items == Decimal(romashka[-1]["amount"]) == Decimal("176000.00")
    assert {r["partner"] for r in romashka} == {"ООО «Ромашка»"} and romashka[0]["rate_percent"] == "10"
    assert [r["line"] for r in rows if r["partner_id"] == "102"] == ["total"]
    board = list(csv.DictReader(io.StringIO(leaderboard_csv(result))))
    assert [(b["rank"], b["partner_id"]) for b in board] == [("1", "101"), ("2", "102")]


def save(store: Store, entity: Entity, records: list[Any]) -> None:
    store.save_page(PORTAL, RecordPage(entity, records, SyncCursor(at("2026-12-31"), "")))


def test_rewards_for_reads_the_replicated_records_and_the_tier_history(store: Store, settings: Any) -> None:
    save(store, Entity.PARTNER, [replace_tier(ROMASHKA, "platinum"), VEKTOR])
    save(
        store,
        Entity.LEAD,
        [won_lead("1", "101", 800_000, "2026-10-15"), won_lead("2", "102", 100_000, "2026-11-15")],
    )
    save(store, Entity.DEAL, [repeat_deal("9", "101", 400_000, "2026-11-20")])
    store.record_tier_change(PORTAL, "101", "gold", "platinum", "meets platinum", at("2027-01-05"))

    result = rewards_for(settings, store, PORTAL, Q4)

    by_id = {s.partner_id: s for s in result.statements}
    assert by_id["101"].tier == "gold" and by_id["101"].revenue == 1_200_000
    assert by_id["101"].total == Decimal("120000.00") + 50_000 + 6_000
    assert by_id["102"].plan_revenue == 5_000_000 and not by_id["102"].plan_met  # silver's default plan
    assert by_id["101"].mdf is not None and by_id["101"].mdf.budget == 300_000
    assert result.currency == "RUB"
