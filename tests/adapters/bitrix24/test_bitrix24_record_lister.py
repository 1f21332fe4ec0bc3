"""Wire tests of the Bitrix24 record lister (source.py) and the row values it reads (rows.py): the
cursor a backfill leaves, a resumed backfill reading every deal above its position, the refusal
before the funnels exist as the user reads it, rows that cannot be read counted, amounts too long to
quote, empty (``false``) text fields, yes/no fields that are not enumerations, and dates without an
offset on a server whose own time zone is not UTC."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import responses
from b24_deal_pages import DealPortal, deal_adapter
from b24_support import MemoryKV, Sleeps
from b24_wire_support import HOOK, TIME, _catalog_kv

from crm_bridge.cli.output import error_lines
from crm_bridge.errors import NotFound
from crm_bridge.ports import AdapterContext, Entity, SyncCursor
from crm_bridge_bitrix24 import Bitrix24Adapter, build_adapter
from crm_bridge_bitrix24.config import Bitrix24Config

# TIME["start"] is 1724916859.42, in the second 2024-08-29 07:34:19 UTC; the default overlap is 5 s.
JUST_BEFORE_THE_OVERLAP = datetime(2024, 8, 29, 7, 34, 13, 999999, tzinfo=UTC)
CURSOR = SyncCursor(datetime(2024, 1, 1, tzinfo=UTC))


@responses.activate
def test_a_backfill_leaves_the_cursor_just_before_its_first_second_less_the_overlap() -> None:
    DealPortal(range(1, 11)).install()

    pages = list(deal_adapter().changed_since(Entity.DEAL, None))

    assert [p.cursor for p in pages] == [SyncCursor(JUST_BEFORE_THE_OVERLAP)]


@responses.activate
def test_a_resumed_backfill_reads_every_deal_above_its_position_whenever_it_changed() -> None:
    portal = DealPortal(range(1, 131))
    portal.install()
    stopped = SyncCursor(JUST_BEFORE_THE_OVERLAP, "", "100")  # all deals changed before that cursor

    pages = list(deal_adapter().changed_since(Entity.DEAL, stopped))

    assert [int(r.crm_id) for p in pages for r in p.records] == list(range(101, 131))
    assert pages[-1].cursor == SyncCursor(JUST_BEFORE_THE_OVERLAP)  # its first run's cap, finished
    [[counted, _]] = portal.batches
    assert counted["filter[>ID]"] == "100" and "filter[>DATE_MODIFY]" not in counted


@pytest.mark.parametrize("entity", [Entity.LEAD, Entity.DEAL])
def test_records_before_the_funnels_exist_tell_the_user_the_crm_and_the_fix(entity: Entity) -> None:
    kv = _catalog_kv()
    kv.data["bitrix24.catalog"]["funnels"] = {"repeat": 10}
    ctx = AdapterContext(kv=kv, clock=lambda: 1724916859.0, sleep=Sleeps())
    adapter = build_adapter(Bitrix24Config(webhook_url=HOOK), ctx)

    with pytest.raises(NotFound) as info:
        list(adapter.changed_since(entity, CURSOR))

    assert error_lines(info.value) == [
        f"bitrix24 {entity.value}: the partner funnels are not on the portal yet: run crm-bridge provision"
    ]


def _adapter() -> Bitrix24Adapter:
    kv = MemoryKV()
    kv.set(
        "bitrix24.catalog",
        {
            "funnels": {"leads": 9, "repeat": 10},
            "stages": {"C9:NEW": ["leads", "registered", "open"], "C10:NEW": ["repeat", "new", "open"]},
            "first_stage": {"leads": "C9:NEW"},
            "fields": {
                # A portal's own boolean user field: not an enumeration, "1"/"0" or "Y"/"N".
                "lead.conflict": ["UF_CRM_OLD_CONFLICT", "string", {}],
                "partner.partner_type": ["UF_CRM_PARTNER_TYPE", "enum", {"reseller": 45}],
                "partner.region": ["UF_CRM_PARTNER_REGION", "string", {}],
            },
        },
    )
    ctx = AdapterContext(kv=kv, clock=lambda: 1724916859.0, sleep=Sleeps())
    return build_adapter(Bitrix24Config(webhook_url=HOOK), ctx)


def _lead(crm_id: int, **extra: Any) -> dict[str, Any]:
    return {
        "ID": str(crm_id),
        "TITLE": f"Lead {crm_id}",
        "STAGE_ID": "C9:NEW",
        "CATEGORY_ID": "9",
        "DATE_CREATE": "2024-08-01T10:00:00+00:00",
        "DATE_MODIFY": "2024-08-20T10:00:00+00:00",
        **extra,
    }


def _listed(adapter: Bitrix24Adapter, entity: Entity, rows: list[dict[str, Any]]) -> list[Any]:
    method = "crm.company.list" if entity is Entity.PARTNER else "crm.deal.list"
    responses.post(HOOK + method, json={"result": rows, "time": TIME})
    return [r for page in adapter.changed_since(entity, CURSOR) for r in page.records]


@responses.activate
def test_every_row_that_cannot_be_read_is_counted() -> None:
    adapter = _adapter()
    rows = [_lead(1, DATE_CREATE=""), _lead(2), _lead(3, OPPORTUNITY="a lot")]

    assert [r.crm_id for r in _listed(adapter, Entity.LEAD, rows)] == ["2"]
    assert adapter.lister.skipped == 2


@responses.activate
def test_an_amount_that_is_no_number_is_quoted_to_its_first_40_characters(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rows = [_lead(1, OPPORTUNITY="12345 roubles " * 4), _lead(2, OPPORTUNITY="NaN" + "9" * 45)]

    with caplog.at_level(logging.WARNING, logger="crm_bridge_bitrix24.source"):
        assert _listed(_adapter(), Entity.LEAD, rows) == []

    assert [r.getMessage() for r in caplog.records] == [
        "skipped Bitrix24 record: deal 1: amount '12345 roubles 12345 roubles 12345 rouble' is not a number",
        "skipped Bitrix24 record: deal 2: amount 'NaN" + "9" * 37 + "' is not a number",
    ]


@responses.activate
def test_a_text_field_the_portal_sends_as_false_is_empty() -> None:
    row = {
        "ID": "5",
        "TITLE": "Acme",
        "DATE_MODIFY": "2024-08-20T10:00:00+00:00",
        "UF_CRM_PARTNER_TYPE": "45",
        "UF_CRM_PARTNER_REGION": False,
    }

    [partner] = _listed(_adapter(), Entity.PARTNER, [row])

    assert (partner.name, partner.region) == ("Acme", "")


@responses.activate
def test_a_yes_no_field_that_is_not_an_enumeration_reads_its_flag() -> None:
    rows = [_lead(1, UF_CRM_OLD_CONFLICT="1"), _lead(2, UF_CRM_OLD_CONFLICT="Y"), _lead(3)]

    leads = _listed(_adapter(), Entity.LEAD, rows)

    assert [lead.conflict for lead in leads] == [True, True, False]


@pytest.fixture
def vladivostok_server() -> Iterator[None]:
    """The process's local time zone UTC+10, as on a server in Vladivostok."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Vladivostok"
    time.tzset()
    try:
        yield
    finally:
        if old is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = old
        time.tzset()


@responses.activate
@pytest.mark.usefixtures("vladivostok_server")
def test_a_date_without_an_offset_is_utc_whatever_the_servers_time_zone() -> None:
    rows = [_lead(1, DATE_CREATE="01.08.2024 10:00:00", DATE_MODIFY="2024-08-20T10:00:00")]

    [lead] = _listed(_adapter(), Entity.LEAD, rows)

    assert lead.created_at == datetime(2024, 8, 1, 10, tzinfo=UTC)
    assert lead.modified_at == datetime(2024, 8, 20, 10, tzinfo=UTC)
