"""Bitrix24 emulator: the classic crm.deal/lead/company/contact methods replayed from the docs' own
examples, pagination to the end (start/next/total and the start=-1 keyset walk), filters, select masks,
multi-fields and crm.duplicate.findbycomm."""

from __future__ import annotations

from typing import Any

from test_bitrix24_support import B24, ManualClock, b24, clock, doc, portal, shape_differences

from crm_bridge_bitrix24.sandbox.emulator import Bitrix24Emulator

__all__ = ["b24", "clock", "portal"]  # fixtures used below


def without_time(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "time"}


def assert_like_docs(body: dict[str, Any], documented: dict[str, Any]) -> None:
    """Same keys and value types as the documented answer; the ``time`` block as limits.md shows it."""
    assert shape_differences(without_time(body), without_time(documented)) == []
    assert shape_differences(body["time"], doc("time_block.json")["response"]["time"]) == []


def test_the_documented_deal_add_creates_a_deal_and_answers_its_integer_id(b24: B24) -> None:
    example = doc("deal_add.json")

    reply = b24.call("crm.deal.add", example["request"])

    assert reply.status == 200
    assert isinstance(reply.body["result"], int)
    assert_like_docs(reply.body, example["response"])


def test_a_deal_reads_back_with_the_documented_fields_and_string_values(b24: B24) -> None:
    deal_id = b24.ok("crm.deal.add", doc("deal_add.json")["request"])
    example = doc("deal_get.json")

    reply = b24.call("crm.deal.get", {**example["request"], "ID": deal_id})

    assert_like_docs(reply.body, example["response"])
    deal = reply.body["result"]
    assert (deal["ID"], deal["TITLE"], deal["STAGE_ID"], deal["TYPE_ID"]) == (
        str(deal_id),
        "New Deal #1",
        "PREPARATION",
        "COMPLEX",
    )
    assert (deal["OPPORTUNITY"], deal["PROBABILITY"], deal["COMPANY_ID"], deal["CONTACT_ID"]) == (
        "1000000.00",
        "99",
        "9",
        "84",
    )
    assert deal["BEGINDATE"] == "2026-11-26T00:00:00+03:00"
    assert (deal["CATEGORY_ID"], deal["STAGE_SEMANTIC_ID"], deal["CLOSED"], deal["IS_NEW"]) == (
        "0",
        "P",
        "N",
        "Y",
    )


def test_the_documented_update_moves_the_deal_to_won_and_closes_it(b24: B24, clock: ManualClock) -> None:
    deal_id = b24.ok("crm.deal.add", doc("deal_add.json")["request"])
    example = doc("deal_update.json")
    clock.advance(60)

    reply = b24.call("crm.deal.update", {**example["request"], "ID": deal_id})

    assert_like_docs(reply.body, example["response"])
    deal = b24.ok("crm.deal.get", {"id": deal_id})
    assert (deal["STAGE_ID"], deal["STAGE_SEMANTIC_ID"], deal["CLOSED"], deal["IS_NEW"]) == (
        "WON",
        "S",
        "Y",
        "N",
    )
    assert (deal["TITLE"], deal["TYPE_ID"], deal["OPPORTUNITY"]) == ("New Deal Title!", "GOODS", "9999.99")
    assert deal["DATE_MODIFY"] > deal["DATE_CREATE"]


def test_the_documented_delete_answers_true_and_the_deal_is_gone(b24: B24) -> None:
    deal_id = b24.ok("crm.deal.add", {"fields": {"TITLE": "to delete"}})
    example = doc("deal_delete.json")

    reply = b24.call("crm.deal.delete", {**example["request"], "id": deal_id})

    assert_like_docs(reply.body, example["response"])
    gone = b24.call("crm.deal.get", {"id": deal_id})
    assert (gone.status, gone.body) == (400, {"error": "", "error_description": "Not found"})


