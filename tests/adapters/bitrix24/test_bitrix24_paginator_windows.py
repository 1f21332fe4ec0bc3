"""Wire tests of the Bitrix24 keyset listing's windows (listing.py through ``changed_since``): what the
first batch asks for, a listing that fits its counted page, the width of the windows after a probe,
the totals every page reports, how many listing batches are out at once, remainders of overflowed
windows gathered into one batch, and the error a listing that does not advance ends with."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import parse_qsl

import pytest
import responses
from b24_deal_pages import CURSOR_TIME, DealPortal, deal_adapter, deal_row, windows
from b24_wire_support import HOOK, _batch

from crm_bridge.cli.output import error_lines
from crm_bridge.ports import Entity, RecordPage, SyncCursor
from crm_bridge_bitrix24.client import Command
from crm_bridge_bitrix24.listing import ListingLoop


def _ids(pages: Sequence[RecordPage]) -> list[int]:
    return [int(r.crm_id) for p in pages for r in p.records]


@responses.activate
def test_a_backfill_asks_for_a_counted_page_and_for_the_highest_id_alone() -> None:
    portal = DealPortal(range(1, 11))
    portal.install()

    pages = list(deal_adapter().changed_since(Entity.DEAL, None))

    assert _ids(pages) == list(range(1, 11)) and [p.total for p in pages] == [10]
    [[counted, highest]] = portal.batches  # one request: the counted page holds every deal
    assert (counted["start"], counted["order[ID]"], counted["select[0]"]) == ("0", "ASC", "ID")
    assert highest == {
        "order[ID]": "DESC",
        "filter[@CATEGORY_ID][0]": "10",
        "select[0]": "ID",
        "start": "-1",
    }


@responses.activate
def test_a_counted_page_answered_without_its_total_counts_its_rows() -> None:
    rows = [deal_row(i) for i in range(1, 8)]
    responses.post(HOOK + "batch", json=_batch({"c0": rows, "c1": [{"ID": "7"}]}))

    pages = list(deal_adapter().changed_since(Entity.DEAL, None))

    assert _ids(pages) == list(range(1, 8)) and [p.total for p in pages] == [7]


@responses.activate
def test_deals_gone_before_the_highest_id_was_asked_end_the_listing_with_the_page_read() -> None:
    # The counted page saw 50 deals; by the batch's second command they were deleted: no highest id.
    rows = [deal_row(i) for i in range(1, 51)]
    responses.post(HOOK + "batch", json=_batch({"c0": rows, "c1": []}, totals={"c0": 50}))

    pages = list(deal_adapter().changed_since(Entity.DEAL, None))

    assert _ids(pages) == list(range(1, 51)) and [p.total for p in pages] == [50]
    assert len(responses.calls) == 1


@responses.activate
def test_a_deal_created_between_the_batchs_two_commands_costs_no_second_request() -> None:
    # The counted page holds all 10 deals; deal 11 was added before the highest id was read. It is
    # newer than the listing's start, so the next sync reads it.
    rows = [deal_row(i) for i in range(1, 11)]
    responses.post(HOOK + "batch", json=_batch({"c0": rows, "c1": [{"ID": "11"}]}, totals={"c0": 10}))

    pages = list(deal_adapter().changed_since(Entity.DEAL, None))

    assert _ids(pages) == list(range(1, 11)) and len(responses.calls) == 1


def _probed_walk() -> tuple[DealPortal, list[RecordPage]]:
    """1,000 deals on the even ids 2..2000, all changed since the cursor: the probe reads 2..100, the
    counted page 102..200 (950 of them above 100), the highest id is 2000."""
    portal = DealPortal(range(2, 2001, 2))
    portal.install()
    pages = list(deal_adapter().changed_since(Entity.DEAL, SyncCursor(CURSOR_TIME)))
    return portal, pages


@responses.activate
def test_after_a_probe_the_windows_follow_the_density_of_the_rows_left() -> None:
    portal, pages = _probed_walk()

    assert _ids(pages) == list(range(2, 2001, 2))
    assert len(portal.probes) == 1 and len(portal.batches) == 2
    # 900 deals left over the ids 200..2000: one per two ids, so 90 ids a window (90 % of a page).
    assert windows(portal.batches[1]) == [(lo, lo + 90) for lo in range(200, 2000, 90)]


@responses.activate
def test_every_page_of_a_probed_listing_reports_the_expected_total() -> None:
    _, pages = _probed_walk()

    assert [len(p.records) for p in pages] == [50, 50, 900]
    assert [p.total for p in pages] == [1000, 1000, 1000]  # the probe's 50 + the 950 counted after it


@responses.activate
def test_one_listing_batch_in_flight_asks_for_the_next_only_when_its_pages_are_taken() -> None:
    # 2,650 deals on the ids 1..2650: the counted page, then 52 windows of 50 ids (two batches).
    portal = DealPortal(range(1, 2651))
    portal.install()
    adapter = deal_adapter(listing_in_flight=1)
    taken: list[RecordPage] = []
    sent_after: list[int] = []  # how many pages the caller had taken when each window batch went out
    submit = adapter.client.submit_batch

    def recording(commands: Sequence[Command], then: Callable[[Any], Any]) -> Any:
        sent_after.append(len(taken))
        return submit(commands, then)

    adapter.client.submit_batch = recording  # type: ignore[method-assign]

    for page in adapter.changed_since(Entity.DEAL, None):
        taken.append(page)

    assert _ids(taken) == list(range(1, 2651))
    assert sent_after == [0, 1]
    assert [len(w) for w in (windows(b) for b in portal.batches[1:])] == [50, 2]


@responses.activate
def test_remainders_of_overflowed_windows_wait_to_go_together_in_one_batch() -> None:
    # One deal per 10 ids up to 27,050 (the first 50 ids dense), and every id of 1001..1020 and of
    # 25001..25020: a window of each of the two window batches answers a full page below its end.
    ids = sorted({*range(1, 51), *range(60, 27060, 10), *range(1001, 1021), *range(25001, 25021)})
    portal = DealPortal(ids)
    portal.install()

    pages = list(deal_adapter().changed_since(Entity.DEAL, None))

    assert sorted(_ids(pages)) == ids
    # The counted page, the two batches of windows, then both remainders in one batch once the
    # answers are all in (not the first remainder alone while the other batch is still out).
    assert len(portal.batches) == 4
    assert windows(portal.batches[3]) == [(25230, 25358), (1250, 1382)]


@responses.activate
def test_a_listing_that_does_not_advance_names_the_crm_to_the_user() -> None:
    responses.post(
        HOOK + "batch",
        json=_batch({"c0": [deal_row(i) for i in range(1, 51)], "c1": [{"ID": "1000"}]}, totals={"c0": 1000}),
    )

    def ending_at_each_windows_start(request: Any) -> tuple[int, dict[str, str], str]:
        result = {}
        for key, cmd in json.loads(request.body)["cmd"].items():
            lo = int(dict(parse_qsl(cmd.partition("?")[2]))["filter[>ID]"])
            result[key] = [deal_row(i) for i in range(lo - 49, lo + 1)]
        return 200, {}, json.dumps(_batch(result))

    responses.add_callback(responses.POST, HOOK + "batch", callback=ending_at_each_windows_start)

    with pytest.raises(ListingLoop) as info:
        list(deal_adapter().changed_since(Entity.DEAL, None))

    assert error_lines(info.value) == ["bitrix24: Bitrix24 listing of crm.deal.list is not advancing"]
