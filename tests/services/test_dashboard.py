"""The head's dashboard (``build_dashboard``): the four funnels' stage-by-stage reach (leads and repeat
deals created in the period; partners on the acquisition funnel and tier-upgrade deals where they
stand now), the tier moves waiting for the head or in grace, partner names, the daemon's job runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from crm_bridge.config import parse_settings
from crm_bridge.config.funnels import desired_layout_for
from crm_bridge.domain.model import Deal, FunnelKey, Lead, Partner, StageKind
from crm_bridge.domain.period import Period
from crm_bridge.ports import Entity, RecordPage, SyncCursor
from crm_bridge.services.portal.dashboard import JobRow, build_dashboard
from crm_bridge.store import Store
from crm_bridge.store.tier_moves import TierPendingRepository

PORTAL = "fake:test"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
ENV = {"B24_WEBHOOK_URL": "https://b24.example.ru/rest/1/abcdef123456/"}
SETTINGS = parse_settings(
    {
        "crm": {"kind": "bitrix24", "bitrix24": {"webhook_url": "${B24_WEBHOOK_URL}"}},
        "rewards": {
            "rule_sets": [
                {
                    "effective_from": "2026-01-01",
                    "commission": {"by_tier": {"bronze": 5, "silver": 7, "gold": 10, "platinum": 12}},
                }
            ]
        },
    },
    ENV,
)
NOVEMBER = Period.containing(NOW, "month", UTC)
OPEN, WON, LOST = StageKind.OPEN, StageKind.WON, StageKind.LOST


def partner(crm_id: str, stage: str | None) -> Partner:
    return Partner(crm_id, f"Партнёр {crm_id}", acquisition_stage=stage)


def lead(crm_id: str, stage: str, kind: StageKind, created: datetime) -> Lead:
    return Lead(crm_id, "1", f"Lead {crm_id}", stage, kind, created, amount=Decimal(0))


def deal(crm_id: str, funnel: FunnelKey, stage: str, kind: StageKind, created: datetime) -> Deal:
    return Deal(crm_id, "1", f"Deal {crm_id}", funnel.value, stage, kind, Decimal(0), created)


def save(store: Store, entity: Entity, records: list[Any]) -> None:
    store.save_page(PORTAL, RecordPage(entity, records, SyncCursor(NOW, "")))


def reach(view: Any) -> list[tuple[str, int]]:
    return [(s.stage, s.reached) for s in view.stages]


def test_the_funnels_count_how_far_each_card_got(store: Store) -> None:
    old = NOW - timedelta(days=60)
    save(
        store,
        Entity.PARTNER,
        [
            partner("1", "negotiation"),
            partner("2", "partner_active"),
            partner("3", "identification"),
            partner("4", None),  # not on the acquisition funnel
            partner("5", "not_a_fit"),
            partner("6", "unknown_stage"),
        ],
    )
    save(
        store,
        Entity.LEAD,
        [
            lead("1", "qualification", OPEN, NOW - timedelta(days=2)),
            lead("2", "deal_closed", WON, NOW - timedelta(days=3)),
            lead("3", "offer", OPEN, old),  # created before the period
        ],
    )
    save(
        store,
        Entity.DEAL,
        [
            deal("1", FunnelKey.TIER_UPGRADE, "training", OPEN, old),
            deal("2", FunnelKey.TIER_UPGRADE, "tier_reached", WON, old),
            deal("3", FunnelKey.REPEAT, "upsell_offer", OPEN, NOW - timedelta(days=1)),
            deal("4", FunnelKey.REPEAT, "repeat_won", WON, old),
        ],
    )

    dash = build_dashboard(store, PORTAL, SETTINGS, desired_layout_for(SETTINGS), NOVEMBER, now=NOW)

    acquisition, leads, tiers, repeat = dash.funnels
    assert [(f.key, f.scope) for f in dash.funnels] == [
        ("acquisition", "now"),
        ("leads", "period"),
        ("tier_upgrade", "now"),
        ("repeat", "period"),
    ]
    assert acquisition.name == "Привлечение партнёров" and acquisition.stage_names["onboarding"]
    assert reach(acquisition) == [
        ("identification", 5),
        ("first_contact", 2),
        ("negotiation", 2),
        ("agreement_signed", 1),
        ("onboarding", 1),
        ("partner_active", 1),
    ]
    assert acquisition.total == 5 and acquisition.overall == Decimal(20)
    assert reach(leads) == [("lead_registered", 2), ("qualification", 2), ("offer", 1), ("deal_closed", 1)]
    assert reach(tiers) == [("assessment", 2), ("goal_setting", 2), ("training", 2), ("tier_reached", 1)]
    assert reach(repeat) == [("base_review", 1), ("upsell_offer", 1), ("negotiation", 0), ("repeat_won", 0)]
    assert dash.partner_names["2"] == "Партнёр 2" and len(dash.partner_names) == 6
    assert dash.report.period == NOVEMBER and dash.report.generated_at == NOW
    assert [s.reached for s in dash.report.funnel] == [2, 2, 1, 1]  # the report reads the same leads


def test_an_empty_funnel_has_no_total_and_no_overall(store: Store) -> None:
    dash = build_dashboard(store, PORTAL, SETTINGS, desired_layout_for(SETTINGS), NOVEMBER, now=NOW)
    acquisition = dash.funnels[0]
    assert acquisition.total == 0 and acquisition.overall is None
    assert (dash.awaiting, dash.in_grace, dash.jobs) == ((), (), ())


def test_tier_moves_are_split_into_waiting_for_the_head_and_in_grace(store: Store) -> None:
    save(store, Entity.PARTNER, [partner("1", None), partner("2", None)])
    moves = TierPendingRepository(store.engine)
    for pid, status in (("1", "awaiting_approval"), ("2", "grace")):
        moves.upsert_open(
            PORTAL,
            pid,
            from_tier="gold",
            to_tier="silver",
            reason="below",
            status=status,
            started_at=NOW,
            effective_at=NOW + timedelta(days=14),
        )

    dash = build_dashboard(store, PORTAL, SETTINGS, desired_layout_for(SETTINGS), NOVEMBER, now=NOW)

    assert [p.partner_id for p in dash.awaiting] == ["1"]
    assert [p.partner_id for p in dash.in_grace] == ["2"]


def test_the_daemons_job_runs_are_read_from_their_status(store: Store) -> None:
    jobs = {
        "sync": {
            "runs": 12,
            "failures": 1,
            "last_success": "2026-11-20T11:00:00+00:00",
            "last_error": "timeout",
            "running": True,
        },
        "tiers": {},
    }
    dash = build_dashboard(
        store, PORTAL, SETTINGS, desired_layout_for(SETTINGS), NOVEMBER, now=NOW, jobs=lambda: jobs
    )
    assert dash.jobs == (
        JobRow("sync", 12, 1, datetime(2026, 11, 20, 11, tzinfo=UTC), "timeout", True),
        JobRow("tiers", 0, 0, None, None, False),
    )
