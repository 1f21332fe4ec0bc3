"""HubSpot properties, property groups, deal pipelines and owners through the emulator, replaying the
documented create examples; every answer is checked against HubSpot's OpenAPI specs."""

from __future__ import annotations

import copy

import pytest
from test_amocrm_support import ManualClock, doc
from test_hubspot_support import TOKEN, SpecClient

from crm_bridge_hubspot.sandbox.emulator import create_emulator


@pytest.fixture
def hs() -> SpecClient:
    return SpecClient(create_emulator(clock=ManualClock(), rate_limit=False), token=TOKEN)


def test_the_documented_enumeration_property_is_created_and_enforced_on_records(hs: SpecClient) -> None:
    reply = hs.post("/crm/v3/properties/companies", doc("hubspot/property_create_request.json")["body"])

    assert reply.status == 201
    assert [o["value"] for o in reply.body["options"]] == ["silver", "gold"]
    assert hs.get("/crm/v3/properties/companies/partner_tier").body["label"] == "Partner tier"
    ok = hs.post(
        "/crm/v3/objects/companies", {"properties": {"name": "A", "partner_tier": "gold"}, "associations": []}
    )
    by_label = hs.post(
        "/crm/v3/objects/companies", {"properties": {"name": "B", "partner_tier": "Gold"}, "associations": []}
    )
    assert ok.status == 201 and by_label.status == 400 and "INVALID_OPTION" in by_label.body["message"]


def test_a_property_name_is_unique_and_an_enumeration_needs_options(hs: SpecClient) -> None:
    body = doc("hubspot/property_create_request.json")["body"]
    hs.post("/crm/v3/properties/companies", body)

    again = hs.post("/crm/v3/properties/companies", body)
    no_options = hs.post("/crm/v3/properties/companies", {**body, "name": "other_tier", "options": []})
    bad_pair = hs.post(
        "/crm/v3/properties/companies", {**body, "name": "n", "type": "number", "fieldType": "select"}
    )

    assert again.status == 409 and again.body["category"] == "CONFLICT"
    assert no_options.status == 400 and bad_pair.status == 400


def test_options_are_replaced_by_patch_and_archived_properties_leave_the_list(hs: SpecClient) -> None:
    hs.post("/crm/v3/properties/companies", doc("hubspot/property_create_request.json")["body"])
    options = [
        {"label": "Silver", "value": "silver", "hidden": False},
        {"label": "Platinum", "value": "platinum", "hidden": False},
    ]

    patched = hs.patch("/crm/v3/properties/companies/partner_tier", {"options": options})
    archived = hs.delete("/crm/v3/properties/companies/partner_tier")

    assert [o["value"] for o in patched.body["options"]] == ["silver", "platinum"]
    assert archived.status == 204
    names = [p["name"] for p in hs.get("/crm/v3/properties/companies").body["results"]]
    assert "partner_tier" not in names and "name" in names
    assert hs.get("/crm/v3/properties/companies/partner_tier", params={"archived": "true"}).status == 200
    assert hs.delete("/crm/v3/properties/companies/name").status == 400


def test_batch_property_create_reports_bad_inputs_in_a_207(hs: SpecClient) -> None:
    good = doc("hubspot/property_create_request.json")["body"]
    bad = {**good, "name": "Bad Name"}

    reply = hs.post("/crm/v3/properties/companies/batch/create", {"inputs": [good, bad]})
    read = hs.post(
        "/crm/v3/properties/companies/batch/read", {"inputs": [{"name": "partner_tier"}], "archived": False}
    )

    assert reply.status == 207 and [p["name"] for p in reply.body["results"]] == ["partner_tier"]
    assert reply.body["numErrors"] == 1
    assert read.status == 200 and read.body["results"][0]["name"] == "partner_tier"


def test_property_groups_are_created_listed_renamed_and_archived(hs: SpecClient) -> None:
    created = hs.post(
        "/crm/v3/properties/companies/groups",
        {"name": "partner_program", "label": "Partner program", "displayOrder": 5},
    )
    renamed = hs.patch("/crm/v3/properties/companies/groups/partner_program", {"label": "Partners"})
    prop = hs.post(
        "/crm/v3/properties/companies",
        {**doc("hubspot/property_create_request.json")["body"], "groupName": "partner_program"},
    )

    assert created.status == 201 and renamed.body["label"] == "Partners" and prop.status == 201
    assert "partner_program" in [
        g["name"] for g in hs.get("/crm/v3/properties/companies/groups").body["results"]
    ]
    assert hs.delete("/crm/v3/properties/companies/groups/partner_program").status == 204
    assert hs.get("/crm/v3/properties/companies/groups/partner_program").status == 404


def test_a_unique_property_refuses_a_second_record_with_the_same_value(hs: SpecClient) -> None:
    hs.post(
        "/crm/v3/properties/deals",
        {
            "name": "ext_id",
            "label": "External id",
            "groupName": "dealinformation",
            "type": "string",
            "fieldType": "text",
            "hasUniqueValue": True,
        },
    )
    hs.post("/crm/v3/objects/deals", {"properties": {"dealname": "a", "ext_id": "E1"}, "associations": []})

    reply = hs.post(
        "/crm/v3/objects/deals", {"properties": {"dealname": "b", "ext_id": "E1"}, "associations": []}
    )

    assert reply.status == 409


