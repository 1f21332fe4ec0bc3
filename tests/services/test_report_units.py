"""Money in the report tables is shown in the table's unit (thousands, millions): one decimal place for
millions and up, none below, written the locale's way, and a dash where there is no figure."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from crm_bridge.domain.kpis import DepartmentKpis
from crm_bridge.domain.period import Period
from crm_bridge.services.report.data import ReportData, TierMove, move_text
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


def test_a_tier_change_reads_its_direction_and_the_tiers_names_a_dash_for_none_or_an_unknown_key() -> None:
    at = datetime(2026, 11, 20, tzinfo=UTC)
    data = ReportData(
        Period.month("2026-11"),
        at,
        "ru",
        "RUB",
        DepartmentKpis(),
        (),
        [],
        (),
        {},
        (),
        tier_names={"bronze": "Бронза", "silver": "Серебро"},
    )

    def move(from_tier: str | None, to_tier: str | None, up: bool) -> TierMove:
        return TierMove("7", "ООО Альфа", at, from_tier, to_tier, "выручка", up)

    assert move_text(data, [move("bronze", "silver", True)]) == "↑ Бронза → Серебро"
    assert move_text(data, [move("silver", "bronze", False)]) == "↓ Серебро → Бронза"
    assert move_text(data, [move(None, "bronze", True)]) == "↑ - → Бронза"  # a new partner's first tier
    assert move_text(data, [move("platinum", None, False)]) == "↓ platinum → -"  # a tier no longer configured
    both = [move("bronze", "silver", True), move("silver", "platinum", True)]
    assert move_text(data, both) == "↑ Бронза → Серебро, ↑ Серебро → platinum"
    assert move_text(data, []) == "-"
