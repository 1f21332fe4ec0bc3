"""The per-method operating-time budget (budget.py) at its documented defaults, and how the PHP-flavoured
answers are read (wire.py: "Y"/"N" flags, empty maps sent as [], labels per language), seen through the
users and layout the adapter reports."""

from __future__ import annotations

from typing import Any

import pytest
import responses
from b24_wire_support import HOOK, TIME, _adapter, _batch

from crm_bridge.errors import PermissionDenied
from crm_bridge.http import MemoryLedger
from crm_bridge.ports import CrmUser
from crm_bridge_bitrix24.budget import OperatingBudget
from crm_bridge_bitrix24.wire import BatchBody, Category, ErrorBody, Status, User, UserField


def test_the_default_budget_allows_ninety_percent_of_480_seconds_per_ten_minutes() -> None:
    budget = OperatingBudget()
    budget.record("crm.deal.list", 431.0, now=1000.0)
    assert budget.wait_for({"crm.deal.list"}, now=1000.0) == 0.0
    budget.record("crm.deal.list", 1.0, now=1010.0)
    assert budget.wait_for({"crm.deal.list"}, now=1010.0) == pytest.approx(590.0)  # 1000 + 600 - 1010
    assert budget.wait_for({"crm.deal.list", "crm.deal.add"}, now=1500.0) == pytest.approx(100.0)
    assert budget.wait_for({"crm.deal.list"}, now=1600.0) == 0.0


def test_the_seconds_of_one_answer_add_up_per_method() -> None:
    budget = OperatingBudget(limit=100.0, headroom=1.0)
    budget.record_all([("m", 60.0, 0.0, None), ("m", 40.0, 0.0, None), ("n", 10.0, 0.0, None)], now=0.0)
    assert budget.wait_for({"m"}, now=0.0) == pytest.approx(600.0)
    assert budget.wait_for({"n"}, now=0.0) == 0.0


def test_the_servers_report_blocks_only_near_the_limit_and_until_its_reset() -> None:
    budget = OperatingBudget()
    assert budget.reset_at("m") is None
    budget.record_server("m", operating=100.0, reset_at=2000.0)
    assert budget.reset_at("m") == 2000.0
    assert budget.wait_for({"m"}, now=1900.0) == 0.0
    budget.record_server("m", operating=432.0, reset_at=2000.0)
    assert budget.wait_for({"m"}, now=1900.0) == pytest.approx(100.0)
    budget.record_server("m", operating=100.0, reset_at=2000.0)  # same reset, below the limit: not news
    assert budget.wait_for({"m"}, now=1900.0) == pytest.approx(100.0)
    assert budget.wait_for({"m"}, now=2000.0) == 0.0
    budget.record_server("m", operating=470.0, reset_at=None)  # no reset time: nothing to go by
    assert budget.reset_at("m") == 2000.0


def test_the_servers_report_spends_none_of_the_methods_seconds() -> None:
    budget = OperatingBudget(limit=10.0, headroom=1.0)
    budget.record("m", 9.5, now=1000.0)
    budget.record_server("m", operating=0.0, reset_at=1500.0)
    assert budget.wait_for({"m"}, now=1000.0) == 0.0  # still the 9.5 s we counted, under the 10 s
    budget.record("m", 0.5, now=1001.0)
    assert budget.wait_for({"m"}, now=1001.0) == pytest.approx(599.0)


def test_portals_sharing_a_ledger_keep_their_own_windows() -> None:
    ledger = MemoryLedger()
    one = OperatingBudget(limit=10.0, headroom=1.0, ledger=ledger, key="bitrix24:one")
    two = OperatingBudget(limit=10.0, headroom=1.0, ledger=ledger, key="bitrix24:two")
    one.record("m", 10.0, now=0.0)
    assert one.wait_for({"m"}, now=0.0) == pytest.approx(600.0)
    assert two.wait_for({"m"}, now=0.0) == 0.0
    assert OperatingBudget(limit=10.0, headroom=1.0, ledger=ledger, key="bitrix24:one").wait_for(
        {"m"}, 1.0
    ) == (pytest.approx(599.0))


@responses.activate
def test_users_are_named_by_their_names_else_by_their_id_and_keep_their_state() -> None:
    rows: list[dict[str, Any]] = [
        {"ID": "1", "ACTIVE": "Y", "NAME": "Anna", "LAST_NAME": None, "EMAIL": "anna@x.ru"},
        {"ID": "2", "ACTIVE": "N", "NAME": "", "LAST_NAME": "Petrov"},
        {"ID": "3", "ACTIVE": False, "NAME": None},
        {"ID": "4", "ACTIVE": "true"},
        {"ID": "5"},
    ]
    responses.post(HOOK + "user.get", json={"result": rows, "total": 5, "time": TIME})

    assert _adapter().list_users() == [
        CrmUser("1", "Anna", "anna@x.ru", True),
        CrmUser("2", "Petrov", "", False),
        CrmUser("3", "user 3", "", False),
        CrmUser("4", "user 4", "", True),
        CrmUser("5", "user 5", "", True),
    ]
    assert len(responses.calls) == 1