def test_the_documented_list_filter_select_and_order_pick_the_matching_deals(
    b24: B24, portal: Bitrix24Emulator, clock: ManualClock
) -> None:
    clock.now = 1_795_680_000.0  # 2026-11-26: after the example's ">DATE_CREATE" of six months back
    portal.seed({"users": [{"ID": 6, "NAME": "Six"}], "categories": [{"name": "Funnel one"}]})
    wanted = [("Beta", 12500, 1), ("Alpha", 20000, 6), ("Alpha", 19999.99, 1), ("Delta", 11500, 6)]
    for title, amount, user in wanted:
        fields = {"TITLE": title, "TYPE_ID": "COMPLEX", "CATEGORY_ID": 1, "STAGE_ID": "C1:NEW"}
        fields |= {"OPPORTUNITY": amount, "IS_MANUAL_OPPORTUNITY": "Y", "ASSIGNED_BY_ID": user}
        b24.ok("crm.deal.add", {"fields": fields})
    for fields in (
        {"TITLE": "Gamma", "OPPORTUNITY": 20000.01},  # over the amount range
        {"TITLE": "Omega", "OPPORTUNITY": 15000, "STAGE_ID": "C1:EXECUTING"},  # another stage
        {"TITLE": "Deal", "OPPORTUNITY": 15000},  # title does not end with "a"
        {"TITLE": "Kappa", "OPPORTUNITY": 15000, "TYPE_ID": "SALE"},
        {"TITLE": "Sigma", "OPPORTUNITY": 15000, "ASSIGNED_BY_ID": 2},
    ):
        base = {"TYPE_ID": "COMPLEX", "CATEGORY_ID": 1, "STAGE_ID": "C1:NEW", "IS_MANUAL_OPPORTUNITY": "Y"}
        b24.ok("crm.deal.add", {"fields": {**base, **fields}})
    example = doc("deal_list.json")

    reply = b24.call("crm.deal.list", example["request"])

    assert_like_docs(reply.body, example["response"])
    found = [(d["TITLE"], d["OPPORTUNITY"]) for d in reply.body["result"]]
    assert found == [
        ("Alpha", "19999.99"),
        ("Alpha", "20000.00"),
        ("Beta", "12500.00"),
        ("Delta", "11500.00"),
    ]
    assert reply.body["total"] == 4 and "next" not in reply.body
    assert set(reply.body["result"][0]) == set(example["request"]["SELECT"])


def test_offset_pages_carry_next_and_total_until_the_last_page(b24: B24) -> None:
    for n in range(120):
        b24.ok("crm.lead.add", {"fields": {"TITLE": f"lead {n}"}})

    seen: list[str] = []
    pages: list[tuple[int | None, int]] = []
    start: int | None = 0
    while start is not None:
        body = b24.call("crm.lead.list", {"select": ["ID"], "start": start}).body
        seen += [row["ID"] for row in body["result"]]
        pages.append((body.get("next"), body["total"]))
        start = body.get("next")

    assert pages == [(50, 120), (100, 120), (None, 120)]
    assert seen == [str(i) for i in range(1, 121)]


def test_the_start_minus_one_keyset_walk_reads_everything_without_counting(b24: B24) -> None:
    for n in range(120):
        b24.ok("crm.company.add", {"fields": {"TITLE": f"company {n}"}})

    seen: list[int] = []
    answers: list[dict[str, Any]] = []
    while True:
        body = b24.call(
            "crm.company.list",
            {
                "order": {"ID": "ASC"},
                "filter": {">ID": seen[-1] if seen else 0},
                "select": ["ID"],
                "start": -1,
            },
        ).body
        answers.append(body)
        seen += [int(row["ID"]) for row in body["result"]]
        if len(body["result"]) < 50:
            break

    assert seen == list(range(1, 121))
    assert [len(a["result"]) for a in answers] == [50, 50, 20]
    assert all(a["total"] == 0 and "next" not in a for a in answers)


def test_the_huge_data_example_walks_crm_item_list_with_only_the_selected_fields(b24: B24) -> None:
    for n in range(60):
        b24.ok("crm.lead.add", {"fields": {"TITLE": f"lead {n}"}})
    example = doc("huge_data_request.json")

    first = b24.call("crm.item.list", example["request"]).body
    items = first["result"]["items"]
    second = b24.call("crm.item.list", {**example["request"], "filter": {">id": items[-1]["id"]}}).body

    assert [set(i) for i in items[:1]] == [{"id", "title", "createdTime"}]
    assert (len(items), first["total"], len(second["result"]["items"])) == (50, 0, 10)
    assert second["result"]["items"][0]["id"] == 51


