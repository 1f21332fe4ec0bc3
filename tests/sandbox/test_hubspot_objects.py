"""HubSpot CRM v3 objects through the emulator: the documented create examples, reads by id and by
unique property, updates, archive, cursor paging to the end, associations in v3 and v4 shapes. Every
answer is checked against HubSpot's OpenAPI specs by SpecClient."""

from __future__ import annotations

import copy
import json

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


def owner_id(hs: SpecClient) -> str:
    return hs.get("/crm/v3/owners").body["results"][1]["id"]


def create(hs: SpecClient, object_type: str, **properties: str) -> str:
    reply = hs.post(f"/crm/v3/objects/{object_type}", {"properties": properties, "associations": []})
    assert reply.status == 201, reply.body
    return reply.body["id"]


def test_the_documented_deal_is_created_with_its_company_association(hs: SpecClient) -> None:
    company = create(hs, "companies", name="Acme", domain="acme.example")
    body = copy.deepcopy(doc("hubspot/deal_create_request.json")["body"])
    body["properties"]["hubspot_owner_id"] = owner_id(hs)
    body["associations"][0]["to"]["id"] = company

    reply = hs.post("/crm/v3/objects/deals", body)

    assert reply.status == 201
    deal = reply.body
    assert deal["properties"]["dealname"] == "Partner deal" and deal["properties"]["amount"] == "5000"
    assert deal["properties"]["hs_object_id"] == deal["id"] and deal["archived"] is False
    read = hs.get(f"/crm/v3/objects/deals/{deal['id']}", params={"associations": "companies"}).body
    assert read["associations"]["companies"]["results"] == [{"id": company, "type": "deal_to_company"}]
    back = hs.get(f"/crm/v4/objects/companies/{company}/associations/deals").body
    assert back["results"] == [
        {"toObjectId": deal["id"], "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": 342}]}
    ]


def test_the_documented_task_is_created_for_a_deal_and_a_company(hs: SpecClient) -> None:
    company = create(hs, "companies", name="Acme")
    deal = create(hs, "deals", dealname="D")
    body = copy.deepcopy(doc("hubspot/task_create_request.json")["body"])
    body["properties"]["hubspot_owner_id"] = owner_id(hs)
    body["associations"][0]["to"]["id"] = deal
    body["associations"][1]["to"]["id"] = company

    reply = hs.post("/crm/v3/objects/tasks", body)

    assert reply.status == 201
    task = hs.get(
        f"/crm/v3/objects/tasks/{reply.body['id']}",
        params={
            "properties": "hs_task_subject,hs_task_status,hs_timestamp",
            "associations": "deals,companies",
        },
    ).body
    assert task["properties"]["hs_task_status"] == "NOT_STARTED"
    assert task["associations"]["deals"]["results"][0]["type"] == "task_to_deal"
    assert task["associations"]["companies"]["results"][0]["id"] == company


def test_a_task_without_a_due_date_is_a_validation_error(hs: SpecClient) -> None:
    reply = hs.post("/crm/v3/objects/tasks", {"properties": {"hs_task_subject": "x"}, "associations": []})

    assert reply.status == 400 and reply.body["category"] == "VALIDATION_ERROR"
    assert "hs_timestamp" in reply.body["message"]


def test_unknown_and_read_only_properties_and_bad_options_are_named_in_the_error(hs: SpecClient) -> None:
    reply = hs.post(
        "/crm/v3/objects/deals",
        {
            "properties": {
                "dealname": "x",
                "no_such_thing": "1",
                "hs_object_id": "5",
                "dealstage": "nowhere",
            },
            "associations": [],
        },
    )

    assert reply.status == 400 and reply.body["message"].startswith("Property values were not valid: ")
    for code in ("PROPERTY_DOESNT_EXIST", "READ_ONLY_VALUE", "INVALID_OPTION"):
        assert code in reply.body["message"]
    assert hs.get("/crm/v3/objects/deals").body["results"] == []


def test_a_deal_without_stage_lands_in_the_first_stage_of_the_default_pipeline(hs: SpecClient) -> None:
    deal = create(hs, "deals", dealname="quick")

    props = hs.get(f"/crm/v3/objects/deals/{deal}").body["properties"]

    assert props["pipeline"] == "default" and props["dealstage"] == "appointmentscheduled"


