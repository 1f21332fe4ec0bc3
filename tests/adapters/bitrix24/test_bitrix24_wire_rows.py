"""Wire tests of how Bitrix24 rows become partners, partner leads and deals (rows.py through
``changed_since``): every field read, the options and users translated, closing dates, external ids,
and a row that cannot be read skipped with a warning naming it."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import responses
from b24_support import MemoryKV, Sleeps
from b24_wire_support import HOOK, TIME, _sent

from crm_bridge.domain.model import PartnerType, StageKind
from crm_bridge.ports import AdapterContext, Entity, SyncCursor
from crm_bridge_bitrix24 import Bitrix24Adapter, build_adapter
from crm_bridge_bitrix24.config import Bitrix24Config

CURSOR = SyncCursor(datetime(2024, 1, 1, tzinfo=UTC))
STAMP = "2024-09-02T18:37:18+02:00"
WHEN = datetime(2024, 9, 2, 16, 37, 18, tzinfo=UTC)


def _adapter() -> Bitrix24Adapter:
    kv = MemoryKV()
    kv.set(
        "bitrix24.catalog",
        {
            "funnels": {"leads": 9, "repeat": 10, "upsell": 11},
            "stages": {
                "C9:NEW": ["leads", "registered", "open"],
                "C9:WON": ["leads", "won", "won"],
                "C9:LOSE": ["leads", "lost", "lost"],
                "C10:NEW": ["repeat", "new", "open"],
                "C11:NEW": ["upsell", "new", "open"],
            },
            "first_stage": {"leads": "C9:NEW"},
            "fields": {
                "lead.partner_ref": ["UF_CRM_PARTNER_REF", "string", {}],
                "lead.external_id": ["UF_CRM_BRIDGE_EXT_ID", "string", {}],
                "lead.conflict": ["UF_CRM_BRIDGE_CONFLICT", "enum", {"yes": 61, "no": 62}],
                "lead.region": ["UF_CRM_LEAD_REGION", "string", {}],
                "lead.specialisation": ["UF_CRM_LEAD_SPECIALISATION", "string", {}],
                "deal.partner_ref": ["UF_CRM_PARTNER_REF", "string", {}],
                "deal.external_id": ["UF_CRM_BRIDGE_EXT_ID", "string", {}],
                "partner.partner_type": ["UF_CRM_PARTNER_TYPE", "enum", {"reseller": 45, "ghost": 49}],
                "partner.tier": ["UF_CRM_PARTNER_TIER", "enum", {"gold": 47}],
                "partner.curator": ["UF_CRM_PARTNER_CURATOR", "user", {}],
                "partner.partner_since": ["UF_CRM_PARTNER_SINCE", "date", {}],
                "partner.region": ["UF_CRM_PARTNER_REGION", "string", {}],
                "partner.training_completed": ["UF_CRM_PARTNER_TRAINED", "enum", {"yes": 51, "no": 52}],
                "partner.score_reputation": ["UF_CRM_PARTNER_SCORE_REPUTATION", "integer", {}],
            },
        },
    )
    ctx = AdapterContext(kv=kv, clock=lambda: 1724916859.0, sleep=Sleeps())
    return build_adapter(Bitrix24Config(webhook_url=HOOK), ctx, curators={"anna": "17"})


def _records(entity: Entity, rows: list[dict[str, Any]], method: str = "crm.deal.list") -> list[Any]:
    responses.post(HOOK + method, json={"result": rows, "time": {**TIME, "start": 1725400000.0}})
    return [r for page in _adapter().changed_since(entity, CURSOR) for r in page.records]


@responses.activate
def test_a_partner_company_is_read_with_every_partner_field() -> None:
    rows = [
        {
            "ID": "5",
            "TITLE": "Acme",
            "DATE_MODIFY": STAMP,
            "UF_CRM_PARTNER_TYPE": "45",
            "UF_CRM_PARTNER_TIER": "47",
            "UF_CRM_PARTNER_CURATOR": "17",
            "UF_CRM_PARTNER_SINCE": "01.02.2023",
            "UF_CRM_PARTNER_REGION": "North",
            "UF_CRM_PARTNER_TRAINED": "51",
            "UF_CRM_PARTNER_SCORE_REPUTATION": "4",
        },
        {
            "ID": "6",
            "TITLE": None,
            "DATE_MODIFY": STAMP,
            "UF_CRM_PARTNER_TYPE": "49",
            "UF_CRM_PARTNER_TIER": "",
            "UF_CRM_PARTNER_CURATOR": "99",
            "UF_CRM_PARTNER_TRAINED": "52",
        },
        {"ID": "7", "DATE_MODIFY": STAMP, "UF_CRM_PARTNER_TYPE": False, "UF_CRM_PARTNER_CURATOR": "0"},
    ]

    acme, ghost, bare = _records(Entity.PARTNER, rows, "crm.company.list")

    assert (acme.crm_id, acme.name, acme.type, acme.tier, acme.curator_key) == (
        "5",
        "Acme",
        PartnerType.RESELLER,
        "gold",
        "anna",
    )
    assert (acme.region, acme.partner_since, acme.training_completed) == (
        "North",
        datetime(2023, 2, 1, tzinfo=UTC),
        True,
    )
    assert acme.qualification == {"reputation": 4} and acme.modified_at == WHEN
    assert (ghost.name, ghost.type, ghost.tier, ghost.curator_key, ghost.training_completed) == (
        "",
        None,
        None,
        None,
        False,
    )
    assert (bare.type, bare.curator_key, bare.region, bare.partner_since) == (None, None, "", None)
    assert _sent(responses.calls[0])["select"][:3] == ["ID", "TITLE", "DATE_MODIFY"]
    assert "STAGE_ID" not in _sent(responses.calls[0])["select"]


def _deal_row(crm_id: int, stage: str, **extra: Any) -> dict[str, Any]:
    return {
        "ID": str(crm_id),
        "TITLE": f"Deal {crm_id}",
        "STAGE_ID": stage,
        "CATEGORY_ID": stage.split(":")[0][1:],
        "DATE_CREATE": "2024-08-01T10:00:00+00:00",
        "DATE_MODIFY": STAMP,
        "MOVED_TIME": "2024-08-01T10:00:00+00:00",
        **extra,
    }


@responses.activate
def test_a_partner_lead_is_read_with_its_partner_customer_fields_and_closing() -> None:
    rows = [
        _deal_row(
            1,
            "C9:NEW",
            UF_CRM_PARTNER_REF="5",
            OPPORTUNITY="120.50",
            CURRENCY_ID="RUB",
            ASSIGNED_BY_ID="3",
            ORIGINATOR_ID="crm-bridge",
            ORIGIN_ID="ext-1",
            UF_CRM_BRIDGE_EXT_ID="other",
            UF_CRM_LEAD_REGION="South",
            UF_CRM_LEAD_SPECIALISATION="CRM",
            UF_CRM_BRIDGE_CONFLICT="61",
            CLOSED="N",
            CLOSEDATE="2024-08-09T10:00:00+00:00",
        ),
        _deal_row(
            2,
            "C9:LOSE",
            UF_CRM_PARTNER_REF="0",
            ASSIGNED_BY_ID="0",
            ORIGINATOR_ID="someone",
            ORIGIN_ID="x",
            UF_CRM_BRIDGE_EXT_ID="ext-2",
            UF_CRM_BRIDGE_CONFLICT="62",
            CLOSEDATE="",
        ),
        _deal_row(
            3,
            "C9:NEW",
            CLOSED="Y",
            CLOSEDATE="2024-08-05T10:00:00+00:00",
            ORIGINATOR_ID="crm-bridge",
            ORIGIN_ID="0",
        ),
        _deal_row(4, "C9:GONE", CLOSED="N"),
    ]

    first, lost, closed, unknown = _records(Entity.LEAD, rows)

    assert (first.crm_id, first.partner_id, first.title, first.stage, first.stage_kind) == (
        "1",
        "5",
        "Deal 1",
        "registered",
        StageKind.OPEN,
    )
    assert (first.amount, first.currency, first.manager_user_id, first.external_id) == (
        Decimal("120.50"),
        "RUB",
        "3",
        "ext-1",
    )
    assert (first.region, first.specialisation, first.conflict, first.closed_at) == (
        "South",
        "CRM",
        True,
        None,
    )
    assert (first.created_at, first.modified_at, first.first_touch_at, first.furthest_stage) == (
        datetime(2024, 8, 1, 10, tzinfo=UTC),
        WHEN,
        None,
        "registered",
    )
    assert (lost.partner_id, lost.manager_user_id, lost.external_id, lost.conflict) == (
        None,
        None,
        "ext-2",
        False,
    )
    assert (lost.stage_kind, lost.closed_at, lost.furthest_stage) == (StageKind.LOST, WHEN, None)
    assert (closed.closed_at, closed.external_id) == (datetime(2024, 8, 5, 10, tzinfo=UTC), None)
    assert (unknown.stage, unknown.stage_kind, unknown.closed_at) == ("C9:GONE", StageKind.OPEN, None)
    select = _sent(responses.calls[0])["select"]
    assert select[:14] == [
        "ID",
        "TITLE",
        "DATE_MODIFY",
        "STAGE_ID",
        "CATEGORY_ID",
        "OPPORTUNITY",
        "CURRENCY_ID",
        "ASSIGNED_BY_ID",
        "DATE_CREATE",
        "CLOSED",
        "CLOSEDATE",
        "ORIGINATOR_ID",
        "ORIGIN_ID",
        "MOVED_TIME",
    ]


@responses.activate
def test_deals_of_other_funnels_carry_their_funnel_and_the_repeat_flag() -> None:
    rows = [
        _deal_row(1, "C10:NEW", UF_CRM_PARTNER_REF="5", OPPORTUNITY="7"),
        _deal_row(2, "C11:NEW", CLOSED="Y"),
        _deal_row(3, "C11:ODD"),
    ]

    repeat, upsell, odd = _records(Entity.DEAL, rows)

    assert (repeat.funnel, repeat.stage, repeat.repeat, repeat.partner_id, repeat.amount) == (
        "repeat",
        "new",
        True,
        "5",
        Decimal("7"),
    )
    assert (upsell.funnel, upsell.repeat, upsell.closed_at) == ("upsell", False, WHEN)
    assert (odd.funnel, odd.stage, odd.stage_kind) == ("upsell", "C11:ODD", StageKind.OPEN)


@responses.activate
def test_a_row_that_cannot_be_read_is_skipped_with_a_warning_naming_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rows = [_deal_row(1, "C9:NEW"), {**_deal_row(2, "C9:NEW"), "DATE_CREATE": ""}, _deal_row(3, "C10:NEW")]
    responses.post(HOOK + "crm.deal.list", json={"result": rows, "time": TIME})
    adapter = _adapter()

    with caplog.at_level(logging.WARNING, logger="crm_bridge_bitrix24.source"):
        records = [r for page in adapter.changed_since(Entity.LEAD, CURSOR) for r in page.records]

    assert [r.crm_id for r in records] == ["1", "3"]
    assert adapter.lister.skipped == 1
    assert [r.getMessage() for r in caplog.records] == [
        "skipped Bitrix24 record: deal 2: deal has no DATE_CREATE"
    ]