def test_filters_take_the_documented_prefix_operators(b24: B24, clock: ManualClock) -> None:
    ids = [
        b24.ok("crm.company.add", {"fields": {"TITLE": t}}) for t in ("Alpha Ltd", "Beta LLC", "Gamma Ltd")
    ]
    clock.advance(3600)
    b24.ok("crm.company.update", {"id": ids[1], "fields": {"COMMENTS": "touched"}})
    since = b24.ok("crm.company.get", {"id": ids[0]})["DATE_MODIFY"]

    def titles(filters: dict[str, Any]) -> list[str]:
        return [c["TITLE"] for c in b24.ok("crm.company.list", {"filter": filters, "select": ["TITLE"]})]

    assert titles({">DATE_MODIFY": since}) == ["Beta LLC"]
    assert titles({">ID": ids[0]}) == ["Beta LLC", "Gamma Ltd"]
    assert titles({"@ID": [ids[0], ids[2]]}) == ["Alpha Ltd", "Gamma Ltd"]
    assert titles({"!@ID": [ids[0], ids[2]]}) == ["Beta LLC"]
    assert titles({"%TITLE": "ltd"}) == ["Alpha Ltd", "Gamma Ltd"]
    assert titles({"=%TITLE": "B%"}) == ["Beta LLC"]
    assert titles({"!TITLE": "Beta LLC", "<=ID": ids[1]}) == ["Alpha Ltd"]


def test_select_masks_leave_user_fields_and_multi_fields_out_of_star(b24: B24) -> None:
    b24.ok("crm.contact.userfield.add", {"fields": {"FIELD_NAME": "TIER", "USER_TYPE_ID": "string"}})
    b24.ok(
        "crm.contact.add",
        {
            "fields": {
                "NAME": "Ann",
                "UF_CRM_TIER": "gold",
                "PHONE": [{"VALUE": "+7 900 000-00-01", "VALUE_TYPE": "WORK"}],
            }
        },
    )

    star = b24.ok("crm.contact.list", {"select": ["*"]})[0]
    uf_only = b24.ok("crm.contact.list", {"select": ["UF_*"]})[0]
    by_default = b24.ok("crm.contact.list", {})[0]
    with_phone = b24.ok("crm.contact.list", {"select": ["NAME", "PHONE"]})[0]

    assert "UF_CRM_TIER" not in star and "PHONE" not in star and star["NAME"] == "Ann"
    assert uf_only == {"ID": "1", "UF_CRM_TIER": "gold"}
    assert by_default["UF_CRM_TIER"] == "gold" and "PHONE" not in by_default
    assert with_phone["PHONE"] == [
        {"ID": "1", "VALUE_TYPE": "WORK", "VALUE": "+7 900 000-00-01", "TYPE_ID": "PHONE"}
    ]


def test_multi_field_entries_are_added_changed_and_deleted_by_id(b24: B24) -> None:
    phones = [{"VALUE": "+15550001", "VALUE_TYPE": "WORK"}, {"VALUE": "+15550002", "VALUE_TYPE": "HOME"}]
    contact_id = b24.ok("crm.contact.add", {"fields": {"NAME": "Bob", "PHONE": phones}})
    first, second = b24.ok("crm.contact.get", {"id": contact_id})["PHONE"]

    b24.ok(
        "crm.contact.update",
        {
            "id": contact_id,
            "fields": {
                "PHONE": [
                    {"ID": first["ID"], "DELETE": "Y"},
                    {"ID": second["ID"], "VALUE": "+15550003"},
                    {"VALUE": "+15550004"},
                ]
            },
        },
    )

    contact = b24.ok("crm.contact.get", {"id": contact_id})
    assert [(p["VALUE"], p["VALUE_TYPE"]) for p in contact["PHONE"]] == [
        ("+15550003", "HOME"),
        ("+15550004", "WORK"),
    ]
    assert contact["HAS_PHONE"] == "Y" and contact["HAS_EMAIL"] == "N"