def test_a_second_contact_with_the_same_email_is_a_409_conflict(hs: SpecClient) -> None:
    first = create(hs, "contacts", email="bh@example.com", firstname="Brian")

    reply = hs.post(
        "/crm/v3/objects/contacts", {"properties": {"email": "BH@example.com"}, "associations": []}
    )

    assert reply.status == 409 and reply.body["category"] == "CONFLICT"
    assert reply.body["message"] == f"Contact already exists. Existing ID: {first}"


def test_a_contact_is_read_and_updated_by_email_as_id_property(hs: SpecClient) -> None:
    cid = create(hs, "contacts", email="anna@example.com")

    read = hs.get("/crm/v3/objects/contacts/anna@example.com", params={"idProperty": "email"})
    patched = hs.patch(
        "/crm/v3/objects/contacts/anna@example.com",
        {"properties": {"firstname": "Anna"}},
        params={"idProperty": "email"},
    )

    assert read.body["id"] == cid
    assert patched.status == 200 and patched.body["properties"]["firstname"] == "Anna"


def test_update_changes_only_the_sent_properties_and_moves_updated_at(
    hs: SpecClient, clock: ManualClock
) -> None:
    cid = create(hs, "companies", name="Acme", domain="acme.example")
    clock.advance(5)

    reply = hs.patch(f"/crm/v3/objects/companies/{cid}", {"properties": {"name": "Acme 2"}})

    props = hs.get(f"/crm/v3/objects/companies/{cid}").body
    assert reply.body["properties"]["name"] == "Acme 2"
    assert props["properties"]["domain"] == "acme.example" and props["updatedAt"] > props["createdAt"]


def test_listing_pages_by_after_cursor_to_the_end_with_at_most_100_per_page(hs: SpecClient) -> None:
    created = [create(hs, "companies", name=f"C{i}") for i in range(250)]
    seen: list[str] = []
    params: dict[str, str] = {"limit": "100", "properties": "name"}
    pages = 0
    while True:
        page = hs.get("/crm/v3/objects/companies", params=params).body
        pages += 1
        seen.extend(r["id"] for r in page["results"])
        if "paging" not in page:
            break
        params = {**params, "after": page["paging"]["next"]["after"]}

    assert pages == 3 and seen == created
    assert hs.get("/crm/v3/objects/companies", params={"limit": "101"}).status == 400


def test_the_default_list_page_is_10_records_with_the_default_properties(hs: SpecClient) -> None:
    for i in range(12):
        create(hs, "contacts", email=f"c{i}@example.com")

    page = hs.get("/crm/v3/objects/contacts").body

    assert len(page["results"]) == 10 and "paging" in page
    assert set(page["results"][0]["properties"]) == {
        "createdate",
        "email",
        "firstname",
        "hs_object_id",
        "lastmodifieddate",
        "lastname",
    }
    assert page["results"][0]["properties"]["firstname"] is None


def test_archived_records_leave_the_list_and_are_readable_with_archived_true(hs: SpecClient) -> None:
    cid = create(hs, "companies", name="Old")

    assert hs.delete(f"/crm/v3/objects/companies/{cid}").status == 204

    assert hs.get("/crm/v3/objects/companies").body["results"] == []
    assert hs.get(f"/crm/v3/objects/companies/{cid}").status == 404
    archived = hs.get(f"/crm/v3/objects/companies/{cid}", params={"archived": "true"}).body
    assert archived["archived"] is True and "archivedAt" in archived


def test_properties_with_history_list_every_value_newest_first(hs: SpecClient, clock: ManualClock) -> None:
    cid = create(hs, "companies", name="v1")
    clock.advance(1)
    hs.patch(f"/crm/v3/objects/companies/{cid}", {"properties": {"name": "v2"}})

    read = hs.get(f"/crm/v3/objects/companies/{cid}", params={"propertiesWithHistory": "name"}).body

    assert [h["value"] for h in read["propertiesWithHistory"]["name"]] == ["v2", "v1"]


def test_object_type_ids_address_the_same_records(hs: SpecClient) -> None:
    deal = create(hs, "deals", dealname="by id")

    assert hs.get(f"/crm/v3/objects/0-3/{deal}").body["properties"]["dealname"] == "by id"


