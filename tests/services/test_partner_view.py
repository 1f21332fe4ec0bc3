"""What the partner portal and the bot show a partner (``PartnerPortal``), over the replicated records:
its own leads only (with their stage, step and the registrations the CRM has not brought back yet), its
tier and what the next one needs, the leaderboard without other partners' figures (nor names when
anonymous), the months to choose from."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from crm_bridge.config import parse_settings
from crm_bridge.config.funnels import desired_layout_for
from crm_bridge.domain.model import Lead, Partner, StageKind
from crm_bridge.ports import Entity, RecordPage, SyncCursor
from crm_bridge.services.portal.partner_view import LeadRow, PartnerPortal, Threshold
from crm_bridge.store import Store
from crm_bridge.store.registrations import Registration
from crm_bridge.store.tier_moves import TierPendingRepository

PORTAL = "fake:test"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
CONFIG: dict[str, Any] = {
    "crm": {"kind": "bitrix24", "bitrix24": {"webhook_url": "${B24_WEBHOOK_URL}"}},
    "rewards": {
        "currency": "RUB",
        "rule_sets": [
            {
                "effective_from": "2026-01-01",
                "commission": {"by_tier": {"bronze": 5, "silver": 7, "gold": 10, "platinum": 12}},
                "points": {"per_won_deal": 10, "per_lead": 1, "revenue_unit": 100000},
            }
        ],
    },
}
ENV = {"B24_WEBHOOK_URL": "https://b24.example.ru/rest/1/abcdef123456/"}
ALFA = Partner("101", "ООО Альфа", tier="silver")
BETA = Partner("102", "ООО Бета", tier="platinum")
GAMMA = Partner("103", "ООО Гамма")


def lead(
    crm_id: str, partner: str, stage: str, kind: StageKind, days_ago: int, amount: int = 0, **kw: Any
) -> Lead:
    created = NOW - timedelta(days=days_ago)
    closed = created + timedelta(days=1) if kind is not StageKind.OPEN else None
    return Lead(
        crm_id,
        partner,
        f"Lead {crm_id}",
        stage,
        kind,
        created,
        amount=Decimal(amount),
        closed_at=closed,
        modified_at=created,
        **kw,
    )


def registration(
    external_id: str,
    partner: str,
    customer: str,
    status: str,
    days_ago: int,
    conflict: bool = False,
    **kw: Any,
) -> Registration:
    at = NOW - timedelta(days=days_ago)
    return Registration(
        external_id, partner, customer, "", "", "", "api", status, conflict, None, "", at, at, **kw
    )


def view(store: Store, **config: Any) -> PartnerPortal:
    settings = parse_settings({**CONFIG, **config}, ENV)
    return PartnerPortal(store, PORTAL, settings, desired_layout_for(settings), clock=lambda: NOW)


@pytest.fixture
def world(store: Store) -> Store:
    store.save_page(PORTAL, RecordPage(Entity.PARTNER, [ALFA, BETA, GAMMA], SyncCursor(NOW, "")))
    leads = [
        lead("1", "101", "qualification", StageKind.OPEN, 3),
        lead("2", "101", "deal_closed", StageKind.WON, 40, 300_000),
        lead("3", "101", "lead_lost", StageKind.LOST, 50),
        lead("4", "102", "lead_registered", StageKind.OPEN, 1),
        lead("5", "102", "deal_closed", StageKind.WON, 30, 900_000),
        lead("6", "102", "deal_closed", StageKind.WON, 20, 900_000),
    ]
    store.save_page(PORTAL, RecordPage(Entity.LEAD, leads, SyncCursor(NOW, "")))
    return store


def test_a_partner_sees_its_own_leads_newest_first_with_the_registrations_not_back_yet(world: Store) -> None:
    world.intake.add_registration(PORTAL, registration("api:1", "101", "ООО Ждущая", "pending", 0))
    world.intake.add_registration(PORTAL, registration("api:2", "101", "ООО Отказ", "failed", 2))
    world.intake.add_registration(
        PORTAL, registration("api:3", "101", "ООО Старая", "pending", 5, expired_at=NOW - timedelta(days=1))
    )
    portal = view(world)
    names = portal.stage_names

    rows = portal.leads("101")

    assert [(r.key, r.customer_name, r.stage_name, r.state, r.step, r.steps) for r in rows] == [
        ("api:1", "ООО Ждущая", "", "waiting", 0, 0),
        ("api:2", "ООО Отказ", "", "refused", 0, 0),
        ("1", "Lead 1", names["qualification"], "open", 2, 3),
        ("2", "Lead 2", names["deal_closed"], "won", 0, 3),
        ("3", "Lead 3", names["lead_lost"], "lost", 0, 3),
    ]
    assert rows[3].amount == Decimal(300_000) and rows[3].crm_id == "2"
    assert portal.lead("101", "2") == rows[3]
    assert portal.lead("101", "4") is None  # another partner's lead
    assert portal.lead("102", "2") is None
    assert [r.key for r in portal.leads("102")] == ["4", "6", "5"]
    assert portal.leads("103") == []


def test_a_synced_registration_shows_once_under_the_crms_lead_with_the_registered_customer(
    world: Store,
) -> None:
    world.save_page(
        PORTAL, RecordPage(Entity.LEAD, [lead("7", "103", "offer", StageKind.OPEN, 2)], SyncCursor(NOW, ""))
    )
    world.intake.add_registration(
        PORTAL, registration("api:7", "103", "ООО Клиент", "created", 2, lead_crm_id="7")
    )
    (row,) = view(world).leads("103")
    assert row == LeadRow(
        "7",
        "ООО Клиент",
        view(world).stage_names["offer"],
        "open",
        NOW - timedelta(days=2),
        Decimal(0),
        False,
        "7",
        3,
        3,
    )


def test_the_tier_view_shows_what_the_next_tier_needs_and_what_keeps_this_one(world: Store) -> None:
    portal = view(world)

    alfa = portal.tier("101")
    assert (alfa.tier, alfa.tier_name, alfa.next_tier, alfa.next_name, alfa.window_days) == (
        "silver",
        "Серебряный",
        "gold",
        "Золотой",
        180,
    )
    assert alfa.to_next == (Threshold("won_deals", Decimal(1), Decimal(10)),)
    assert alfa.to_keep == (Threshold("won_deals", Decimal(1), Decimal(3)),)
    assert alfa.levels[0] == ("bronze", "Бронзовый") and len(alfa.levels) == 4
    assert alfa.pending is None and alfa.pending_to_name == ""

    beta = portal.tier("102")
    assert (beta.next_tier, beta.next_name, beta.to_next) == (None, "", ())
    assert beta.to_keep == (Threshold("won_deals", Decimal(2), Decimal(25)),)

    gamma = portal.tier("103")  # no tier yet: the lowest tier is the next one, not the second
    assert (gamma.tier, gamma.tier_name, gamma.to_keep) == (None, "—", ())
    assert (gamma.next_tier, gamma.next_name) == ("bronze", "Бронзовый")
    assert gamma.to_next == (Threshold("won_deals", Decimal(0), Decimal(0)),)


def test_a_downgrade_under_way_is_shown_with_the_target_tiers_name(world: Store) -> None:
    TierPendingRepository(world.engine).upsert_open(
        PORTAL,
        "101",
        from_tier="silver",
        to_tier="bronze",
        reason="below",
        status="grace",
        started_at=NOW,
        effective_at=NOW + timedelta(days=30),
    )
    tier = view(world).tier("101")
    assert tier.pending is not None and tier.pending.to_tier == "bronze"
    assert tier.pending_to_name == "Бронзовый"


@pytest.mark.parametrize(
    ("actual", "minimum", "met", "missing", "percent"),
    [
        (Decimal(0), Decimal(3), False, Decimal(3), 0),
        (Decimal(2), Decimal(3), False, Decimal(1), 66),
        (Decimal(3), Decimal(3), True, Decimal(0), 100),
        (Decimal(5), Decimal(3), True, Decimal(0), 100),
        (Decimal(5), Decimal(0), True, Decimal(0), 100),
    ],
)
def test_a_threshold_is_met_lacks_and_fills(
    actual: Decimal, minimum: Decimal, met: bool, missing: Decimal, percent: int
) -> None:
    t = Threshold("won_deals", actual, minimum)
    assert (t.met, t.missing, t.percent) == (met, missing, percent)


def test_the_leaderboard_shows_only_the_partners_own_figures_and_hides_names_when_anonymous(
    world: Store,
) -> None:
    portal = view(world)
    (month,) = portal.periods(1)

    board = portal.leaderboard("101", month)
    assert [(r["rank"], r["name"], r["me"]) for r in board][:2] == [
        (1, "ООО Бета", False),
        (2, "ООО Альфа", True),
    ]
    beta, alfa = board[0], board[1]
    assert (beta["points"], alfa["points"]) == (20, 1)
    assert beta["won_deals"] is None and beta["revenue"] is None
    assert alfa["won_deals"] is not None and alfa["revenue"] is not None

    hidden = view(world, portal={"leaderboard": "anonymous"}).leaderboard("101", month)
    assert [(r["rank"], r["name"]) for r in hidden][:2] == [(1, None), (2, "ООО Альфа")]


def test_the_reward_statement_is_the_partners_own(world: Store) -> None:
    portal = view(world)
    month = portal.periods(1)[0]
    statement, currency = portal.statement("102", month)
    assert currency == "RUB" and statement is not None and statement.partner_id == "102"
    assert portal.statement("nobody", month) == (None, "RUB")


def test_the_months_to_choose_are_this_one_and_those_before_newest_first(world: Store) -> None:
    assert [p.key for p in view(world).periods(3)] == ["2026-11", "2026-10", "2026-09"]
    assert [p.key for p in view(world).periods()] == [
        "2026-11",
        "2026-10",
        "2026-09",
        "2026-08",
        "2026-07",
        "2026-06",
    ]


def test_the_overview_is_none_for_an_unknown_partner(world: Store) -> None:
    portal = view(world)
    assert portal.overview("nobody") is None
    overview = portal.overview("102")
    assert overview is not None and overview.month.key == "2026-11" and overview.plan == ()
    assert overview.tier.tier == "platinum"


def test_the_plans_count_leads_at_the_lead_funnels_open_stages_in_order() -> None:
    from crm_bridge.services.partners.plans import lead_stages_of

    settings = parse_settings(CONFIG, ENV)
    assert lead_stages_of(desired_layout_for(settings)) == ("lead_registered", "qualification", "offer")


def test_the_months_follow_the_companys_time_zone(store: Store) -> None:
    late = datetime(2026, 11, 30, 22, 0, tzinfo=UTC)  # already December in Moscow
    settings = parse_settings({**CONFIG, "timezone": "Europe/Moscow"}, ENV)
    portal = PartnerPortal(store, PORTAL, settings, desired_layout_for(settings), clock=lambda: late)
    months = portal.periods(2)
    assert [p.key for p in months] == ["2026-12", "2026-11"]
    assert months[0].start == datetime(2026, 11, 30, 21, 0, tzinfo=UTC)
    assert months[1].start == datetime(2026, 10, 31, 21, 0, tzinfo=UTC)


def test_a_lead_row_carries_the_conflict_flag_the_amount_and_an_unknown_stage_as_its_key(
    world: Store,
) -> None:
    world.save_page(
        PORTAL,
        RecordPage(
            Entity.LEAD, [lead("8", "103", "custom_stage", StageKind.OPEN, 1, 5000)], SyncCursor(NOW, "")
        ),
    )
    world.intake.add_registration(
        PORTAL, registration("api:8", "103", "ООО Спорный", "created", 1, lead_crm_id="8", conflict=True)
    )
    world.intake.add_registration(
        PORTAL, registration("api:9", "103", "ООО Второй", "pending", 0, conflict=True)
    )
    rows = {r.key: r for r in view(world).leads("103")}

    synced = rows["8"]
    assert (synced.stage_name, synced.step, synced.conflict, synced.amount) == (
        "custom_stage",
        0,
        True,
        Decimal(5000),
    )
    waiting = rows["api:9"]
    assert (waiting.amount, waiting.conflict, waiting.crm_id, waiting.stage_name) == (
        Decimal(0),
        True,
        None,
        "",
    )


def test_a_registration_created_in_the_crm_but_not_synced_back_yet_carries_its_lead_id(world: Store) -> None:
    world.intake.add_registration(
        PORTAL, registration("api:7", "101", "ООО Новая", "created", 0, lead_crm_id="77")
    )
    (row,) = [r for r in view(world).leads("101") if r.customer_name == "ООО Новая"]
    assert (row.key, row.crm_id, row.state) == ("77", "77", "waiting")
