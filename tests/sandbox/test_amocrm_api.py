"""The amoCRM v4 emulator answers the documented requests with the documented shapes: account and
users, pipelines with their fixed statuses, leads/contacts/companies (bulk add, patch, list paging,
filters), custom fields and their values, tasks, validation errors and limits."""

from __future__ import annotations

import copy
import json
from email.utils import formatdate

import pytest
from test_amocrm_support import Client, ManualClock, doc, without_source

from crm_bridge_amocrm.sandbox.emulator import create_emulator

TOKEN = "sandbox-amocrm-long-lived-token"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def amo(clock: ManualClock) -> Client:
    return Client(create_emulator(clock=clock, rate_limit=False), token=TOKEN)


def main_pipeline(amo: Client) -> dict:
    pipelines = amo.get("/api/v4/leads/pipelines").body["_embedded"]["pipelines"]
    return next(p for p in pipelines if p["is_main"])


def working_status(pipeline: dict) -> int:
    return next(s["id"] for s in pipeline["_embedded"]["statuses"] if s["type"] == 0 and s["is_editable"])


def add(amo: Client, entity: str, items: list[dict]) -> list[int]:
    reply = amo.post(f"/api/v4/{entity}", items)
    assert reply.status == 200, reply.body
    return [item["id"] for item in reply.body["_embedded"][entity]]


def test_a_fresh_account_has_a_main_pipeline_with_unsorted_won_and_lost_statuses(amo: Client) -> None:
    reply = amo.get("/api/v4/leads/pipelines")

    assert reply.status == 200
    assert reply.header("content-type") == "application/hal+json"
    example = doc("amocrm/pipelines_list_example.json")
    assert set(reply.body) == set(without_source(example))
    pipeline = main_pipeline(amo)
    assert set(pipeline) == set(example["_embedded"]["pipelines"][0])
    statuses = {s["id"]: s for s in pipeline["_embedded"]["statuses"]}
    assert all(
        set(s) == set(example["_embedded"]["pipelines"][0]["_embedded"]["statuses"][0])
        for s in statuses.values()
    )
    unsorted = [s for s in statuses.values() if s["type"] == 1]
    assert len(unsorted) == 1 and unsorted[0]["name"] == "Неразобранное" and not unsorted[0]["is_editable"]
    assert statuses[142]["is_editable"] is False and statuses[143]["is_editable"] is False
    assert max(s["sort"] for s in statuses.values()) == statuses[143]["sort"]


def test_adding_the_documented_pipeline_creates_its_stages_and_names_the_system_statuses(amo: Client) -> None:
    body = doc("amocrm/add_pipeline_request.json")["body"]

    reply = amo.post("/api/v4/leads/pipelines", body)

    assert reply.status == 200, reply.body
    created = reply.body["_embedded"]["pipelines"][0]
    assert created["request_id"] == "pl-partners" and created["is_main"] is False
    names = {s["id"]: s["name"] for s in created["_embedded"]["statuses"]}
    assert names[142] == "Onboarded" and names[143] == "Rejected"
    assert {"Applied", "Qualified", "Неразобранное"} <= set(names.values())
    listed = amo.get(f"/api/v4/leads/pipelines/{created['id']}/statuses").body
    assert listed["_total_items"] == len(names)


def test_a_stage_colour_outside_the_palette_is_a_validation_error(amo: Client) -> None:
    pid = main_pipeline(amo)["id"]

    reply = amo.post(
        f"/api/v4/leads/pipelines/{pid}/statuses", [{"name": "Odd", "sort": 60, "color": "#123456"}]
    )

    assert reply.status == 400
    assert reply.body["validation-errors"][0]["errors"][0]["path"].endswith("color")


def test_the_account_refuses_a_fifty_first_pipeline(amo: Client) -> None:
    for n in range(49):
        assert (
            amo.post(
                "/api/v4/leads/pipelines", [{"name": f"P{n}", "_embedded": {"statuses": [{"name": "A"}]}}]
            ).status
            == 200
        )

    reply = amo.post("/api/v4/leads/pipelines", [{"name": "P50", "_embedded": {"statuses": [{"name": "A"}]}}])

    assert reply.status == 400
    assert len(amo.get("/api/v4/leads/pipelines").body["_embedded"]["pipelines"]) == 50