def test_v4_labelled_and_default_associations_and_their_removal(hs: SpecClient) -> None:
    contact = create(hs, "contacts", email="x@example.com")
    company = create(hs, "companies", name="Acme")

    default = hs.put(f"/crm/v4/objects/contacts/{contact}/associations/default/companies/{company}")
    primary = hs.put(
        f"/crm/v4/objects/contacts/{contact}/associations/companies/{company}",
        [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 1}],
    )
    listed = hs.get(f"/crm/v4/objects/contacts/{contact}/associations/companies").body
    v3 = hs.get(f"/crm/v3/objects/contacts/{contact}", params={"associations": "companies"}).body
    removed = hs.delete(f"/crm/v4/objects/contacts/{contact}/associations/companies/{company}")

    assert default.status == 200 and len(default.body["results"]) == 2
    assert primary.status == 201 and primary.body["labels"] == ["Primary"]
    assert {t["typeId"] for t in listed["results"][0]["associationTypes"]} == {1, 279}
    assert {r["type"] for r in v3["associations"]["companies"]["results"]} == {
        "contact_to_company",
        "contact_to_company_unlabeled",
    }
    assert removed.status == 204
    assert hs.get(f"/crm/v4/objects/companies/{company}/associations/contacts").body["results"] == []


def test_an_association_type_that_does_not_fit_the_pair_is_refused(hs: SpecClient) -> None:
    contact = create(hs, "contacts", email="y@example.com")
    deal = create(hs, "deals", dealname="d")

    reply = hs.put(
        f"/crm/v4/objects/contacts/{contact}/associations/deals/{deal}",
        [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 341}],
    )

    assert reply.status == 400


def test_batch_association_endpoints_report_missing_records_in_a_207(hs: SpecClient) -> None:
    deals = [create(hs, "deals", dealname=f"d{i}") for i in range(2)]
    company = create(hs, "companies", name="Acme")

    made = hs.post(
        "/crm/v4/associations/deals/companies/batch/associate/default",
        {"inputs": [{"from": {"id": d}, "to": {"id": company}} for d in deals]},
    )
    read = hs.post(
        "/crm/v4/associations/deals/companies/batch/read", {"inputs": [{"id": deals[0]}, {"id": "424242"}]}
    )

    assert made.status == 200 and len(made.body["results"]) == 4
    assert read.status == 207 and read.body["numErrors"] == 1
    assert read.body["results"][0]["to"][0]["toObjectId"] == company


def test_seed_builds_records_and_links_them_by_index() -> None:
    emulator = create_emulator(rate_limit=False)
    ids = emulator.seed(
        {
            "properties": {"companies": [doc("hubspot/property_create_request.json")["body"]]},
            "pipelines": [doc("hubspot/pipeline_create_request.json")["body"]],
            "companies": [{"name": "Partner A", "partner_tier": "gold"}],
            "deals": [
                {
                    "properties": {
                        "dealname": "D",
                        "pipeline": "Partner onboarding",
                        "dealstage": "Qualified",
                    },
                    "associate": {"companies": [0]},
                }
            ],
        }
    )

    client = SpecClient(emulator, token=TOKEN)
    deal = client.get(f"/crm/v3/objects/deals/{ids['deals'][0]}", params={"associations": "companies"}).body
    assert deal["properties"]["pipeline"] == ids["pipelines"][0]["id"]
    assert deal["properties"]["dealstage"] == ids["pipelines"][0]["stages"]["Qualified"]
    assert deal["associations"]["companies"]["results"][0]["id"] == ids["companies"][0]
    with pytest.raises(ValueError):
        emulator.seed({"companies": [{"partner_tier": "diamond"}]})


def test_a_dumped_portal_restores_into_a_new_emulator(hs: SpecClient) -> None:
    company = create(hs, "companies", name="Acme")
    deal = create(hs, "deals", dealname="D")
    hs.put(f"/crm/v4/objects/deals/{deal}/associations/default/companies/{company}")
    saved = json.loads(json.dumps(hs.emulator.dump()))

    restored = SpecClient(create_emulator(rate_limit=False), token=TOKEN)
    restored.emulator.restore(saved)

    params = {"associations": "companies", "propertiesWithHistory": "dealname"}
    assert (
        restored.get(f"/crm/v3/objects/deals/{deal}", params=params).body
        == hs.get(f"/crm/v3/objects/deals/{deal}", params=params).body
    )
    assert int(create(restored, "companies", name="Next")) > int(deal)
