"""HubSpot batch and search endpoints through the emulator: the 100-input limit, 207 multi-status
answers, upsert by a unique property, the documented search request, filter/sort semantics, the
200-per-page and 10,000-result caps, the 5 requests/second search limit and the indexing delay."""

from __future__ import annotations

import pytest
from test_amocrm_support import ManualClock, doc
from test_hubspot_support import TOKEN, SpecClient

from crm_bridge_hubspot.sandbox.emulator import create_emulator


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def hs(clock: ManualClock) -> SpecClient:
    return SpecClient(create_emulator(clock=clock, rate_limit=False), token=TOKEN)


def unique_partner_id(hs: SpecClient) -> None:
    reply = hs.post(
        "/crm/v3/properties/companies",
        {
            "name": "partner_ext_id",
            "label": "Partner external id",
            "groupName": "companyinformation",
            "type": "string",
            "fieldType": "text",
            "hasUniqueValue": True,
        },
    )
    assert reply.status == 201


def batch_create(hs: SpecClient, object_type: str, rows: list[dict[str, str]]) -> list[str]:
    reply = hs.post(
        f"/crm/v3/objects/{object_type}/batch/create",
        {"inputs": [{"properties": r, "associations": []} for r in rows]},
    )
    assert reply.status == 201, reply.body
    return [r["id"] for r in reply.body["results"]]


def test_batch_create_makes_all_records_and_refuses_101_inputs(hs: SpecClient) -> None:
    ids = batch_create(hs, "companies", [{"name": f"C{i}"} for i in range(100)])

    too_many = hs.post(
        "/crm/v3/objects/companies/batch/create",
        {"inputs": [{"properties": {"name": "x"}, "associations": []}] * 101},
    )

    assert len(set(ids)) == 100
    assert too_many.status == 400 and too_many.body["category"] == "VALIDATION_ERROR"
    assert len(hs.get("/crm/v3/objects/companies", params={"limit": "100"}).body["results"]) == 100


def test_batch_create_with_one_invalid_input_creates_nothing(hs: SpecClient) -> None:
    reply = hs.post(
        "/crm/v3/objects/deals/batch/create",
        {
            "inputs": [
                {"properties": {"dealname": "ok"}, "associations": []},
                {"properties": {"dealname": "bad", "amount": "lots"}, "associations": []},
            ]
        },
    )

    assert reply.status == 400 and "INVALID_DECIMAL" in reply.body["message"]
    assert hs.get("/crm/v3/objects/deals").body["results"] == []


def test_batch_read_and_update_report_unknown_ids_in_a_207(hs: SpecClient) -> None:
    ids = batch_create(hs, "contacts", [{"email": f"p{i}@example.com"} for i in range(3)])

    read = hs.post(
        "/crm/v3/objects/contacts/batch/read",
        {"inputs": [{"id": ids[0]}, {"id": "999999"}], "properties": ["email"], "propertiesWithHistory": []},
    )
    update = hs.post(
        "/crm/v3/objects/contacts/batch/update",
        {
            "inputs": [
                {"id": ids[1], "properties": {"firstname": "Bo"}},
                {"id": "888888", "properties": {"firstname": "X"}},
            ]
        },
    )

    assert read.status == 207 and [r["id"] for r in read.body["results"]] == [ids[0]]
    assert read.body["errors"][0]["category"] == "OBJECT_NOT_FOUND" and read.body["errors"][0]["context"][
        "ids"
    ] == ["999999"]
    assert update.status == 207 and update.body["numErrors"] == 1
    assert hs.get(f"/crm/v3/objects/contacts/{ids[1]}").body["properties"]["firstname"] == "Bo"


def test_batch_read_by_a_unique_property(hs: SpecClient) -> None:
    ids = batch_create(hs, "contacts", [{"email": "a@example.com"}, {"email": "b@example.com"}])

    reply = hs.post(
        "/crm/v3/objects/contacts/batch/read",
        {
            "inputs": [{"id": "b@example.com"}],
            "idProperty": "email",
            "properties": ["email"],
            "propertiesWithHistory": [],
        },
    )

    assert reply.status == 200 and reply.body["results"][0]["id"] == ids[1]