def test_the_documented_lead_add_creates_a_linked_lead_with_its_custom_field_value(amo: Client) -> None:
    field = amo.post("/api/v4/leads/custom_fields", doc("amocrm/custom_field_request.json")["body"]).body
    field = field["_embedded"]["custom_fields"][0]
    gold = next(e for e in field["enums"] if e["value"] == "Gold")
    [company] = add(amo, "companies", [{"name": "Acme Ltd"}])
    [contact] = add(amo, "contacts", [{"first_name": "Ivan", "last_name": "Petrov"}])
    pipeline = main_pipeline(amo)
    user = amo.get("/api/v4/users").body["_embedded"]["users"][1]["id"]
    body = copy.deepcopy(doc("amocrm/add_lead_request.json")["body"])
    body[0].update(
        {"pipeline_id": pipeline["id"], "status_id": working_status(pipeline), "responsible_user_id": user}
    )
    body[0]["custom_fields_values"][0].update({"field_id": field["id"]})
    body[0]["custom_fields_values"][0]["values"][0]["enum_id"] = gold["id"]
    body[0]["_embedded"]["companies"][0]["id"] = company
    body[0]["_embedded"]["contacts"][0]["id"] = contact

    reply = amo.post("/api/v4/leads", body)

    assert reply.status == 200, reply.body
    answer = reply.body["_embedded"]["leads"][0]
    assert answer["request_id"] == "ext-42" and set(answer) == {"id", "request_id", "_links"}
    lead = amo.get(f"/api/v4/leads/{answer['id']}", params={"with": "contacts"}).body
    example = without_source(doc("amocrm/lead_get_example.json"))
    assert set(example) - {"source_id"} <= set(lead)
    assert lead["custom_fields_values"] == [
        {
            "field_id": field["id"],
            "field_name": "Partner tier",
            "field_code": "PARTNER_TIER",
            "field_type": "select",
            "values": [{"value": "Gold", "enum_id": gold["id"], "enum_code": None}],
        }
    ]
    assert lead["_embedded"]["companies"][0]["id"] == company
    assert lead["_embedded"]["contacts"][0]["id"] == contact
    assert lead["_embedded"]["tags"][0]["name"] == "partner"
    assert lead["responsible_user_id"] == user and lead["price"] == 5000


def test_an_unknown_enum_is_rejected_with_the_documented_validation_error(amo: Client) -> None:
    field = amo.post("/api/v4/leads/custom_fields", doc("amocrm/custom_field_request.json")["body"]).body
    fid = field["_embedded"]["custom_fields"][0]["id"]

    reply = amo.post(
        "/api/v4/leads",
        [{"name": "x", "custom_fields_values": [{"field_id": fid, "values": [{"enum_id": 1}]}]}],
    )

    assert reply.status == 400
    assert reply.header("content-type") == "application/problem+json"
    assert reply.body == without_source(doc("amocrm/validation_error.json"))


def test_one_bad_item_rejects_the_whole_bulk_add(amo: Client) -> None:
    reply = amo.post(
        "/api/v4/leads", [{"name": "good"}, {"name": "bad", "price": "lots", "request_id": "r-2"}]
    )

    assert reply.status == 400
    assert reply.body["validation-errors"][0]["request_id"] == "r-2"
    assert amo.get("/api/v4/leads").status == 204


def test_more_than_250_items_in_one_add_are_refused(amo: Client) -> None:
    assert amo.post("/api/v4/leads", [{"name": f"L{i}"} for i in range(250)]).status == 200

    reply = amo.post("/api/v4/leads", [{"name": f"M{i}"} for i in range(251)])

    assert reply.status == 400
    assert reply.body["status"] == 400


