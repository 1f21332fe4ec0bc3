"""Amounts the portal returns: a value that is not a number is never counted as 0 in revenue."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest
import responses
from b24_wire_support import HOOK, TIME, _adapter, _catalog_kv

from crm_bridge.ports import Entity, SyncCursor


def _row(deal_id: str, amount: str) -> dict[str, Any]:
    return {
        "ID": deal_id,
        "TITLE": f"Deal {deal_id}",
        "CATEGORY_ID": "9",
        "STAGE_ID": "C9:WON",
        "OPPORTUNITY": amount,
        "DATE_CREATE": "2024-09-02T18:37:18+02:00",
        "DATE_MODIFY": "2024-09-02T18:40:00+02:00",
        "CLOSED": "Y",
        "UF_CRM_PARTNER_REF": "5",
    }


@responses.activate
def test_a_lead_whose_amount_does_not_parse_is_skipped_with_a_warning_naming_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rows = [_row("37", "19999.99"), _row("38", "12 000,50 руб."), _row("39", "")]
    listed_at = {**TIME, "start": 1725300000.0}
    responses.post(HOOK + "crm.deal.list", json={"result": rows, "total": 0, "time": listed_at})

    with caplog.at_level(logging.WARNING):
        pages = list(
            _adapter(_catalog_kv()).changed_since(Entity.LEAD, SyncCursor(datetime(2024, 9, 1, tzinfo=UTC)))
        )

    leads = {r.crm_id: str(r.amount) for page in pages for r in page.records}  # type: ignore[union-attr]
    assert leads == {"37": "19999.99", "39": "0"}
    assert "deal 38" in caplog.text and "12 000,50" in caplog.text
