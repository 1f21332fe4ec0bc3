"""Wire tests of how Bitrix24 deal rows of our other funnels become Deals (rows.py through
``changed_since``): every field a Deal carries, the warning naming a deal row that cannot be read, and
the partner fields a portal may lack or leave at "0"."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import responses
from b24_support import MemoryKV, Sleeps
from b24_wire_support import HOOK, TIME

from crm_bridge.domain.model import Deal, Partner, StageKind
from crm_bridge.ports import AdapterContext, Entity, SyncCursor
from crm_bridge_bitrix24 import Bitrix24Adapter, build_adapter
from crm_bridge_bitrix24.config import Bitrix24Config

CURSOR = SyncCursor(datetime(2024, 1, 1, tzinfo=UTC))
STAMP = "2024-09-02T18:37:18+02:00"
WHEN = datetime(2024, 9, 2, 16, 37, 18, tzinfo=UTC)
CREATED = datetime(2024, 8, 1, 10, tzinfo=UTC)

FIELDS = {
    "deal.partner_ref": ["UF_CRM_PARTNER_REF", "string", {}],
    "deal.external_id": ["UF_CRM_BRIDGE_EXT_ID", "string", {}],
    "partner.partner_type": ["UF_CRM_PARTNER_TYPE", "enum", {"reseller": 45}],
    "partner.tier": ["UF_CRM_PARTNER_TIER", "enum", {"gold": 47}],
    "partner.curator": ["UF_CRM_PARTNER_CURATOR", "user", {}],
}


def _adapter(fields: dict[str, Any] | None = None, curators: dict[str, str] | None = None) -> Bitrix24Adapter:
    kv = MemoryKV()
    kv.set(
        "bitrix24.catalog",
        {
            "funnels": {"leads": 9, "repeat": 10, "upsell": 11},
            "stages": {
                "C9:NEW": ["leads", "registered", "open"],
                "C10:NEW": ["repeat", "new", "open"],
                "C10:WON": ["repeat", "won", "won"],
                "C11:NEW": ["upsell", "new", "open"],
            },
            "first_stage": {"leads": "C9:NEW"},
            "fields": FIELDS if fields is None else fields,
        },
    )
    ctx = AdapterContext(kv=kv, clock=lambda: 1724916859.0, sleep=Sleeps())
    return build_adapter(Bitrix24Config(webhook_url=HOOK), ctx, curators=curators or {"anna": "17"})


def _read(adapter: Bitrix24Adapter, entity: Entity, rows: list[dict[str, Any]], method: str) -> list[Any]:
    responses.post(HOOK + method, json={"result": rows, "time": {**TIME, "start": 1725400000.0}})
    return [r for page in adapter.changed_since(entity, CURSOR) for r in page.records]


def _deal_row(crm_id: int, stage: str, **extra: Any) -> dict[str, Any]:
    return {
        "ID": str(crm_id),
        "TITLE": f"Deal {crm_id}",
        "STAGE_ID": stage,
        "CATEGORY_ID": stage.split(":")[0][1:],
        "DATE_CREATE": "2024-08-01T10:00:00+00:00",
        "DATE_MODIFY": STAMP,
        "CLOSEDATE": "2024-08-20T10:00:00+00:00",
        **extra,
    }


@responses.activate
def test_a_deal_is_read_with_its_id_currency_dates_and_external_id() -> None:
    rows = [
        _deal_row(
            21,
            "C10:NEW",
            UF_CRM_PARTNER_REF="5",
            OPPORTUNITY="7.5",
            CURRENCY_ID="USD",
            ORIGINATOR_ID="crm-bridge",
            ORIGIN_ID="ext-21",
            CLOSED="N",
        ),
        _deal_row(22, "C10:WON", CURRENCY_ID="EUR", UF_CRM_BRIDGE_EXT_ID="ext-22"),
    ]

    open_deal, won = _read(_adapter(), Entity.DEAL, rows, "crm.deal.list")

    assert open_deal == Deal(
        crm_id="21",
        partner_id="5",
        title="Deal 21",
        funnel="repeat",
        stage="new",
        stage_kind=StageKind.OPEN,
        amount=Decimal("7.5"),
        created_at=CREATED,
        currency="USD",
        closed_at=None,
        repeat=True,
        external_id="ext-21",
        modified_at=WHEN,
    )
    assert (won.crm_id, won.stage_kind, won.currency, won.external_id) == (
        "22",
        StageKind.WON,
        "EUR",
        "ext-22",
    )
    assert won.closed_at == datetime(2024, 8, 20, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("bad", "warning"),
    [
        ({"DATE_CREATE": ""}, "skipped Bitrix24 record: deal 32: deal has no DATE_CREATE"),
        ({"OPPORTUNITY": "a lot"}, "skipped Bitrix24 record: deal 32: amount 'a lot' is not a number"),
    ],
)
@responses.activate
def test_a_deal_row_that_cannot_be_read_is_skipped_with_a_warning_naming_it(
    caplog: pytest.LogCaptureFixture, bad: dict[str, str], warning: str
) -> None:
    rows = [_deal_row(31, "C10:NEW"), _deal_row(32, "C11:NEW", **bad), _deal_row(33, "C11:NEW")]

    with caplog.at_level(logging.WARNING, logger="crm_bridge_bitrix24.source"):
        deals = _read(_adapter(), Entity.DEAL, rows, "crm.deal.list")

    assert [d.crm_id for d in deals] == ["31", "33"]
    assert [r.getMessage() for r in caplog.records] == [warning]


@responses.activate
def test_a_portal_without_the_tier_field_reads_partners_without_a_tier() -> None:
    fields = {k: v for k, v in FIELDS.items() if k != "partner.tier"}
    rows = [{"ID": "5", "TITLE": "Acme", "DATE_MODIFY": STAMP, "UF_CRM_PARTNER_TYPE": "45"}]

    [partner] = _read(_adapter(fields), Entity.PARTNER, rows, "crm.company.list")

    assert isinstance(partner, Partner)
    assert (partner.crm_id, partner.name, partner.tier) == ("5", "Acme", None)


@responses.activate
def test_a_curator_field_left_at_zero_names_no_curator_even_if_a_curator_is_configured_as_0() -> None:
    rows = [
        {"ID": "5", "DATE_MODIFY": STAMP, "UF_CRM_PARTNER_TYPE": "45", "UF_CRM_PARTNER_CURATOR": "0"},
        {"ID": "6", "DATE_MODIFY": STAMP, "UF_CRM_PARTNER_TYPE": "45", "UF_CRM_PARTNER_CURATOR": "17"},
    ]

    unset, curated = _read(
        _adapter(curators={"anna": "17", "typo": "0"}), Entity.PARTNER, rows, "crm.company.list"
    )

    assert (unset.curator_key, curated.curator_key) == (None, "anna")