def test_listing_walks_every_page_by_next_link_and_ends_with_204(amo: Client, clock: ManualClock) -> None:
    for chunk in range(3):
        add(amo, "leads", [{"name": f"L{chunk}-{i}"} for i in range(200)])
        clock.advance(60)
    seen: list[int] = []
    page = 1
    while True:
        reply = amo.get(
            "/api/v4/leads", params={"limit": "250", "page": str(page), "order[updated_at]": "asc"}
        )
        if reply.status == 204:
            assert reply.body is None
            break
        assert reply.body["_page"] == page
        seen.extend(lead["id"] for lead in reply.body["_embedded"]["leads"])
        if "next" not in reply.body["_links"]:
            assert amo.get("/api/v4/leads", params={"limit": "250", "page": str(page + 1)}).status == 204
            break
        assert f"page={page + 1}" in reply.body["_links"]["next"]["href"]
        page += 1

    assert page == 3 and len(seen) == 600 and len(set(seen)) == 600


def test_a_limit_above_250_returns_pages_of_250(amo: Client) -> None:
    add(amo, "companies", [{"name": f"C{i}"} for i in range(250)])
    add(amo, "companies", [{"name": "one more"}])

    reply = amo.get("/api/v4/companies", params={"limit": "500"})

    assert len(reply.body["_embedded"]["companies"]) == 250 and "next" in reply.body["_links"]


def test_updated_at_range_filter_and_order_select_the_changed_records(
    amo: Client, clock: ManualClock
) -> None:
    old = add(amo, "contacts", [{"name": "old"}])
    clock.advance(3600)
    start = int(clock())
    fresh = add(amo, "contacts", [{"name": "new-1"}, {"name": "new-2"}])
    clock.advance(10)
    amo.patch("/api/v4/contacts", [{"id": fresh[0], "name": "new-1 renamed"}])

    reply = amo.get(
        "/api/v4/contacts",
        params=[
            ("filter[updated_at][from]", str(start)),
            ("filter[updated_at][to]", str(start + 60)),
            ("order[updated_at]", "desc"),
        ],
    )

    ids = [c["id"] for c in reply.body["_embedded"]["contacts"]]
    assert ids == [fresh[0], fresh[1]] and old[0] not in ids


def test_filter_by_id_list_and_by_pipeline_status_pair(amo: Client) -> None:
    pipeline = main_pipeline(amo)
    ids = add(
        amo,
        "leads",
        [{"name": "a"}, {"name": "b", "status_id": 142, "pipeline_id": pipeline["id"]}, {"name": "c"}],
    )

    by_id = amo.get(
        "/api/v4/leads", params=[("filter[id][]", str(ids[0])), ("filter[id][]", str(ids[2]))]
    ).body
    won = amo.get(
        "/api/v4/leads",
        params=[
            ("filter[statuses][0][pipeline_id]", str(pipeline["id"])),
            ("filter[statuses][0][status_id]", "142"),
        ],
    ).body

    assert [lead["id"] for lead in by_id["_embedded"]["leads"]] == [ids[0], ids[2]]
    assert [lead["id"] for lead in won["_embedded"]["leads"]] == [ids[1]]


def test_moving_a_lead_to_142_closes_it_in_its_own_pipeline(amo: Client, clock: ManualClock) -> None:
    [lead] = add(amo, "leads", [{"name": "deal"}])
    clock.advance(5)

    reply = amo.patch("/api/v4/leads", [{"id": lead, "status_id": 142}])

    assert reply.status == 200
    answer = reply.body["_embedded"]["leads"][0]
    assert answer["id"] == lead and answer["updated_at"] == int(clock())
    stored = amo.get(f"/api/v4/leads/{lead}").body
    assert stored["status_id"] == 142 and stored["pipeline_id"] == main_pipeline(amo)["id"]
    assert stored["closed_at"] == int(clock())


def test_a_status_from_another_pipeline_with_its_pipeline_id_is_refused(amo: Client) -> None:
    other = amo.post("/api/v4/leads/pipelines", doc("amocrm/add_pipeline_request.json")["body"]).body
    other_status = next(
        s["id"] for s in other["_embedded"]["pipelines"][0]["_embedded"]["statuses"] if s["name"] == "Applied"
    )
    [lead] = add(amo, "leads", [{"name": "deal"}])

    reply = amo.patch(
        f"/api/v4/leads/{lead}", {"status_id": other_status, "pipeline_id": main_pipeline(amo)["id"]}
    )

    assert reply.status == 400
    assert reply.body["validation-errors"][0]["errors"][0]["code"] == "NotSupportedChoice"


