"""Wire tests of the Bitrix24 listing's safety stops and the lister's refusals (listing.py, source.py):
the page cap, a window that does not advance, a failed command of a listing batch, and listing before
the layout is provisioned."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import pytest
import responses
from b24_wire_support import HOOK, TIME, _adapter, _batch, _catalog_kv, _sent

from crm_bridge.errors import NotFound, PermissionDenied
from crm_bridge.ports import Entity, SyncCursor
from crm_bridge_bitrix24.listing import ListingLoop, ListQuery, Paginator

QUERY = ListQuery("crm.deal.list", {"CATEGORY_ID": 9}, ("ID",))


def _rows(first: int, count: int) -> list[dict[str, Any]]:
    return [{"ID": str(i)} for i in range(first, first + count)]


@responses.activate
def test_a_listing_past_its_page_cap_stops_saying_so() -> None:
    responses.post(HOOK + "crm.deal.list", json={"result": _rows(1, 50), "time": TIME})
    responses.post(
        HOOK + "batch", json=_batch({"c0": _rows(51, 50), "c1": [{"ID": "900"}]}, totals={"c0": 500})
    )
    paginator = Paginator(_adapter().client, page_cap=2)

    with pytest.raises(ListingLoop) as info:
        list(paginator.listing(QUERY, probe=True))

    assert str(info.value) == "Bitrix24 listing stopped after 2 pages (page cap)"
    assert info.value.crm == "bitrix24" and paginator.pages == 3


@responses.activate
def test_a_listing_within_its_page_cap_counts_its_pages() -> None:
    responses.post(HOOK + "crm.deal.list", json={"result": _rows(1, 50), "time": TIME})
    responses.post(
        HOOK + "batch", json=_batch({"c0": _rows(51, 10), "c1": [{"ID": "60"}]}, totals={"c0": 10})
    )
    paginator = Paginator(_adapter().client, page_cap=3)

    chunks = list(paginator.listing(QUERY, probe=True))

    assert [len(c.rows) for c in chunks] == [50, 10] and paginator.pages == 3
    assert [c.total for c in chunks] == [None, 60]
    assert _sent(responses.calls[0])["filter"] == {"CATEGORY_ID": 9}


@responses.activate
def test_a_window_answering_a_full_page_below_its_start_is_a_loop_not_a_hang() -> None:
    responses.post(
        HOOK + "batch",
        json=_batch({"c0": _rows(1, 50), "c1": [{"ID": "1000"}]}, totals={"c0": 1000}),
    )

    def ending_at_each_windows_start(request: Any) -> tuple[int, dict[str, str], str]:
        result = {}
        for key, cmd in json.loads(request.body)["cmd"].items():
            lo = int(dict(parse_qsl(cmd.partition("?")[2]))["filter[>ID]"])
            result[key] = _rows(lo - 49, 50)
        return 200, {}, json.dumps(_batch(result))

    responses.add_callback(responses.POST, HOOK + "batch", callback=ending_at_each_windows_start)

    with pytest.raises(ListingLoop) as info:
        list(Paginator(_adapter().client, page_cap=500).listing(QUERY, probe=False))

    assert str(info.value) == "Bitrix24 listing of crm.deal.list is not advancing"


@responses.activate
@pytest.mark.parametrize("failing", ["c0", "c1"])
def test_a_failed_command_of_the_first_listing_batch_fails_the_listing(failing: str) -> None:
    result = {k: [] for k in ("c0", "c1") if k != failing}
    responses.post(
        HOOK + "batch", json=_batch(result, {failing: {"error": "ACCESS_DENIED", "error_description": ""}})
    )
    with pytest.raises(PermissionDenied):
        list(Paginator(_adapter().client).listing(QUERY, probe=False))


@responses.activate
def test_a_failed_window_fails_the_listing() -> None:
    responses.post(
        HOOK + "batch", json=_batch({"c0": _rows(1, 50), "c1": [{"ID": "500"}]}, totals={"c0": 500})
    )
    windows = {f"c{i}": [] for i in range(1, 50)}
    responses.post(
        HOOK + "batch", json=_batch(windows, {"c0": {"error": "ACCESS_DENIED", "error_description": ""}})
    )
    with pytest.raises(PermissionDenied):
        list(Paginator(_adapter().client).listing(QUERY, probe=False))


def test_partners_before_their_fields_are_provisioned_are_refused_with_the_fix() -> None:
    kv = _catalog_kv()
    kv.data["bitrix24.catalog"]["fields"].pop("partner.partner_type")
    with pytest.raises(NotFound) as info:
        list(_adapter(kv).changed_since(Entity.PARTNER, None))
    assert str(info.value) == "the partner fields are not on the portal yet: run crm-bridge provision"
    assert info.value.entity == "partner" and info.value.crm == "bitrix24"


@pytest.mark.parametrize("entity", [Entity.LEAD, Entity.DEAL])
def test_records_before_the_funnels_are_provisioned_are_refused_with_the_fix(entity: Entity) -> None:
    kv = _catalog_kv()
    kv.data["bitrix24.catalog"]["funnels"] = {"repeat": 10}
    with pytest.raises(NotFound) as info:
        list(_adapter(kv).changed_since(entity, SyncCursor(datetime(2024, 9, 1, tzinfo=UTC))))
    assert str(info.value) == "the partner funnels are not on the portal yet: run crm-bridge provision"
    assert info.value.entity == entity.value


@responses.activate
def test_partners_and_deals_are_listed_with_their_own_filters() -> None:
    responses.post(HOOK + "crm.company.list", json={"result": [], "time": TIME})
    responses.post(HOOK + "crm.deal.list", json={"result": [], "time": TIME})
    kv = _catalog_kv()
    kv.data["bitrix24.catalog"]["funnels"] = {"leads": 9, "repeat": 10, "upsell": 4}
    cursor = SyncCursor(datetime(2024, 9, 1, 12, tzinfo=UTC))

    list(_adapter(kv).changed_since(Entity.PARTNER, cursor))
    list(_adapter(kv).changed_since(Entity.DEAL, cursor))

    assert _sent(responses.calls[0])["filter"] == {
        ">UF_CRM_PARTNER_TYPE": 0,
        ">DATE_MODIFY": "2024-09-01T12:00:00+00:00",
    }
    assert _sent(responses.calls[1])["filter"] == {
        "@CATEGORY_ID": [4, 10],
        ">DATE_MODIFY": "2024-09-01T12:00:00+00:00",
    }
