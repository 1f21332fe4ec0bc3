"""Bitrix24 emulator: CRM user fields (crm.<entity>.userfield.*) replayed from the company user-field
pages: the UF_CRM_ prefix and 50-character limit, labels per language, enumeration items by id and
their update by ID / DEL."""

from __future__ import annotations

from typing import Any

from test_bitrix24_crm import assert_like_docs
from test_bitrix24_support import B24, b24, clock, doc, portal, shape_differences

__all__ = ["b24", "clock", "portal"]


def add_enumeration(b24: B24) -> int:
    field_id: int = b24.ok("crm.company.userfield.add", doc("userfield_add_enumeration.json")["request"])
    return field_id


def test_the_documented_string_field_is_created_with_the_uf_crm_prefix(b24: B24) -> None:
    example = doc("userfield_add_string.json")

    reply = b24.call("crm.company.userfield.add", example["request"])
    got = b24.call(
        "crm.company.userfield.get", {**doc("userfield_get.json")["request"], "id": reply.body["result"]}
    )

    assert_like_docs(reply.body, example["response"])
    field = got.body["result"]
    assert (field["FIELD_NAME"], field["ENTITY_ID"], field["MULTIPLE"], field["MANDATORY"]) == (
        "UF_CRM_HELLO_WORLD",
        "CRM_COMPANY",
        "Y",
        "Y",
    )
    assert field["EDIT_FORM_LABEL"]["en"] == "Hello, World! Edit"
    assert field["EDIT_FORM_LABEL"]["de"] == "Hallo, Welt! Bearbeiten"
    assert field["EDIT_FORM_LABEL"]["fr"] == "Hello, world! Field"  # LABEL fills the languages not given
    assert field["LIST_FILTER_LABEL"]["ja"] == "Hello, world! Filter"
    documented = doc("userfield_get.json")["response"]
    for key in ("EDIT_FORM_LABEL", "LIST_COLUMN_LABEL", "LIST_FILTER_LABEL", "ERROR_MESSAGE", "HELP_MESSAGE"):
        field[key].pop("ru")  # the docs' portal has no Russian; ours does
    assert shape_differences(got.body["result"], documented["result"]) == []


def test_an_enumeration_keeps_its_items_and_values_are_stored_by_item_id(b24: B24) -> None:
    field_id = add_enumeration(b24)
    field = b24.ok("crm.company.userfield.get", {"id": field_id})
    items = {item["VALUE"]: item["ID"] for item in field["LIST"]}
    company = b24.ok(
        "crm.company.add", {"fields": {"TITLE": "Acme", "UF_CRM_ENUMERATION_EXAMPLE": items["List item #3"]}}
    )

    b24.ok(
        "crm.company.update", {"ID": company, "FIELDS": {"UF_CRM_ENUMERATION_EXAMPLE": items["List item #2"]}}
    )

    assert list(items) == ["List item #1", "List item #2", "List item #3", "List item #4"]
    assert [i["DEF"] for i in field["LIST"]] == ["Y", "N", "N", "N"]
    assert [i["XML_ID"] for i in field["LIST"]] == ["XML_ID_1", "XML_ID_2", "XML_ID_3", "XML_ID_4"]
    stored = b24.ok("crm.company.get", {"id": company})["UF_CRM_ENUMERATION_EXAMPLE"]
    assert stored == items["List item #2"] and stored.isdigit()
    described = b24.ok("crm.company.fields")["UF_CRM_ENUMERATION_EXAMPLE"]
    assert [i["VALUE"] for i in described["items"]] == list(items)


def test_the_list_answers_labels_only_in_the_language_asked_for(b24: B24) -> None:
    b24.ok("crm.company.userfield.add", doc("userfield_add_string.json")["request"])
    add_enumeration(b24)
    example = doc("userfield_list.json")

    reply = b24.call("crm.company.userfield.list", example["request"])
    plain = b24.ok("crm.company.userfield.list", {})

    documented_string = next(f for f in example["response"]["result"] if f["USER_TYPE_ID"] == "string")
    assert_like_docs(reply.body, {**example["response"], "result": [documented_string]})
    assert [f["FIELD_NAME"] for f in reply.body["result"]] == ["UF_CRM_HELLO_WORLD"]  # MULTIPLE and MANDATORY
    assert reply.body["result"][0]["LIST_COLUMN_LABEL"] == "Hallo, Welt! Spalte"
    assert [f["FIELD_NAME"] for f in plain] == ["UF_CRM_HELLO_WORLD", "UF_CRM_ENUMERATION_EXAMPLE"]
    assert "EDIT_FORM_LABEL" not in plain[0]


