"""Checking the fields of one partner lead, whether it came as a CSV row or an HTTP JSON body, into a
``LeadFields`` record; every problem is reported with the field it concerns."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from crm_bridge.domain.model import CustomerIdentity

FIELDS: tuple[str, ...] = ("customer_name", "email", "phone", "tax_id", "amount", "comment")
_MAX_LEN = {"customer_name": 255, "email": 254, "phone": 40, "tax_id": 20, "comment": 4000}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SPACES = re.compile(r"[\s\u00a0\u202f']")  # "1 500,50", "1'500.50" as spreadsheets write them


@dataclass(frozen=True, slots=True)
class FieldProblem:
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


@dataclass(frozen=True, slots=True)
class LeadFields:
    """A partner lead's content as typed values; ``customer`` is as given (normalised later)."""

    customer_name: str
    customer: CustomerIdentity
    amount: Decimal
    comment: str = ""


def parse_amount(raw: Any) -> Decimal:
    """``"1 500,50"``, ``"1500.5"``, ``1500`` -> Decimal; ValueError on anything else or negative."""
    if raw is None or raw == "":
        return Decimal("0")
    if isinstance(raw, bool):
        raise ValueError("must be a number")
    if isinstance(raw, int | float):
        text = repr(raw)
    elif isinstance(raw, str):
        text = _SPACES.sub("", raw)
        if "," in text and "." not in text:
            text = text.replace(",", ".")
    else:
        raise ValueError("must be a number")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{raw!r} is not a number (write 1500.50 or 1 500,50)") from None
    if not value.is_finite():
        raise ValueError("must be a finite number")
    if value < 0:
        raise ValueError("must not be negative")
    if value != value.quantize(Decimal("0.01")):
        raise ValueError("at most 2 decimal places")
    return value.quantize(Decimal("0.01"))


def check_lead_fields(values: Mapping[str, Any]) -> tuple[LeadFields | None, list[FieldProblem]]:
    """Validate ``values`` (keys of ``FIELDS``; all optional except customer_name). At least one of
    e-mail, phone or tax id must be given: channel-conflict detection compares those."""
    problems: list[FieldProblem] = []
    text: dict[str, str] = {}
    for name in ("customer_name", "email", "phone", "tax_id", "comment"):
        raw = values.get(name)
        if raw is None:
            text[name] = ""
        elif isinstance(raw, str | int) and not isinstance(raw, bool):
            text[name] = str(raw).strip()
        else:
            problems.append(FieldProblem(name, "must be text"))
            text[name] = ""
        if len(text[name]) > _MAX_LEN[name]:
            problems.append(FieldProblem(name, f"longer than {_MAX_LEN[name]} characters"))
    if not text["customer_name"]:
        problems.append(FieldProblem("customer_name", "is required"))
    if text["email"] and not _EMAIL.match(text["email"]):
        problems.append(FieldProblem("email", "is not an e-mail address"))
    if text["phone"] and sum(ch.isdigit() for ch in text["phone"]) < 7:
        problems.append(FieldProblem("phone", "is not a phone number (too few digits)"))
    if text["tax_id"] and not re.fullmatch(r"\d{10}|\d{12}", re.sub(r"[\s-]", "", text["tax_id"])):
        problems.append(FieldProblem("tax_id", "must be 10 or 12 digits (ИНН)"))
    if not (text["email"] or text["phone"] or text["tax_id"]):
        problems.append(FieldProblem("email", "give at least one of email, phone or tax_id"))
    amount = Decimal("0")
    try:
        amount = parse_amount(values.get("amount"))
    except ValueError as exc:
        problems.append(FieldProblem("amount", str(exc)))
    if problems:
        return None, problems
    customer = CustomerIdentity(email=text["email"], phone=text["phone"], tax_id=text["tax_id"])
    return LeadFields(text["customer_name"], customer, amount, text["comment"]), []