def test_upsert_creates_then_updates_by_the_unique_property(hs: SpecClient) -> None:
    unique_partner_id(hs)
    rows = [
        {"id": "P-1", "idProperty": "partner_ext_id", "properties": {"name": "One"}},
        {"id": "P-2", "idProperty": "partner_ext_id", "properties": {"name": "Two"}},
    ]

    first = hs.post("/crm/v3/objects/companies/batch/upsert", {"inputs": rows})
    rows[0]["properties"]["name"] = "One renamed"
    second = hs.post("/crm/v3/objects/companies/batch/upsert", {"inputs": rows[:1]})

    assert first.status == 200 and [r["new"] for r in first.body["results"]] == [True, True]
    assert (
        second.body["results"][0]["new"] is False
        and second.body["results"][0]["id"] == first.body["results"][0]["id"]
    )
    assert second.body["results"][0]["properties"]["name"] == "One renamed"
    assert len(hs.get("/crm/v3/objects/companies").body["results"]) == 2


def test_upsert_refuses_a_non_unique_id_property_and_duplicate_ids(hs: SpecClient) -> None:
    unique_partner_id(hs)

    by_name = hs.post(
        "/crm/v3/objects/companies/batch/upsert",
        {"inputs": [{"id": "Acme", "idProperty": "name", "properties": {}}]},
    )
    twice = hs.post(
        "/crm/v3/objects/companies/batch/upsert",
        {
            "inputs": [
                {"id": "P-1", "idProperty": "partner_ext_id", "properties": {}},
                {"id": "P-1", "idProperty": "partner_ext_id", "properties": {}},
            ]
        },
    )

    assert by_name.status == 400 and "non-unique" in by_name.body["message"]
    assert twice.status == 400 and "Duplicate" in twice.body["message"]
    assert hs.get("/crm/v3/objects/companies").body["results"] == []


def test_an_injected_partial_failure_answers_207_and_writes_only_the_rest(hs: SpecClient) -> None:
    hs.emulator.inject_batch_failure(2)

    reply = hs.post(
        "/crm/v3/objects/companies/batch/create",
        {"inputs": [{"properties": {"name": f"C{i}"}, "associations": []} for i in range(5)]},
    )

    assert reply.status == 207 and reply.body["numErrors"] == 1 and len(reply.body["results"]) == 3
    assert len(hs.get("/crm/v3/objects/companies").body["results"]) == 3
    assert (
        hs.post(
            "/crm/v3/objects/companies/batch/create",
            {"inputs": [{"properties": {"name": "next"}, "associations": []}]},
        ).status
        == 201
    )


def test_batch_archive_removes_records_from_lists(hs: SpecClient) -> None:
    ids = batch_create(hs, "deals", [{"dealname": "a"}, {"dealname": "b"}])

    assert hs.post("/crm/v3/objects/deals/batch/archive", {"inputs": [{"id": ids[0]}]}).status == 204

    assert [r["id"] for r in hs.get("/crm/v3/objects/deals").body["results"]] == [ids[1]]


def test_the_documented_search_finds_recently_modified_deals_in_order(
    hs: SpecClient, clock: ManualClock
) -> None:
    clock.now = 1767225600.0 - 3600  # an hour before the search's GTE bound (2026-01-01T00:00Z)
    old = batch_create(hs, "deals", [{"dealname": "old"}])
    clock.now = 1767225600.0 + 3600
    fresh = batch_create(hs, "deals", [{"dealname": "first"}])
    clock.advance(10)
    fresh += batch_create(hs, "deals", [{"dealname": "second"}])

    reply = hs.post("/crm/v3/objects/deals/search", doc("hubspot/search_request.json")["body"])

    assert reply.status == 200
    assert [r["id"] for r in reply.body["results"]] == fresh and reply.body["total"] == 2
    assert old[0] not in [r["id"] for r in reply.body["results"]]
    assert set(reply.body["results"][0]["properties"]) == {
        "dealname",
        "dealstage",
        "pipeline",
        "hubspot_owner_id",
    }


def test_filter_groups_are_ored_and_filters_anded(hs: SpecClient) -> None:
    batch_create(
        hs,
        "deals",
        [
            {"dealname": "a", "amount": "100"},
            {"dealname": "b", "amount": "500"},
            {"dealname": "c", "amount": "900"},
        ],
    )
    body = {
        "filterGroups": [
            {
                "filters": [
                    {"propertyName": "amount", "operator": "GT", "value": "50"},
                    {"propertyName": "amount", "operator": "LT", "value": "200"},
                ]
            },
            {"filters": [{"propertyName": "dealname", "operator": "IN", "values": ["c"]}]},
        ],
        "sorts": [{"propertyName": "amount", "direction": "DESCENDING"}],
        "properties": ["dealname"],
        "limit": 10,
        "after": "0",
    }

    reply = hs.post("/crm/v3/objects/deals/search", body)

    assert [r["properties"]["dealname"] for r in reply.body["results"]] == ["c", "a"]