def test_field_names_follow_the_documented_rules(b24: B24) -> None:
    def add(name: str, utype: str = "string") -> Any:
        return b24.call("crm.deal.userfield.add", {"fields": {"FIELD_NAME": name, "USER_TYPE_ID": utype}})

    names = [
        b24.ok("crm.deal.userfield.get", {"id": add(n).body["result"]})["FIELD_NAME"]
        for n in ("note", "UF_MARK")
    ]
    longest = add("X" * 43)
    errors = [add("X" * 44), add("BAD-NAME"), add(""), add("OK_NAME", ""), add("OK_NAME", "colour")]

    assert names == ["UF_CRM_NOTE", "UF_CRM_MARK"]
    assert longest.status == 200
    assert [(e.status, e.body["error"], e.body["error_description"]) for e in errors] == [
        (400, "ERROR_CORE", "Field name is too long (more than 50 characters)."),
        (
            400,
            "ERROR_CORE",
            "Field name contains invalid characters. Allowed characters are: A-Z, 0-9 and _.",
        ),
        (400, "", "The 'FIELD_NAME' field is not found."),
        (400, "", "The 'USER_TYPE_ID' field is not found."),
        (400, "ERROR_CORE", "Invalid custom type specified."),
    ]


def test_updating_a_list_changes_items_by_id_deletes_with_del_and_appends_new_ones(b24: B24) -> None:
    field_id = add_enumeration(b24)
    first, second, *_ = b24.ok("crm.company.userfield.get", {"id": field_id})["LIST"]

    b24.ok(
        "crm.company.userfield.update",
        {
            "id": field_id,
            "fields": {
                "LIST": [
                    {"ID": first["ID"], "VALUE": "Renamed #1"},
                    {"ID": second["ID"], "DEL": "Y"},
                    {"VALUE": "List item #5", "XML_ID": "XML_ID_5", "SORT": 500},
                    {"VALUE": ""},
                ]
            },
        },
    )
    clash = b24.call(
        "crm.company.userfield.update",
        {"id": field_id, "fields": {"LIST": [{"VALUE": "dup", "XML_ID": "XML_ID_1"}]}},
    )

    values = [i["VALUE"] for i in b24.ok("crm.company.userfield.get", {"id": field_id})["LIST"]]
    assert values == ["Renamed #1", "List item #3", "List item #4", "List item #5"]
    assert (clash.status, clash.body["error"]) == (400, "ERROR_CORE")


def test_the_documented_update_and_delete_answer_true_and_unknown_ids_are_not_found(b24: B24) -> None:
    field_id = b24.ok("crm.company.userfield.add", doc("userfield_add_string.json")["request"])
    update = doc("userfield_update.json")

    updated = b24.call("crm.company.userfield.update", {**update["request"], "id": field_id})
    field = b24.ok("crm.company.userfield.get", {"id": field_id})
    deleted = b24.call(
        "crm.company.userfield.delete", {**doc("userfield_delete.json")["request"], "id": field_id}
    )
    missing = b24.call("crm.company.userfield.get", {"id": field_id})

    assert_like_docs(updated.body, update["response"])
    assert (field["SORT"], field["EDIT_IN_LIST"], field["MANDATORY"]) == ("2000", "N", "N")
    assert field["SETTINGS"]["ROWS"] == 10 and field["LIST_COLUMN_LABEL"]["fr"] == ""
    assert_like_docs(deleted.body, doc("userfield_delete.json")["response"])
    assert (missing.status, missing.body["error"]) == (400, "ERROR_NOT_FOUND")
    assert missing.body["error_description"] == f"The entity with ID '{field_id}' is not found"


def test_the_list_pages_by_50_like_every_list_method(b24: B24) -> None:
    for i in range(55):
        b24.ok("crm.deal.userfield.add", {"fields": {"FIELD_NAME": f"F{i:02d}", "USER_TYPE_ID": "string"}})

    first = b24.call("crm.deal.userfield.list", {"filter": {"LANG": "en"}})
    rest = b24.call("crm.deal.userfield.list", {"filter": {"LANG": "en"}, "start": first.body["next"]})

    assert (len(first.body["result"]), first.body["next"], first.body["total"]) == (50, 50, 55)
    assert (len(rest.body["result"]), rest.body["total"], "next" in rest.body) == (5, 55, False)
    names = [f["FIELD_NAME"] for f in first.body["result"] + rest.body["result"]]
    assert names == [f"UF_CRM_F{i:02d}" for i in range(55)]
    assert all("EDIT_FORM_LABEL" in f for f in rest.body["result"])  # the language filter on every page
