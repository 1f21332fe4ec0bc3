"""Bitrix24 emulator: deal funnels (crm.category.*), the stages a new funnel gets, and the crm.status
rules (prefix, sort after WON, deleting system stages and stages in use), replayed from the docs."""

from __future__ import annotations

from typing import Any

from test_bitrix24_crm import assert_like_docs
from test_bitrix24_support import B24, b24, clock, doc, portal, shape_differences

__all__ = ["b24", "clock", "portal"]


def add_funnel(b24: B24, name: str = "Partners", **fields: Any) -> dict[str, Any]:
    category: dict[str, Any] = b24.ok(
        "crm.category.add", {"entityTypeId": 2, "fields": {"name": name, **fields}}
    )["category"]
    return category


def stages(b24: B24, entity_id: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = b24.ok(
        "crm.status.list", {"order": {"SORT": "ASC"}, "filter": {"ENTITY_ID": entity_id}}
    )
    return rows


def test_a_funnel_added_for_deals_answers_the_documented_category_object(b24: B24) -> None:
    example = doc("category_add.json")["request"]  # the docs add an SPA funnel; deals are entityTypeId 2

    reply = b24.call("crm.category.add", {**example, "entityTypeId": 2})

    assert_like_docs(reply.body, doc("category_get.json")["response"])
    category = reply.body["result"]["category"]
    assert (category["name"], category["sort"], category["entityTypeId"]) == ("New Default Funnel", 50, 2)
    assert category["isDefault"] == "N"  # deals cannot change isDefault


def test_a_new_funnel_gets_the_default_stages_with_its_prefix(b24: B24) -> None:
    category = add_funnel(b24)

    rows = stages(b24, f"DEAL_STAGE_{category['id']}")

    assert [r["STATUS_ID"] for r in rows] == [
        "C1:NEW",
        "C1:PREPARATION",
        "C1:PREPAYMENT_INVOICE",
        "C1:EXECUTING",
        "C1:FINAL_INVOICE",
        "C1:WON",
        "C1:LOSE",
        "C1:APOLOGY",
    ]
    assert [r["SYSTEM"] for r in rows] == ["Y", "N", "N", "N", "N", "Y", "Y", "N"]
    assert [r["EXTRA"]["SEMANTICS"] for r in rows][-3:] == ["success", "failure", "apology"]
    assert {r["CATEGORY_ID"] for r in rows} == {"1"}
    documented = doc("status_list.json")["response"]["result"][0]
    assert shape_differences(rows[0], documented) == []


def test_a_two_digit_funnel_cuts_stage_codes_as_the_docs_tutorial_shows(b24: B24) -> None:
    for n in range(10):
        add_funnel(b24, f"Funnel {n}")

    codes = [r["STATUS_ID"] for r in stages(b24, "DEAL_STAGE_10")]

    assert codes[2] == "C10:PREPAYMENT_INVOIC"


def test_the_funnel_list_puts_the_default_funnel_without_origin_fields(b24: B24) -> None:
    add_funnel(b24, "Partners", sort=200)
    example = doc("category_list.json")

    reply = b24.call("crm.category.list", example["request"])

    assert_like_docs(reply.body, example["response"])
    listed = reply.body["result"]["categories"]
    assert [(c["id"], c["isDefault"]) for c in listed] == [(1, "N"), (0, "Y")]
    assert "originId" not in listed[1] and reply.body["total"] == 2


def test_get_update_and_delete_answer_the_documented_shapes(b24: B24) -> None:
    category = add_funnel(b24)
    get = b24.call("crm.category.get", {**doc("category_get.json")["request"], "id": category["id"]})
    update_example = doc("category_update.json")
    updated = b24.call(
        "crm.category.update", {**update_example["request"], "entityTypeId": 2, "id": category["id"]}
    )
    deleted = b24.call(
        "crm.category.delete", {**doc("category_delete.json")["request"], "id": category["id"]}
    )

    assert_like_docs(get.body, doc("category_get.json")["response"])
    assert updated.body["result"]["category"]["name"] == "New Funnel Name"
    assert updated.body["result"]["category"]["isDefault"] == "N"
    assert_like_docs(deleted.body, doc("category_delete.json")["response"])
    assert stages(b24, "DEAL_STAGE_1") == []


def test_funnels_refuse_what_the_docs_refuse(b24: B24) -> None:
    category = add_funnel(b24)
    b24.ok("crm.deal.add", {"fields": {"CATEGORY_ID": category["id"]}})

    answers = [
        b24.call("crm.category.delete", {"entityTypeId": 2, "id": category["id"]}),
        b24.call("crm.category.delete", {"entityTypeId": 2, "id": 0}),
        b24.call("crm.category.get", {"entityTypeId": 2, "id": 77}),
        b24.call("crm.category.list", {"entityTypeId": 1}),
        b24.call("crm.category.list", {"entityTypeId": 1152}),
        b24.call("crm.category.add", {"entityTypeId": 2, "fields": {"name": "   "}}),
    ]

    assert [(a.status, a.body["error"], a.body["error_description"]) for a in answers] == [
        (400, "0", "Deals related to the funnel Partners found"),
        (400, "0", "Default deal category cannot be deleted"),
        (400, "NOT_FOUND", "Element not found"),
        (400, "ENTITY_TYPE_NOT_SUPPORTED", "Entity type Lead is not supported"),
        (400, "NOT_FOUND", "Smart process not found"),
        (400, "0", "Field 'NAME' is required"),
    ]


def test_a_stage_gets_the_funnel_prefix_and_must_sort_before_won(b24: B24) -> None:
    add_funnel(b24)
    example = doc("status_add.json")

    refused = b24.call("crm.status.add", example["request"])  # the docs' SORT 70 is after C1:WON (60)
    added = b24.call("crm.status.add", {"fields": {**example["request"]["fields"], "SORT": 55}})
    kept = b24.ok(
        "crm.status.add",
        {"fields": {"ENTITY_ID": "DEAL_STAGE_1", "STATUS_ID": "C1:CHECK", "NAME": "Check", "SORT": 56}},
    )

    assert refused.status == 400 and refused.body["error_description"].startswith(
        "Cannot create more stages after the final stage"
    )
    assert_like_docs(added.body, example["response"])
    row = b24.ok("crm.status.get", {"id": added.body["result"]})
    assert (row["STATUS_ID"], row["SORT"], row["SYSTEM"], row["COLOR"]) == (
        "C1:DECISION",
        "55",
        "N",
        "#FFA900",
    )
    assert b24.ok("crm.status.get", {"id": kept})["STATUS_ID"] == "C1:CHECK"
    codes = [r["STATUS_ID"] for r in stages(b24, "DEAL_STAGE_1")]
    assert codes.index("C1:DECISION") < codes.index("C1:WON")


def test_stage_codes_follow_the_directory_rules(b24: B24) -> None:
    answers = [
        b24.call("crm.status.add", {"fields": {"ENTITY_ID": "STATUS", "STATUS_ID": "NEW", "NAME": "again"}}),
        b24.call("crm.status.add", {"fields": {"ENTITY_ID": "STATUS", "NAME": "no code"}}),
        b24.call("crm.status.add", {"fields": {"ENTITY_ID": "NOPE", "STATUS_ID": "X", "NAME": "x"}}),
        b24.call(
            "crm.status.add", {"fields": {"ENTITY_ID": "STATUS", "STATUS_ID": "X" * 22, "NAME": "long"}}
        ),
    ]

    assert [(a.body["error"], a.body["error_description"]) for a in answers] == [
        ("ERROR_CORE", "The specified status ID already exists."),
        ("", "The field STATUS_ID is required."),
        ("", "Specified entity type is not supported."),
        ("", "Error on creating status."),
    ]


def test_deleting_stages_refuses_system_ones_without_forced_and_any_in_use(b24: B24) -> None:
    add_funnel(b24)
    rows = {r["STATUS_ID"]: r["ID"] for r in stages(b24, "DEAL_STAGE_1")}
    b24.ok("crm.deal.add", {"fields": {"CATEGORY_ID": 1, "STAGE_ID": "C1:EXECUTING"}})
    forced = doc("status_delete_forced.json")["request"]

    system = b24.call("crm.status.delete", {"id": rows["C1:LOSE"]})
    in_use = b24.call("crm.status.delete", {"id": rows["C1:EXECUTING"]})
    plain = b24.call("crm.status.delete", {**doc("status_delete.json")["request"], "id": rows["C1:APOLOGY"]})
    with_force = b24.call("crm.status.delete", {**forced, "id": rows["C1:LOSE"]})

    assert system.body["error_description"] == (
        'CRM System Status can be deleted only if parameter FORCED is specified and equal to "Y".'
    )
    assert in_use.body["error_description"] == "There are active items in this status."
    assert_like_docs(plain.body, doc("status_delete.json")["response"])
    assert with_force.body["result"] is True
    assert [r["STATUS_ID"] for r in stages(b24, "DEAL_STAGE_1")][-2:] == ["C1:FINAL_INVOICE", "C1:WON"]


def test_a_stage_is_renamed_and_read_back_like_the_docs(b24: B24) -> None:
    new_id = stages(b24, "DEAL_STAGE")[0]["ID"]
    example = doc("status_update.json")

    reply = b24.call("crm.status.update", {**example["request"], "id": new_id})
    got = b24.call("crm.status.get", {"id": new_id})
    missing = b24.call("crm.status.get", {"id": 99999})

    assert_like_docs(reply.body, example["response"])
    documented = doc("status_get.json")["response"]["result"]  # a smart-process stage: no EXTRA block
    assert shape_differences({k: v for k, v in got.body["result"].items() if k != "EXTRA"}, documented) == []
    assert (got.body["result"]["NAME"], got.body["result"]["COLOR"]) == ("New name", "#00A9F4")
    assert (missing.status, missing.body["error_description"]) == (400, "Status is not found.")


def test_the_directory_list_describes_lead_and_funnel_semantics(b24: B24) -> None:
    add_funnel(b24)
    documented = {row["ID"]: row for row in doc("status_entity_types.json")["response"]["result"]}

    ours = {row["ID"]: row for row in b24.ok("crm.status.entity.types")}

    for entity_id in (
        "STATUS",
        "SOURCE",
        "COMPANY_TYPE",
        "EMPLOYEES",
        "DEAL_TYPE",
        "DEAL_STAGE",
        "DEAL_STAGE_1",
    ):
        assert shape_differences(ours[entity_id], documented[entity_id]) == [], entity_id
    assert ours["DEAL_STAGE_1"]["SEMANTIC_INFO"] == documented["DEAL_STAGE_1"]["SEMANTIC_INFO"]
    assert ours["STATUS"]["SEMANTIC_INFO"] == documented["STATUS"]["SEMANTIC_INFO"]
    lead_statuses = [r["STATUS_ID"] for r in stages(b24, "STATUS")]
    assert lead_statuses == ["NEW", "IN_PROCESS", "PROCESSED", "CONVERTED", "JUNK"]
