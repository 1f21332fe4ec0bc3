"""SLA deadlines in working hours and the manager's time zone (crm_bridge.services.sla)."""

from __future__ import annotations

import time as clock
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm_bridge.errors import ConfigError
from crm_bridge.services.sla import (
    WorkingCalendar,
    add_working_time,
    is_overdue,
    overdue_at,
    working_time_between,
    zone,
)

MSK = ZoneInfo("Europe/Moscow")  # UTC+3, no DST
BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS = WorkingCalendar()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_deadline_within_the_same_working_day_is_start_plus_duration() -> None:
    # Tue 2026-11-10 10:00 MSK = 07:00 UTC; +4h -> 14:00 MSK
    assert add_working_time(utc(2026, 11, 10, 7), timedelta(hours=4), WEEKDAYS, MSK) == utc(2026, 11, 10, 11)


def test_lead_arriving_friday_evening_is_due_monday_in_the_managers_zone() -> None:
    # Fri 2026-11-13 17:00 MSK: 1h left on Friday, 3h more from Monday 09:00 -> Mon 12:00 MSK = 09:00 UTC
    start = datetime(2026, 11, 13, 17, 0, tzinfo=MSK)
    assert add_working_time(start, timedelta(hours=4), WEEKDAYS, MSK) == utc(2026, 11, 16, 9)


def test_lead_arriving_at_night_starts_counting_when_the_office_opens() -> None:
    start = datetime(2026, 11, 10, 3, 0, tzinfo=MSK)
    assert add_working_time(start, timedelta(hours=2), WEEKDAYS, MSK) == datetime(
        2026, 11, 10, 11, 0, tzinfo=MSK
    )


def test_the_same_instant_gives_different_deadlines_in_different_time_zones() -> None:
    start = utc(2026, 11, 10, 15)  # 18:00 in Moscow (closed), 16:00 in Berlin (open)
    in_moscow = add_working_time(start, timedelta(hours=1), WEEKDAYS, MSK)
    in_berlin = add_working_time(start, timedelta(hours=1), WEEKDAYS, BERLIN)
    assert in_moscow == datetime(2026, 11, 11, 10, 0, tzinfo=MSK)
    assert in_berlin == datetime(2026, 11, 10, 17, 0, tzinfo=BERLIN)


def test_holidays_are_skipped() -> None:
    cal = WorkingCalendar.parse(["mon", "tue", "wed", "thu", "fri"], "09:00", "18:00", ["2026-11-04"])
    start = datetime(2026, 11, 3, 17, 0, tzinfo=MSK)  # Tuesday, Wednesday is a holiday
    assert add_working_time(start, timedelta(hours=2), cal, MSK) == datetime(2026, 11, 5, 10, 0, tzinfo=MSK)


def test_a_daylight_saving_night_does_not_shift_the_deadline() -> None:
    # Berlin switches to winter time in the night to Sun 2026-10-25; counting resumes Mon 09:00 local
    start = datetime(2026, 10, 23, 17, 0, tzinfo=BERLIN)
    assert add_working_time(start, timedelta(hours=2), WEEKDAYS, BERLIN) == datetime(
        2026, 10, 26, 10, 0, tzinfo=BERLIN
    )


def test_round_the_clock_calendar_counts_every_hour() -> None:
    cal = WorkingCalendar.parse(["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "00:00", "00:00")
    start = utc(2026, 11, 14, 22)  # Saturday night
    assert add_working_time(start, timedelta(hours=30), cal, MSK) == utc(2026, 11, 16, 4)


@pytest.fixture
def server_in_kiritimati(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The machine's own zone at UTC+14: a day ahead of most of the world."""
    monkeypatch.setenv("TZ", "Pacific/Kiritimati")
    clock.tzset()
    yield
    monkeypatch.undo()
    clock.tzset()


@pytest.mark.usefixtures("server_in_kiritimati")
def test_working_time_is_counted_in_the_companys_zone_whatever_the_servers_zone() -> None:
    every_hour = WorkingCalendar.parse(["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "00:00", "00:00")
    pago_pago = ZoneInfo("Pacific/Pago_Pago")  # UTC-11: 25 hours behind the server
    a = utc(2026, 11, 14, 10, 30)  # 23:30 on the 13th in Pago Pago, 00:30 on the 15th on the server
    assert working_time_between(a, a + timedelta(hours=2), every_hour, pago_pago) == timedelta(hours=2)


def test_working_time_between_counts_only_office_hours() -> None:
    a = datetime(2026, 11, 13, 17, 0, tzinfo=MSK)
    b = datetime(2026, 11, 16, 12, 0, tzinfo=MSK)
    assert working_time_between(a, b, WEEKDAYS, MSK) == timedelta(hours=4)
    assert working_time_between(b, a, WEEKDAYS, MSK) == timedelta(0)


@given(
    start=st.datetimes(
        min_value=datetime(2025, 1, 1), max_value=datetime(2028, 1, 1), timezones=st.just(UTC)
    ),
    minutes=st.integers(min_value=0, max_value=60 * 100),
    tz=st.sampled_from([MSK, BERLIN, ZoneInfo("America/New_York"), ZoneInfo("Asia/Vladivostok")]),
)
def test_the_working_time_until_the_deadline_equals_the_sla(
    start: datetime, minutes: int, tz: ZoneInfo
) -> None:
    deadline = add_working_time(start, timedelta(minutes=minutes), WEEKDAYS, tz)
    assert deadline >= start
    assert working_time_between(start, deadline, WEEKDAYS, tz) == timedelta(minutes=minutes)
    local = deadline.astimezone(tz)
    if minutes:
        assert local.weekday() < 5
        assert time(9) < local.time() <= time(18)


def test_bad_calendar_and_zone_are_config_errors_naming_the_problem() -> None:
    with pytest.raises(ConfigError, match="working_hours.days"):
        WorkingCalendar.parse(["monday", "funday"], "09:00", "18:00")
    with pytest.raises(ConfigError, match="end 09:00 must be after start 18:00"):
        WorkingCalendar.parse(["mon"], "18:00", "09:00")
    with pytest.raises(ConfigError, match="Mars/Olympus"):
        zone("Mars/Olympus")


def test_naive_start_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        add_working_time(datetime(2026, 11, 10, 9), timedelta(hours=1), WEEKDAYS, MSK)


def test_holiday_dates_are_local_dates() -> None:
    cal = WorkingCalendar(holidays=frozenset({date(2026, 11, 10)}))
    assert cal.window(date(2026, 11, 10), MSK) is None
    assert cal.window(date(2026, 11, 11), MSK) == (utc(2026, 11, 11, 6), utc(2026, 11, 11, 15))


def test_a_lead_is_overdue_once_the_escalation_working_time_after_its_deadline_has_passed() -> None:
    office = WorkingCalendar()  # Monday to Friday, 9:00-18:00
    moscow = zone("Europe/Moscow")
    deadline = datetime(2026, 11, 6, 14, 0, tzinfo=UTC)  # Friday 17:00 in Moscow, an hour before closing
    assert overdue_at(deadline, timedelta(hours=2), office, moscow) == datetime(2026, 11, 9, 7, 0, tzinfo=UTC)
    assert not is_overdue(
        deadline, datetime(2026, 11, 8, 12, 0, tzinfo=UTC), timedelta(hours=2), office, moscow
    )
    assert is_overdue(deadline, deadline, timedelta(0), office, moscow)  # at the deadline itself
    assert not is_overdue(deadline, deadline - timedelta(seconds=1), timedelta(0), office, moscow)
