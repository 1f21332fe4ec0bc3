"""Working hours and SLA deadlines: "4 working hours from now, in the manager's time zone".

A ``WorkingCalendar`` says which weekdays and which hours of the day count, plus holidays; deadlines
are computed on real instants (UTC inside) with the day windows drawn in the manager's zone, so a
daylight-saving change never shifts a deadline by an hour.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crm_bridge.errors import ConfigError

_MAX_DAYS_SEARCHED = 3 * 366  # a calendar with (almost) no working days must not loop forever
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class WorkingCalendar:
    """Working days (0 = Monday … 6 = Sunday), the working window of each such day as local wall-clock
    times, and local dates that are holidays. ``start == time(0)`` and ``end == time(0)`` mean round the
    clock (a 24x7 SLA)."""

    days: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    start: time = time(9, 0)
    end: time = time(18, 0)
    holidays: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if not self.days or not self.days <= set(range(7)):
            raise ConfigError("working_hours.days: give at least one of mon, tue, wed, thu, fri, sat, sun")
        if self.end <= self.start and not self.is_round_the_clock:
            raise ConfigError(f"working_hours: end {self.end:%H:%M} must be after start {self.start:%H:%M}")

    @property
    def is_round_the_clock(self) -> bool:
        return self.start == time(0) and self.end == time(0)

    @classmethod
    def parse(
        cls, days: Iterable[str], start: str, end: str, holidays: Iterable[date | str] = ()
    ) -> WorkingCalendar:
        """Build from config text: days ``["mon", …]``, ``"09:00"``, ``"18:00"``, ISO holiday dates."""
        try:
            day_set = frozenset(WEEKDAY_NAMES.index(d.strip().lower()[:3]) for d in days)
        except ValueError as exc:
            raise ConfigError(f"working_hours.days: use names from {', '.join(WEEKDAY_NAMES)}") from exc
        try:
            start_t, end_t = time.fromisoformat(start), time.fromisoformat(end)
        except ValueError as exc:
            raise ConfigError(f"working_hours: {start!r}/{end!r} must be HH:MM") from exc
        hol = frozenset(h if isinstance(h, date) else date.fromisoformat(h) for h in holidays)
        return cls(days=day_set, start=start_t, end=end_t, holidays=hol)

    def window(self, day: date, tz: ZoneInfo) -> tuple[datetime, datetime] | None:
        """The working window of local date ``day`` as UTC instants, or None on a day off."""
        if day.weekday() not in self.days or day in self.holidays:
            return None
        opens = datetime.combine(day, self.start, tzinfo=tz)
        if self.is_round_the_clock:
            closes = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
        else:
            closes = datetime.combine(day, self.end, tzinfo=tz)
        return opens.astimezone(UTC), closes.astimezone(UTC)


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name`` (``Europe/Moscow``); ConfigError naming it when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            f"timezone: unknown time zone {name!r} (use an IANA name like Europe/Moscow)"
        ) from exc


def add_working_time(
    start: datetime, duration: timedelta, calendar: WorkingCalendar, tz: ZoneInfo
) -> datetime:
    """The UTC instant when ``duration`` of working time has passed after ``start``.

    Time outside the calendar's windows (nights, weekends, holidays in ``tz``) does not count; a start
    outside a window begins counting when the next window opens. ``start`` must be timezone-aware."""
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    if duration < timedelta(0):
        raise ValueError("duration must not be negative")
    cursor = start.astimezone(UTC)
    remaining = duration
    day = cursor.astimezone(tz).date() - timedelta(days=1)  # a window opened yesterday may still be open
    for _ in range(_MAX_DAYS_SEARCHED):
        win = calendar.window(day, tz)
        day += timedelta(days=1)
        if win is None or win[1] <= cursor:
            continue
        cursor = max(cursor, win[0])
        available = win[1] - cursor
        if remaining <= available:
            return cursor + remaining
        remaining -= available
        cursor = win[1]
    raise ConfigError("working_hours: no working time found within three years; check days and holidays")


def overdue_at(
    deadline: datetime, escalate_after: timedelta, calendar: WorkingCalendar, tz: ZoneInfo
) -> datetime:
    """When a partner lead still untouched at its SLA ``deadline`` is overdue (and escalates):
    ``escalate_after`` more working time past the deadline. The one definition of "overdue"; never
    before ``deadline``, which is what the store's pre-filter (``AssignmentRepository.escalation_due``,
    ``deadline <= now``) relies on."""
    return add_working_time(deadline, escalate_after, calendar, tz)


def is_overdue(
    deadline: datetime, now: datetime, escalate_after: timedelta, calendar: WorkingCalendar, tz: ZoneInfo
) -> bool:
    """Whether an untouched lead with SLA ``deadline`` is overdue at ``now`` (``overdue_at``)."""
    return now >= overdue_at(deadline, escalate_after, calendar, tz)


def working_time_between(a: datetime, b: datetime, calendar: WorkingCalendar, tz: ZoneInfo) -> timedelta:
    """Working time elapsed from ``a`` to ``b`` (zero when ``b`` is not after ``a``)."""
    a, b = a.astimezone(UTC), b.astimezone(UTC)
    total = timedelta(0)
    if b <= a:
        return total
    day = a.astimezone(tz).date() - timedelta(days=1)
    last = b.astimezone(tz).date()
    while day <= last:
        win = calendar.window(day, tz)
        day += timedelta(days=1)
        if win is None:
            continue
        lo, hi = max(a, win[0]), min(b, win[1])
        if hi > lo:
            total += hi - lo
    return total