def test_search_by_association_token_and_has_property(hs: SpecClient) -> None:
    company = batch_create(hs, "companies", [{"name": "Acme"}])[0]
    contacts = batch_create(
        hs,
        "contacts",
        [{"email": "ivan.petrov@acme.example", "firstname": "Ivan"}, {"email": "anna@other.example"}],
    )
    hs.put(f"/crm/v4/objects/contacts/{contacts[0]}/associations/default/companies/{company}")

    def ids(*filters: dict) -> list[str]:
        body = {
            "filterGroups": [{"filters": list(filters)}],
            "sorts": [],
            "properties": [],
            "limit": 10,
            "after": "0",
        }
        return [r["id"] for r in hs.post("/crm/v3/objects/contacts/search", body).body["results"]]

    assert ids({"propertyName": "associations.company", "operator": "EQ", "value": company}) == [contacts[0]]
    assert ids({"propertyName": "email", "operator": "CONTAINS_TOKEN", "value": "*@other.example"}) == [
        contacts[1]
    ]
    assert ids({"propertyName": "firstname", "operator": "NOT_HAS_PROPERTY"}) == [contacts[1]]


def test_search_limits_on_groups_filters_sorts_and_page_size(hs: SpecClient) -> None:
    flt = {"propertyName": "name", "operator": "HAS_PROPERTY"}

    def status(**body: object) -> int:
        base = {"filterGroups": [], "sorts": [], "properties": [], "limit": 10, "after": "0"}
        return hs.post("/crm/v3/objects/companies/search", {**base, **body}).status

    assert status(filterGroups=[{"filters": [flt]}] * 5) == 200
    assert status(filterGroups=[{"filters": [flt]}] * 6) == 400
    assert status(filterGroups=[{"filters": [flt] * 7}]) == 400
    assert status(filterGroups=[{"filters": [flt] * 6}] * 3 + [{"filters": [flt]}]) == 400
    assert status(sorts=["name", "domain"]) == 400
    assert status(limit=200) == 200 and status(limit=201) == 400


def test_search_pages_by_numeric_after_and_stops_at_10000(hs: SpecClient) -> None:
    for _ in range(101):
        batch_create(hs, "companies", [{"name": "x"}] * 100)
    base = {"filterGroups": [], "sorts": [], "properties": ["name"], "limit": 200}

    near_end = hs.post("/crm/v3/objects/companies/search", {**base, "after": "9800"})
    past_cap = hs.post(
        "/crm/v3/objects/companies/search", {**base, "after": near_end.body["paging"]["next"]["after"]}
    )

    assert near_end.status == 200 and near_end.body["total"] == 10100 and len(near_end.body["results"]) == 200
    assert near_end.body["paging"]["next"]["after"] == "10000"
    assert past_cap.status == 400 and past_cap.body["category"] == "VALIDATION_ERROR"


def test_the_sixth_search_in_one_second_gets_a_secondly_429(clock: ManualClock) -> None:
    hs = SpecClient(create_emulator(clock=clock), token=TOKEN)
    body = {"filterGroups": [], "sorts": [], "properties": [], "limit": 10, "after": "0"}

    statuses = [hs.post("/crm/v3/objects/companies/search", body).status for _ in range(6)]
    refused = hs.post("/crm/v3/objects/companies/search", body)
    plain = hs.get("/crm/v3/objects/companies")
    clock.advance(1)

    assert statuses == [200] * 5 + [429]
    assert refused.body["policyName"] == "SECONDLY" and plain.status == 200
    assert hs.post("/crm/v3/objects/companies/search", body).status == 200


def test_a_fresh_change_is_not_searchable_until_the_index_catches_up(clock: ManualClock) -> None:
    hs = SpecClient(create_emulator(clock=clock, rate_limit=False, search_delay=2.0), token=TOKEN)
    cid = batch_create(hs, "companies", [{"name": "Acme"}])[0]
    body = {"filterGroups": [], "sorts": [], "properties": [], "limit": 10, "after": "0"}

    before = hs.post("/crm/v3/objects/companies/search", body).body["total"]
    clock.advance(2)

    assert before == 0
    assert [r["id"] for r in hs.post("/crm/v3/objects/companies/search", body).body["results"]] == [cid]
