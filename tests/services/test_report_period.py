"""Which period a scheduled report covers (``reports.period``), read in the company's time zone: the
month or quarter that has just ended, or the month under way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crm_bridge.services.report.data import default_period

MSK = "Europe/Moscow"
MID_NOVEMBER = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
# 22:30 UTC on 30 November is 01:30 on 1 December in Moscow: the company's December has begun
MOSCOW_DECEMBER = datetime(2026, 11, 30, 22, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "which", "key", "start_local"),
    [
        (MID_NOVEMBER, "previous_month", "2026-10", datetime(2026, 10, 1)),
        (MID_NOVEMBER, "previous_quarter", "2026-Q3", datetime(2026, 7, 1)),
        (MID_NOVEMBER, "current_month", "2026-11", datetime(2026, 11, 1)),
        (MOSCOW_DECEMBER, "previous_month", "2026-11", datetime(2026, 11, 1)),
        (MOSCOW_DECEMBER, "current_month", "2026-12", datetime(2026, 12, 1)),
        (MOSCOW_DECEMBER, "previous_quarter", "2026-Q3", datetime(2026, 7, 1)),
        (datetime(2027, 1, 10, tzinfo=UTC), "previous_quarter", "2026-Q4", datetime(2026, 10, 1)),
    ],
)
def test_the_report_covers_the_period_just_ended_or_under_way_in_the_companys_zone(
    now: datetime, which: str, key: str, start_local: datetime
) -> None:
    period = default_period(now, MSK, which)

    assert period.key == key
    assert period.start == start_local.replace(tzinfo=UTC) - timedelta(hours=3)  # Moscow is UTC+3


def test_without_a_setting_the_report_covers_the_previous_month() -> None:
    assert default_period(MOSCOW_DECEMBER, MSK).key == "2026-11"
    assert default_period(MOSCOW_DECEMBER, "UTC").key == "2026-10"  # still November in UTC
