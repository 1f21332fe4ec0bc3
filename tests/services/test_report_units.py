"""Money in the report tables is shown in the table's unit (thousands, millions): one decimal place for
millions and up, none below, written the locale's way, and a dash where there is no figure."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crm_bridge.services.report.text import in_unit

MILLION, THOUSAND = Decimal(10**6), Decimal(1000)


@pytest.mark.parametrize(
    ("value", "unit", "locale", "shown"),
    [
        (Decimal(2_540_000), MILLION, "ru", "2,5"),
        (Decimal(2_540_000), MILLION, "en", "2.5"),
        (Decimal(999_999), MILLION, "en", "1.0"),
        (Decimal(10**7), Decimal(10**7), "en", "1.0"),  # ten millions and up: still one place
        (Decimal(125_400), THOUSAND, "en", "125"),
        (Decimal(1_250_400), THOUSAND, "ru", "1 250"),
        (Decimal(1234), Decimal(1), "ru", "1 234"),
        (None, THOUSAND, "en", "-"),
        (None, MILLION, "ru", "-"),
    ],
)
def test_an_amount_is_shown_in_the_tables_unit(
    value: Decimal | None, unit: Decimal, locale: str, shown: str
) -> None:
    assert in_unit(value, unit, locale) == shown