def test_patching_one_lead_answers_with_its_id_and_updated_at(amo: Client) -> None:
    [lead] = add(amo, "leads", [{"name": "deal"}])

    reply = amo.patch(f"/api/v4/leads/{lead}", {"price": 700})

    assert reply.status == 200 and set(reply.body) == {"id", "updated_at", "_links"}
    assert amo.get(f"/api/v4/leads/{lead}").body["price"] == 700


def test_a_missing_record_answers_204_without_a_body(amo: Client) -> None:
    reply = amo.get("/api/v4/leads/999")

    assert reply.status == 204 and reply.body is None


def test_contact_phone_and_email_use_the_predefined_multitext_fields(amo: Client) -> None:
    [cid] = add(
        amo,
        "contacts",
        [
            {
                "name": "Anna",
                "custom_fields_values": [
                    {"field_code": "PHONE", "values": [{"value": "+79990000000", "enum_code": "MOB"}]},
                    {"field_code": "EMAIL", "values": [{"value": "anna@example.com", "enum_code": "WORK"}]},
                ],
            }
        ],
    )

    contact = amo.get(f"/api/v4/contacts/{cid}").body
    found = amo.get("/api/v4/contacts", params={"query": "anna@example"}).body

    phone = next(v for v in contact["custom_fields_values"] if v["field_code"] == "PHONE")
    assert phone["field_type"] == "multitext" and phone["values"][0]["enum_code"] == "MOB"
    assert [c["id"] for c in found["_embedded"]["contacts"]] == [cid]


def test_custom_field_enums_can_be_extended_by_patch_keeping_old_ids(amo: Client) -> None:
    created = amo.post(
        "/api/v4/companies/custom_fields", doc("amocrm/custom_field_request.json")["body"]
    ).body
    field = created["_embedded"]["custom_fields"][0]
    silver = field["enums"][0]

    reply = amo.patch(
        f"/api/v4/companies/custom_fields/{field['id']}", {"enums": [silver, {"value": "Diamond", "sort": 9}]}
    )

    assert reply.status == 200
    assert [e["value"] for e in reply.body["enums"]] == ["Silver", "Diamond"]
    assert reply.body["enums"][0]["id"] == silver["id"]
    listed = amo.get("/api/v4/companies/custom_fields").body
    assert listed["_embedded"]["custom_fields"][0]["id"] == field["id"] and listed["_total_items"] == 1


def test_the_documented_task_is_created_bound_to_its_lead_and_can_be_completed(amo: Client) -> None:
    [lead] = add(amo, "leads", [{"name": "deal"}])
    user = amo.get("/api/v4/users").body["_embedded"]["users"][2]["id"]
    body = copy.deepcopy(doc("amocrm/task_request.json")["body"])
    body[0].update({"entity_id": lead, "responsible_user_id": user})

    reply = amo.post("/api/v4/tasks", body)

    assert reply.status == 200, reply.body
    task_id = reply.body["_embedded"]["tasks"][0]["id"]
    assert reply.body["_embedded"]["tasks"][0]["request_id"] == "t-1"
    assert amo.get(f"/api/v4/leads/{lead}").body["closest_task_at"] == 1788885140
    done = amo.patch(f"/api/v4/tasks/{task_id}", {"is_completed": True, "result": {"text": "done"}})
    assert done.status == 200
    task = amo.get(f"/api/v4/tasks/{task_id}").body
    assert (
        task["is_completed"] is True
        and task["result"] == {"text": "done"}
        and task["responsible_user_id"] == user
    )
    open_tasks = amo.get("/api/v4/tasks", params={"filter[is_completed]": "0"})
    assert open_tasks.status == 204
    assert amo.get(f"/api/v4/leads/{lead}").body["closest_task_at"] is None