def test_form_encoded_and_query_string_calls_mean_the_same_as_json(b24: B24) -> None:
    by_form = b24.ok(
        "crm.company.add", {"fields": {"TITLE": "Form Co", "PHONE": [{"VALUE": "+1"}]}}, how="form"
    )
    listed = b24.ok(
        "crm.company.list", {"filter": {"ID": by_form}, "select": ["TITLE", "PHONE"]}, how="query"
    )

    assert listed[0]["TITLE"] == "Form Co" and listed[0]["PHONE"][0]["VALUE"] == "+1"


def test_bad_ids_and_parameters_answer_the_documented_errors(b24: B24) -> None:
    cases = [
        b24.call("crm.deal.get", {"id": 0}),
        b24.call("crm.deal.update", {"id": 999, "fields": {"TITLE": "x"}}),
        b24.call("crm.deal.list", {"filter": "nope"}),
        b24.call("crm.deal.list", {"order": "nope"}),
        b24.call("crm.deal.add", {"fields": "nope"}),
        b24.call("crm.deal.delete", {}),
    ]

    assert [(c.status, c.body["error"], c.body["error_description"]) for c in cases] == [
        (400, "", "ID is not defined or invalid."),
        (400, "", "Not found"),
        (400, "", "Parameter 'filter' must be array."),
        (400, "", "Parameter 'order' must be array."),
        (400, "", "Parameter 'fields' must be array."),
        (400, "", "ID is not defined or invalid."),
    ]


def test_a_new_deal_gets_the_documented_defaults(b24: B24, clock: ManualClock) -> None:
    deal = b24.ok("crm.deal.get", {"id": b24.ok("crm.deal.add", {"fields": {}})})

    assert deal["TITLE"] == f"Сделка #{deal['ID']}"
    assert (deal["CATEGORY_ID"], deal["STAGE_ID"], deal["OPPORTUNITY"], deal["OPENED"]) == (
        "0",
        "NEW",
        "0.00",
        "Y",
    )
    assert deal["ASSIGNED_BY_ID"] == "1"  # the user calling the method (the webhook's owner)
    assert deal["CLOSEDATE"] == "2026-01-08T00:00:00+03:00"  # creation date plus 7 days


def test_crm_deal_update_does_not_move_a_deal_to_another_funnel(b24: B24) -> None:
    b24.ok("crm.category.add", {"entityTypeId": 2, "fields": {"name": "Partners"}})
    deal_id = b24.ok("crm.deal.add", {"fields": {"TITLE": "stay"}})

    b24.ok("crm.deal.update", {"id": deal_id, "fields": {"CATEGORY_ID": 1, "TITLE": "still here"}})

    deal = b24.ok("crm.deal.get", {"id": deal_id})
    assert (deal["CATEGORY_ID"], deal["STAGE_ID"], deal["TITLE"]) == ("0", "NEW", "still here")


def test_the_documented_duplicate_lookup_finds_contacts_by_phone(b24: B24) -> None:
    example = doc("duplicate_findbycomm.json")
    ids = [
        b24.ok("crm.contact.add", {"fields": {"NAME": n, "PHONE": [{"VALUE": v}]}})
        for n, v in (("a", "8976543"), ("b", "1122-33-55"))
    ]
    b24.ok("crm.lead.add", {"fields": {"TITLE": "same phone", "PHONE": [{"VALUE": "8976543"}]}})

    reply = b24.call("crm.duplicate.findbycomm", example["request"])
    missing = b24.call("crm.duplicate.findbycomm", {"values": ["1"]})

    assert_like_docs(reply.body, example["response"])
    assert reply.body["result"] == {"CONTACT": ids}
    assert (missing.status, missing.body["error"]) == (400, "Communication type is not defined")
    assert b24.ok("crm.duplicate.findbycomm", {"type": "EMAIL", "values": ["x@y.z"]}) == []
