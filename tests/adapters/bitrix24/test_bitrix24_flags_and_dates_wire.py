"""Wire tests of yes/no values and dates (rows.py): a yes/no field that is not an enumeration reads
"1", "Y", "true" or a JSON true as yes; a date sent to the portal is written in UTC whatever the
machine's time zone."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import responses
from b24_wire_support import HOOK, _adapter, _catalog_kv

from crm_bridge.ports import Entity, SyncCursor


def _lead_row(crm_id: int, conflict: Any) -> dict[str, Any]:
    return {
        "ID": str(crm_id),
        "TITLE": f"Lead {crm_id}",
        "STAGE_ID": "C9:NEW",
        "CATEGORY_ID": "9",
        "DATE_CREATE": "2024-08-01T10:00:00+00:00",
        "DATE_MODIFY": "2024-08-02T10:00:00+00:00",
        "MOVED_TIME": "2024-08-01T10:00:00+00:00",
        "UF_CRM_BRIDGE_CONFLICT": conflict,
    }


@responses.activate
def test_a_yes_no_field_that_is_no_enumeration_reads_1_y_and_true_as_yes() -> None:
    kv = _catalog_kv()
    kv.data["bitrix24.catalog"]["fields"]["lead.conflict"] = ["UF_CRM_BRIDGE_CONFLICT", "integer", {}]
    values = ["1", "y", True, " true ", "0", "N", False, None]
    rows = [_lead_row(i, v) for i, v in enumerate(values, start=1)]
    responses.post(HOOK + "crm.deal.list", json={"result": rows, "time": {"start": 1724916859.0}})

    [page] = list(_adapter(kv).changed_since(Entity.LEAD, SyncCursor(datetime(2024, 8, 1, tzinfo=UTC))))

    assert [lead.conflict for lead in page.records] == [True, True, True, True, False, False, False, False]


@pytest.fixture
def far_east_machine(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's local time zone is UTC+10 (no daylight saving) for the test."""
    monkeypatch.setenv("TZ", "Asia/Vladivostok")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@responses.activate
@pytest.mark.usefixtures("far_east_machine")
def test_a_cursors_time_is_sent_in_utc_whatever_the_machines_time_zone() -> None:
    responses.post(HOOK + "crm.deal.list", json={"result": [], "time": {"start": 1724916859.0}})
    moscow = datetime(2024, 8, 20, 13, 0, tzinfo=timezone(timedelta(hours=3)))

    list(_adapter(_catalog_kv()).changed_since(Entity.DEAL, SyncCursor(moscow, "7")))

    body = json.loads(responses.calls[0].request.body)
    assert body["filter"][">DATE_MODIFY"] == "2024-08-20T10:00:00+00:00"
