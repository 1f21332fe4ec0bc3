"""Wire tests of the cursor an incremental Bitrix24 sync leaves (source.py): the newest record's time
and id when it is older than the second the listing started in minus the overlap, else just before
that second; a cursor already past that point is kept as it is; a cursor without an id keeps records
of its own second; a row without a modification time is left out without stopping the sync.

The portal's clock says the listing started at 07:34:19.42 UTC; with the default 5 s overlap the cut
is 07:34:14: the cursor stops at 07:34:13.999999 unless every record is older than that second."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import responses
from b24_wire_support import HOOK, _adapter, _catalog_kv

from crm_bridge.ports import Entity, RecordPage, SyncCursor

START = 1724916859.42  # 2024-08-29 07:34:19.42 UTC
CUT = datetime(2024, 8, 29, 7, 34, 14, tzinfo=UTC)  # the start's second minus the 5 s overlap
CAP = datetime(2024, 8, 29, 7, 34, 13, 999999, tzinfo=UTC)
OLD = SyncCursor(datetime(2024, 8, 1, tzinfo=UTC), "2")


def _deal_row(crm_id: int, modified: str | None) -> dict[str, Any]:
    row = {
        "ID": str(crm_id),
        "TITLE": f"Deal {crm_id}",
        "STAGE_ID": "C10:NEW",
        "CATEGORY_ID": "10",
        "DATE_CREATE": "2024-08-01T10:00:00+00:00",
        "MOVED_TIME": "2024-08-01T10:00:00+00:00",
    }
    if modified is not None:
        row["DATE_MODIFY"] = modified
    return row


def _sync(rows: list[dict[str, Any]], cursor: SyncCursor, **config: Any) -> RecordPage:
    responses.post(HOOK + "crm.deal.list", json={"result": rows, "time": {"start": START}})
    [page] = list(_adapter(_catalog_kv(), **config).changed_since(Entity.DEAL, cursor))
    return page


@responses.activate
def test_records_older_than_the_cut_leave_the_newest_time_and_id() -> None:
    page = _sync([_deal_row(7, "2024-08-29T07:34:13+00:00"), _deal_row(5, "2024-08-20T10:00:00+00:00")], OLD)

    assert [r.crm_id for r in page.records] == ["7", "5"]
    assert page.cursor == SyncCursor(datetime(2024, 8, 29, 7, 34, 13, tzinfo=UTC), "7")


@responses.activate
def test_a_record_of_the_cut_second_leaves_the_cursor_just_before_it() -> None:
    page = _sync([_deal_row(7, "2024-08-29T07:34:14+00:00")], OLD)  # others may still commit there

    assert [r.crm_id for r in page.records] == ["7"]
    assert page.cursor == SyncCursor(CAP)


@responses.activate
def test_an_overlap_with_a_fraction_cuts_at_its_microsecond() -> None:
    # 4.999999 s: the cut is 07:34:14.000001, so a record of 07:34:14 is older than it
    page = _sync([_deal_row(7, "2024-08-29T07:34:14+00:00")], OLD, sync_overlap=4.999999)

    assert page.cursor == SyncCursor(CUT, "7")


@responses.activate
def test_nothing_changed_moves_an_old_cursor_up_to_just_before_the_cut() -> None:
    page = _sync([], OLD)

    assert (page.records, page.cursor) == ((), SyncCursor(CAP))


@responses.activate
def test_a_cursor_past_the_cut_is_kept_as_it_is() -> None:
    ahead = SyncCursor(CUT, "3")  # the portal's clock went back since the last sync

    assert _sync([], ahead).cursor == ahead


@responses.activate
def test_a_cursor_right_at_the_cut_keeps_its_id() -> None:
    at_cap = SyncCursor(CAP, "3")

    assert _sync([], at_cap).cursor == at_cap


@responses.activate
def test_a_cursor_without_an_id_keeps_the_records_of_its_own_second() -> None:
    since = SyncCursor(datetime(2024, 8, 20, 10, tzinfo=UTC))  # no id: every record of that second

    page = _sync(
        [_deal_row(1, "2024-08-20T10:00:00+00:00"), _deal_row(2, "2024-08-20T10:00:00+00:00")], since
    )

    assert [r.crm_id for r in page.records] == ["1", "2"]


@responses.activate
def test_a_row_without_a_modification_time_is_left_out_of_an_incremental_sync() -> None:
    page = _sync([_deal_row(4, None), _deal_row(6, "2024-08-20T10:00:00+00:00")], OLD)

    assert [r.crm_id for r in page.records] == ["6"]
    assert page.cursor == SyncCursor(datetime(2024, 8, 20, 10, tzinfo=UTC), "6")
