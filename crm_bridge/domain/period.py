"""Reporting periods: a month, a quarter, a year or a rolling window, as a half-open UTC interval
``[start, end)`` with a key such as ``2026-11``, ``2026-Q4`` or ``2026`` (the config's period keys).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

_KEY = re.compile(r"^(\d{4})(?:-(0[1-9]|1[0-2])|-Q([1-4]))?$")


def _at(day: date, tz: tzinfo) -> datetime:
    """Midnight of ``day`` in ``tz``, as UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True, slots=True)
class Period:
    """``start`` inclusive, ``end`` exclusive, both timezone-aware UTC. ``kind`` is month, quarter,
    year or rolling; ``key`` is how config and reports name it."""

    start: datetime
    end: datetime
    key: str
    kind: str = "custom"

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError(f"period {self.key}: start and end must be timezone-aware")
        if self.end <= self.start:
            raise ValueError(f"period {self.key}: end must be after start")

    @classmethod
    def month(cls, key: str, tz: tzinfo = UTC) -> Period:
        """``Period.month("2026-11")``: November 2026, midnight to midnight in ``tz``."""
        match = _KEY.match(key)
        if not match or not match.group(2):
            raise ValueError(f"{key!r} is not a month: use YYYY-MM, e.g. 2026-11")
        first = date(int(match.group(1)), int(match.group(2)), 1)
        return cls(_at(first, tz), _at(_add_months(first, 1), tz), key, "month")

    @classmethod
    def quarter(cls, key: str, tz: tzinfo = UTC) -> Period:
        """``Period.quarter("2026-Q4")``: October to December 2026."""
        match = _KEY.match(key)
        if not match or not match.group(3):
            raise ValueError(f"{key!r} is not a quarter: use YYYY-Qn, e.g. 2026-Q4")
        first = date(int(match.group(1)), 3 * (int(match.group(3)) - 1) + 1, 1)
        return cls(_at(first, tz), _at(_add_months(first, 3), tz), key, "quarter")

    @classmethod
    def year(cls, key: str, tz: tzinfo = UTC) -> Period:
        match = _KEY.match(key)
        if not match or match.group(2) or match.group(3):
            raise ValueError(f"{key!r} is not a year: use YYYY, e.g. 2026")
        first = date(int(key), 1, 1)
        return cls(_at(first, tz), _at(date(first.year + 1, 1, 1), tz), key, "year")

    @classmethod
    def parse(cls, key: str, tz: tzinfo = UTC) -> Period:
        """A month (``2026-11``), quarter (``2026-Q4``) or year (``2026``) from its key."""
        match = _KEY.match(key)
        if not match:
            raise ValueError(
                f"{key!r} is not a period: use 2026-11 (month), 2026-Q4 (quarter) or 2026 (year)"
            )
        if match.group(2):
            return cls.month(key, tz)
        if match.group(3):
            return cls.quarter(key, tz)
        return cls.year(key, tz)

    @classmethod
    def containing(cls, moment: datetime, kind: str, tz: tzinfo = UTC) -> Period:
        """The month, quarter or year (in ``tz``) that ``moment`` falls in."""
        local = moment.astimezone(tz)
        if kind == "month":
            return cls.month(f"{local.year}-{local.month:02d}", tz)
        if kind == "quarter":
            return cls.quarter(f"{local.year}-Q{(local.month - 1) // 3 + 1}", tz)
        if kind == "year":
            return cls.year(str(local.year), tz)
        raise ValueError(f"period kind must be month, quarter or year, not {kind!r}")

    @classmethod
    def rolling(cls, end: datetime, days: int) -> Period:
        """The ``days`` days up to ``end`` (exclusive), e.g. a tier policy's window."""
        if days < 1:
            raise ValueError("a rolling window needs at least one day")
        end = end.astimezone(UTC)
        return cls(end - timedelta(days=days), end, f"{days}d to {end:%Y-%m-%d %H:%M}", "rolling")

    def contains(self, moment: datetime | None) -> bool:
        return moment is not None and self.start <= moment < self.end

    def previous(self, tz: tzinfo = UTC) -> Period:
        """The period of the same kind just before this one (a rolling window shifts back by its length)."""
        if self.kind in ("month", "quarter", "year"):
            return Period.containing(self.start - timedelta(seconds=1), self.kind, tz)
        return Period(self.start - (self.end - self.start), self.start, f"before {self.key}", self.kind)

    def __str__(self) -> str:
        return self.key
