"""Checking the fields of one partner lead, whether it came as a CSV row, an HTTP JSON body, the
Telegram bot's dialogue or the portal's form, into a ``LeadFields`` record; every problem is reported
with the field it concerns. The e-mail, phone and tax id rules are the domain's
(``domain.registration.identity_problems``), so a lead is refused for one reason on every path."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from crm_bridge.domain.model import CustomerIdentity
from crm_bridge.domain.registration import identity_problems

FIELDS: tuple[str, ...] = ("customer_name", "email", "phone", "tax_id", "amount", "comment")
_MAX_LEN = {"customer_name": 255, "email": 254, "phone": 40, "tax_id": 20, "comment": 4000}
# Plain decimals as spreadsheets write them: "1500.50", "1500,5", "1 500 000,50" (spaces, also no-break
# ones, between groups of three digits). Nothing else: no exponent, sign, or "1,500.50".
_PLAIN = re.compile(r"(?:[0-9]{1,3}(?:[ \u00a0\u202f][0-9]{3})+|[0-9]+)(?:[.,]([0-9]+))?")
_GROUP_SPACES = re.compile(r"[ \u00a0\u202f]")
DEFAULT_MAX_AMOUNT = Decimal("10000000000")


@dataclass(frozen=True, slots=True)
class AmountRule:
    """How a lead's amount may look: at most ``places`` decimal places (the CRM's money fields) and at
    most ``maximum`` (``intake.max_amount``; the CRM keeps no more digits reliably, and a larger
    amount is a typo)."""

    places: int = 2
    maximum: Decimal = DEFAULT_MAX_AMOUNT


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


def parse_amount(raw: Any, rule: AmountRule = AmountRule()) -> Decimal:
    """``"1 500,50"``, ``"1500.5"``, ``1500`` -> Decimal; ValueError saying what is wrong on anything
    else: not a plain decimal, negative, too many decimal places, above the maximum."""
    if raw is None or raw == "":
        return Decimal("0")
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise ValueError("must be a number")
    if isinstance(raw, float) and not math.isfinite(raw):
        raise ValueError("must be a finite number")
    if isinstance(raw, str):
        text = raw.strip()
    else:  # a JSON number: its shortest decimal form, without an exponent
        text = format(Decimal(repr(raw)), "f")
    if text.startswith("-") and _PLAIN.fullmatch(text[1:]) is not None:
        raise ValueError("must not be negative")
    match = _PLAIN.fullmatch(text)
    if match is None:
        raise ValueError(f"{_shown(raw)} is not a number (write 1500.50 or 1 500,50)")
    value = Decimal(_GROUP_SPACES.sub("", text).replace(",", "."))
    fraction = (match.group(1) or "").rstrip("0")
    if len(fraction) > rule.places:
        places = "no decimal places" if rule.places == 0 else f"at most {rule.places} decimal places"
        raise ValueError(f"{_shown(raw)}: {places}")
    if value > rule.maximum:
        raise ValueError(f"{_shown(raw)} is more than the maximum {rule.maximum:,f} (intake.max_amount)")
    return value.quantize(Decimal(1).scaleb(-rule.places))


def _shown(raw: Any) -> str:
    text = repr(raw)
    return text if len(text) <= 40 else text[:37] + "..."


def check_lead_fields(
    values: Mapping[str, Any], amount_rule: AmountRule = AmountRule(), *, country_code: str = "+7"
) -> tuple[LeadFields | None, list[FieldProblem]]:
    """Validate ``values`` (keys of ``FIELDS``; all optional except customer_name). At least one of
    e-mail, phone or tax id must be given: channel-conflict detection compares those. A phone without
    ``+`` gets ``country_code`` (``intake.default_phone_country_code``). Services call it through
    ``IntakeService.check_fields``, which passes the configured rules."""
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
    given = CustomerIdentity(email=text["email"], phone=text["phone"], tax_id=text["tax_id"])
    for bad in identity_problems(given, country_code):
        problems.append(FieldProblem(bad.field, bad.problem))
    if not (text["email"] or text["phone"] or text["tax_id"]):
        problems.append(FieldProblem("email", "give at least one of email, phone or tax_id"))
    amount = Decimal("0")
    try:
        amount = parse_amount(values.get("amount"), amount_rule)
    except ValueError as exc:
        problems.append(FieldProblem("amount", str(exc)))
    if problems:
        return None, problems
    return LeadFields(text["customer_name"], given, amount, text["comment"]), []