def test_the_default_deal_pipeline_has_hubspots_seven_stages(hs: SpecClient) -> None:
    default = hs.get("/crm/v3/pipelines/deals/default").body

    stages = {s["id"]: s["metadata"] for s in default["stages"]}
    assert list(stages) == [
        "appointmentscheduled",
        "qualifiedtobuy",
        "presentationscheduled",
        "decisionmakerboughtin",
        "contractsent",
        "closedwon",
        "closedlost",
    ]
    assert stages["closedwon"] == {"probability": "1.0", "isClosed": "true"}
    assert stages["closedlost"] == {"probability": "0.0", "isClosed": "true"}
    assert stages["contractsent"]["isClosed"] == "false"


def test_the_documented_pipeline_is_created_with_closed_won_and_lost_stages(hs: SpecClient) -> None:
    reply = hs.post("/crm/v3/pipelines/deals", doc("hubspot/pipeline_create_request.json")["body"])

    assert reply.status == 201
    stages = {s["label"]: s for s in reply.body["stages"]}
    assert stages["Onboarded"]["metadata"] == {"probability": "1.0", "isClosed": "true"}
    assert stages["Applied"]["metadata"]["isClosed"] == "false"
    listed = hs.get("/crm/v3/pipelines/deals").body["results"]
    assert [p["label"] for p in listed] == ["Sales Pipeline", "Partner onboarding"]
    deal = hs.post(
        "/crm/v3/objects/deals",
        {
            "properties": {
                "dealname": "p",
                "pipeline": reply.body["id"],
                "dealstage": stages["Applied"]["id"],
            },
            "associations": [],
        },
    )
    wrong = hs.post(
        "/crm/v3/objects/deals",
        {
            "properties": {"dealname": "p", "pipeline": reply.body["id"], "dealstage": "closedwon"},
            "associations": [],
        },
    )
    assert deal.status == 201 and wrong.status == 400


def test_stage_probability_must_be_a_tenth_between_zero_and_one(hs: SpecClient) -> None:
    body = copy.deepcopy(doc("hubspot/pipeline_create_request.json")["body"])
    body["stages"][0]["metadata"]["probability"] = "0.25"

    assert hs.post("/crm/v3/pipelines/deals", body).status == 400
    del body["stages"][0]["metadata"]["probability"]
    assert hs.post("/crm/v3/pipelines/deals", body).status == 400


def test_stages_are_added_renamed_and_a_stage_holding_deals_cannot_be_deleted(hs: SpecClient) -> None:
    pipeline = hs.post("/crm/v3/pipelines/deals", doc("hubspot/pipeline_create_request.json")["body"]).body
    pid = pipeline["id"]

    added = hs.post(
        f"/crm/v3/pipelines/deals/{pid}/stages",
        {"label": "Trained", "displayOrder": 2, "metadata": {"probability": "0.6"}},
    )
    renamed = hs.patch(
        f"/crm/v3/pipelines/deals/{pid}/stages/{added.body['id']}",
        {"label": "Certified", "metadata": {"probability": "0.7"}},
    )
    hs.post(
        "/crm/v3/objects/deals",
        {"properties": {"dealname": "d", "pipeline": pid, "dealstage": added.body["id"]}, "associations": []},
    )
    refused = hs.delete(f"/crm/v3/pipelines/deals/{pid}/stages/{added.body['id']}")
    duplicate = hs.post(
        f"/crm/v3/pipelines/deals/{pid}/stages",
        {"label": "Applied", "displayOrder": 9, "metadata": {"probability": "0.1"}},
    )

    assert (
        added.status == 201
        and renamed.body["label"] == "Certified"
        and renamed.body["metadata"]["probability"] == "0.7"
    )
    assert refused.status == 400 and duplicate.status == 400
    assert len(hs.get(f"/crm/v3/pipelines/deals/{pid}/stages").body["results"]) == 5


def test_a_pipeline_with_deals_is_protected_when_validation_is_asked(hs: SpecClient) -> None:
    pid = hs.post("/crm/v3/pipelines/deals", doc("hubspot/pipeline_create_request.json")["body"]).body["id"]
    hs.post("/crm/v3/objects/deals", {"properties": {"dealname": "d", "pipeline": pid}, "associations": []})

    refused = hs.delete(f"/crm/v3/pipelines/deals/{pid}", params={"validateReferencesBeforeDelete": "true"})

    assert refused.status == 409
    assert hs.get(f"/crm/v3/pipelines/deals/{pid}").status == 200


def test_owners_are_listed_paged_and_found_by_user_id(hs: SpecClient) -> None:
    first = hs.get("/crm/v3/owners", params={"limit": "2"}).body
    rest = hs.get("/crm/v3/owners", params={"limit": "2", "after": first["paging"]["next"]["after"]}).body
    owner = first["results"][0]

    by_user = hs.get(f"/crm/v3/owners/{owner['userId']}", params={"idProperty": "userId"}).body
    by_email = hs.get("/crm/v3/owners", params={"email": owner["email"]}).body

    assert len(first["results"]) == 2 and len(rest["results"]) == 1 and "paging" not in rest
    assert by_user["id"] == owner["id"] and by_email["results"] == [owner]
    assert hs.get("/crm/v3/owners/1").status == 404


def test_a_record_owner_must_be_an_owner_id_not_a_user_id(hs: SpecClient) -> None:
    owner = hs.get("/crm/v3/owners").body["results"][0]

    by_owner = hs.post(
        "/crm/v3/objects/deals",
        {"properties": {"dealname": "a", "hubspot_owner_id": owner["id"]}, "associations": []},
    )
    by_user = hs.post(
        "/crm/v3/objects/deals",
        {"properties": {"dealname": "b", "hubspot_owner_id": str(owner["userId"])}, "associations": []},
    )

    assert by_owner.status == 201 and by_user.status == 400 and "INVALID_OWNER_ID" in by_user.body["message"]
