"""Wire test of a Bitrix24 keyset window answered by a full page of rows without an ``ID``
(listing.py): the listing cannot advance past such a page, so it stops at once saying so, without
asking for the window again."""

from __future__ import annotations

import json
from typing import Any

import pytest
import responses
from b24_wire_support import HOOK, _adapter, _batch

from crm_bridge_bitrix24.listing import ListingLoop, ListQuery, Paginator

QUERY = ListQuery("crm.deal.list", {"CATEGORY_ID": 9}, ("ID",))
NO_IDS = [{"TITLE": f"Deal {i}"} for i in range(50)]


@responses.activate
def test_a_full_page_without_ids_stops_the_listing_at_the_first_window() -> None:
    # the first page: 50 rows without ids; the highest id is 40, so one window (0, 40] is left
    responses.post(HOOK + "batch", json=_batch({"c0": NO_IDS, "c1": [{"ID": "40"}]}, totals={"c0": 90}))

    def full_pages_without_ids(request: Any) -> tuple[int, dict[str, str], str]:
        keys = json.loads(request.body)["cmd"]
        return 200, {}, json.dumps(_batch({key: NO_IDS for key in keys}))

    responses.add_callback(responses.POST, HOOK + "batch", callback=full_pages_without_ids)

    with pytest.raises(ListingLoop) as info:
        list(Paginator(_adapter().client, page_cap=500).listing(QUERY, probe=False))

    assert str(info.value) == "Bitrix24 listing of crm.deal.list is not advancing"
    assert len(responses.calls) == 2  # the first batch and the window's: no second try of the window