@responses.activate
def test_a_later_page_of_users_that_fails_fails_the_listing() -> None:
    responses.post(HOOK + "user.get", json={"result": [{"ID": "1"}] * 50, "total": 51, "time": TIME})
    responses.post(
        HOOK + "batch", json=_batch({}, {"c0": {"error": "ACCESS_DENIED", "error_description": ""}})
    )
    with pytest.raises(PermissionDenied):
        _adapter().list_users()


@pytest.mark.parametrize(
    ("flag", "expected"),
    [
        ("Y", True),
        ("y", True),
        ("1", True),
        (1, True),
        (True, True),
        ("N", False),
        ("", False),
        (None, False),
        ("true", False),
    ],
)
def test_yes_no_flags_of_the_crm_payloads(flag: Any, expected: bool) -> None:
    assert Category.model_validate({"id": 1, "name": "x", "isDefault": flag}).is_default is expected
    status = {"ID": 1, "ENTITY_ID": "DEAL_STAGE", "STATUS_ID": "NEW", "SYSTEM": flag}
    assert Status.model_validate(status).system is expected
    uf = {"ID": 1, "FIELD_NAME": "UF_CRM_X", "USER_TYPE_ID": "string", "MULTIPLE": flag}
    assert UserField.model_validate(uf).multiple is expected
    item = {
        "ID": 1,
        "FIELD_NAME": "UF_CRM_X",
        "USER_TYPE_ID": "enumeration",
        "LIST": [{"ID": 3, "DEF": flag}],
    }
    assert UserField.model_validate(item).items[0].default is expected


def test_a_status_row_reads_empty_values_as_absent() -> None:
    row = {
        "ID": "4",
        "ENTITY_ID": "DEAL_STAGE_7",
        "STATUS_ID": "C7:NEW",
        "SEMANTICS": "",
        "COLOR": None,
        "CATEGORY_ID": "",
    }
    status = Status.model_validate(row)
    assert (status.semantics, status.color, status.category_id, status.sort, status.name) == (
        None,
        "",
        None,
        10,
        "",
    )
    won = Status.model_validate(
        {**row, "SEMANTICS": "S", "COLOR": "#00FF00", "CATEGORY_ID": "7", "SORT": "70"}
    )
    assert (won.semantics, won.color, won.category_id, won.sort) == ("S", "#00FF00", 7, 70)


def test_a_funnel_row_reads_its_origin_marks_as_text() -> None:
    category = Category.model_validate({"id": "9", "name": "Leads", "originId": None, "originatorId": 15})
    assert (category.origin_id, category.originator_id, category.sort, category.entity_type_id) == (
        "",
        "15",
        500,
        2,
    )


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ({"en": "Tier", "ru": "Уровень"}, "Tier"),
        ({"en": "", "ru": "Уровень"}, "Уровень"),
        ({"de": "Stufe", "ru": "Уровень", "en": ""}, "Уровень"),
        ({"de": "Stufe", "fr": ""}, "Stufe"),
        ({"de": "", "fr": "Niveau"}, "Niveau"),
        ({}, ""),
        (None, ""),
        (7, "7"),
    ],
)
def test_a_field_label_is_the_english_one_else_russian_else_any(label: Any, expected: str) -> None:
    uf = {"ID": 1, "FIELD_NAME": "UF_CRM_X", "USER_TYPE_ID": "string", "EDIT_FORM_LABEL": label}
    assert UserField.model_validate(uf).edit_form_label == expected


@pytest.mark.parametrize("items", [None, "", {}])
def test_a_field_without_items_has_none(items: Any) -> None:
    uf = {"ID": 1, "FIELD_NAME": "UF_CRM_X", "USER_TYPE_ID": "string", "LIST": items, "XML_ID": None}
    parsed = UserField.model_validate(uf)
    assert parsed.items == [] and parsed.xml_id == ""


def test_empty_maps_sent_as_lists_are_read_as_maps() -> None:
    body = BatchBody.model_validate(
        {"result": [["a"], ["b"]], "result_error": [], "result_total": None, "result_next": {"c0": 50}}
    )
    assert body.result == {"0": ["a"], "1": ["b"]}
    assert (body.result_error, body.result_total, body.result_next) == ({}, {}, {"c0": 50})


def test_an_error_code_is_always_text() -> None:
    assert ErrorBody.model_validate({"error": None}).error == ""
    assert ErrorBody.model_validate({"error": 500, "error_description": "x"}).error == "500"
    assert User.model_validate({"ID": 3, "EMAIL": None}).email == ""