def test_a_task_without_complete_till_or_for_a_missing_lead_is_refused(amo: Client) -> None:
    reply = amo.post(
        "/api/v4/tasks",
        [{"text": "x"}, {"text": "y", "complete_till": 1, "entity_type": "leads", "entity_id": 5}],
    )

    assert reply.status == 400
    paths = [e["errors"][0]["path"] for e in reply.body["validation-errors"]]
    assert paths == ["complete_till", "entity_id"]


def test_account_and_users_answer_with_their_documented_fields(amo: Client) -> None:
    account = amo.get("/api/v4/account", params={"with": "task_types"}).body
    users = amo.get("/api/v4/users").body

    assert {"id", "name", "subdomain", "current_user_id", "country", "is_unsorted_on", "_links"} <= set(
        account
    )
    assert {t["id"] for t in account["_embedded"]["task_types"]} == {1, 2}
    assert users["_total_items"] == 3 and users["_page_count"] == 1
    assert {"id", "name", "email", "lang", "rights", "_links"} <= set(users["_embedded"]["users"][0])


def test_an_unknown_path_is_404_and_a_wrong_method_is_405(amo: Client) -> None:
    assert amo.get("/api/v4/nothing").status == 404
    assert amo.request("DELETE", "/api/v4/leads").status == 405


def test_seed_loads_records_by_stage_name_and_returns_their_ids() -> None:
    emulator = create_emulator(rate_limit=False)
    ids = emulator.seed(
        {
            "pipelines": doc("amocrm/add_pipeline_request.json")["body"],
            "custom_fields": {"companies": doc("amocrm/custom_field_request.json")["body"]},
            "companies": [{"name": "Partner A"}],
            "leads": [{"name": "L1", "pipeline_name": "Partners", "status_name": "Qualified"}],
        }
    )

    lead = Client(emulator, token=TOKEN).get(f"/api/v4/leads/{ids['leads'][0]}").body
    assert lead["pipeline_id"] == ids["pipelines"][0]["id"]
    assert lead["status_id"] == ids["pipelines"][0]["statuses"]["Qualified"]
    assert ids["custom_fields"]["companies"]["PARTNER_TIER"] > 0
    assert emulator.dump()["companies"][0]["name"] == "Partner A"
    with pytest.raises(ValueError):
        emulator.seed({"leads": [{"name": "bad", "price": "x"}]})


def test_if_modified_since_returns_only_records_changed_after_it(amo: Client, clock: ManualClock) -> None:
    add(amo, "companies", [{"name": "old"}])
    since = clock()
    clock.advance(60)
    [fresh] = add(amo, "companies", [{"name": "new"}])

    changed = amo.get("/api/v4/companies", headers={"If-Modified-Since": formatdate(since, usegmt=True)})
    later = amo.get("/api/v4/companies", headers={"If-Modified-Since": formatdate(clock(), usegmt=True)})

    assert [c["id"] for c in changed.body["_embedded"]["companies"]] == [fresh]
    assert later.status == 204


def test_a_dumped_account_restores_into_a_new_emulator_and_keeps_allocating_fresh_ids(amo: Client) -> None:
    field = amo.post("/api/v4/leads/custom_fields", doc("amocrm/custom_field_request.json")["body"]).body
    fid = field["_embedded"]["custom_fields"][0]["id"]
    [lead] = add(
        amo,
        "leads",
        [
            {
                "name": "kept",
                "custom_fields_values": [{"field_id": fid, "values": [{"value": "Gold"}]}],
                "_embedded": {"tags": [{"name": "partner"}]},
            }
        ],
    )
    saved = json.loads(json.dumps(amo.emulator.dump()))

    restored = Client(create_emulator(rate_limit=False), token=TOKEN)
    restored.emulator.restore(saved)

    assert restored.get(f"/api/v4/leads/{lead}").body == amo.get(f"/api/v4/leads/{lead}").body
    [newer] = add(restored, "leads", [{"name": "next", "_embedded": {"tags": [{"name": "partner"}]}}])
    assert newer > lead
    tags = restored.get(f"/api/v4/leads/{newer}").body["_embedded"]["tags"]
    assert tags == amo.get(f"/api/v4/leads/{lead}").body["_embedded"]["tags"]
