"""Checking one partner lead's fields, from a CSV row or a JSON body (crm_bridge.services.intake.fields)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crm_bridge.domain.model import CustomerIdentity
from crm_bridge.services.intake.fields import AmountRule, check_lead_fields, parse_amount


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1 500,50", "1500.50"),
        ("1500.5", "1500.50"),
        (1500, "1500.00"),
        ("", "0"),
        (None, "0"),
        ("1\u00a0000", "1000.00"),
        ("2 500 000,5", "2500000.50"),
        ("7.10", "7.10"),
        (12.25, "12.25"),
    ],
)
def test_amounts_are_read_as_spreadsheets_write_them(raw: object, expected: str) -> None:
    assert parse_amount(raw) == Decimal(expected)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("-5", "negative"),
        ("abc", "not a number"),
        (True, "number"),
        ("1.234", "2 decimal places"),
        ("NaN", "not a number"),
        (float("inf"), "finite"),
        ("1e3", "not a number"),
        ("+5", "not a number"),
        ("1 50", "not a number"),
        ("1.500,00", "not a number"),
        ("\u0661\u0662", "not a number"),  # digits of another script
        (1e30, "more than the maximum 10,000,000,000"),
    ],
)
def test_bad_amounts_say_what_is_wrong(raw: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_amount(raw)


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("a" * 38, "'" + "a" * 38 + "'"),  # 40 characters quoted: shown whole
        ("b" * 39, "'" + "b" * 36 + "..."),  # 41: cut to 37 and an ellipsis
    ],
)
def test_a_long_bad_amount_is_quoted_cut_to_forty_characters(raw: str, shown: str) -> None:
    with pytest.raises(ValueError) as error:
        parse_amount(raw)
    assert str(error.value) == f"{shown} is not a number (write 1500.50 or 1 500,50)"


def test_a_crm_keeping_whole_units_and_a_configured_maximum_are_honoured() -> None:
    rule = AmountRule(places=0, maximum=Decimal("5000"))
    assert parse_amount("4 999,00", rule) == Decimal("4999")
    with pytest.raises(ValueError, match="no decimal places"):
        parse_amount("10.5", rule)
    with pytest.raises(ValueError, match=r"more than the maximum 5,000 \(intake.max_amount\)"):
        parse_amount(5001, rule)


def test_a_complete_lead_is_accepted_as_given() -> None:
    fields, problems = check_lead_fields(
        {
            "customer_name": " ООО Ромашка ",
            "email": "Ivan@Example.ru",
            "phone": "8 (900) 123-45-67",
            "tax_id": "7707083893",
            "amount": "100",
            "comment": "срочно",
        }
    )
    assert problems == []
    assert fields is not None
    assert fields.customer_name == "ООО Ромашка"
    assert fields.customer == CustomerIdentity("Ivan@Example.ru", "8 (900) 123-45-67", "7707083893")
    assert fields.amount == Decimal("100.00")


def test_every_problem_is_listed_with_its_field() -> None:
    fields, problems = check_lead_fields(
        {
            "customer_name": "",
            "email": "not-mail",
            "phone": "12",
            "tax_id": "12345",
            "amount": "x",
            "comment": 5.5,
        }
    )
    assert fields is None
    assert [str(p) for p in problems] == [
        "comment: must be text",
        "customer_name: is required",
        "email: is not an e-mail address (expected name@domain.tld)",
        "phone: is not a phone number (expected 8 to 15 digits with the country code)",
        "tax_id: an ИНН has 10 or 12 digits, this one has 5",
        "amount: 'x' is not a number (write 1500.50 or 1 500,50)",
    ]


def test_a_lead_without_any_customer_identity_is_refused() -> None:
    _, problems = check_lead_fields({"customer_name": "Ромашка"})
    assert [str(p) for p in problems] == ["email: give at least one of email, phone or tax_id"]
