"""Building blocks shared by the config sections: the strict base model, key types, localised
names, time zones, durations and working hours."""

import re
from datetime import time
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator


class Strict(BaseModel):
    """Unknown keys are errors; settings are immutable once loaded; YAML numbers are accepted
    where text is expected (``crm_user_id: 17``).

    Built when first used (``defer_build``): the sections are validated inside ``Settings``, whose one
    build covers them all, so a section's own validator and serializer, built at import, went unused.
    A section's defaults are therefore data (``validated_default``), not instances, which would build
    it."""

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True, defer_build=True)


def _key(value: str) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9_]*", value):
        raise ValueError(f"{value!r} is not a valid key: use lower-case latin letters, digits and '_'")
    return value


# A stable identifier written by the user (manager, curator, tier keys…).
Key = Annotated[str, Field(min_length=1, max_length=32), AfterValidator(_key)]

# A stage key: upper-cased it becomes a CRM status code, so at most 16 characters.
StageKey = Annotated[str, Field(min_length=1, max_length=16), AfterValidator(_key)]

NonEmpty = Annotated[str, Field(min_length=1)]

Locale = Literal["ru", "en"]

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r} (use an IANA name like Europe/Moscow)") from None
    return value


TimeZoneName = Annotated[str, AfterValidator(_zone)]


def _color(value: str) -> str:
    if not re.fullmatch(r"#[0-9A-Fa-f]{6}", value):
        raise ValueError(f"{value!r} is not a colour: use #RRGGBB")
    return value.upper()


Color = Annotated[str, AfterValidator(_color)]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def _duration(value: Any) -> Any:
    """``90`` or ``"90s"`` -> 90.0; ``"5m"`` -> 300.0; ``"2h"``; ``"1d"``."""
    if isinstance(value, bool):  # YAML yes/no/true: pydantic would take it as 1 or 0 seconds
        raise ValueError(f"{value!r} is not a duration: use seconds or 30s / 5m / 2h / 1d")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if not match:
            raise ValueError(f"{value!r} is not a duration: use seconds or 30s / 5m / 2h / 1d")
        return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    return value


# Seconds, written as a number or with a unit.
Duration = Annotated[float, BeforeValidator(_duration), Field(gt=0)]


def _localized(value: Any) -> Any:
    return {"ru": value, "en": value} if isinstance(value, str) else value


class LocalizedName(Strict):
    """A display name per locale. A plain string is used for both locales."""

    ru: str | None = Field(default=None, min_length=1)
    en: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one_at_least(self) -> "LocalizedName":
        if self.ru is None and self.en is None:
            raise ValueError("give a name: a text, or ru: and/or en:")
        return self

    def as_dict(self) -> dict[str, str]:
        return {k: v for k, v in (("ru", self.ru), ("en", self.en)) if v is not None}

    def get(self, locale: str) -> str:
        """The name in ``locale``, falling back to the other one."""
        return (self.ru or self.en or "") if locale == "ru" else (self.en or self.ru or "")


Name = Annotated[LocalizedName, BeforeValidator(_localized)]


def _time_of_day(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError("write a time of day as HH:MM, e.g. '09:00'")
    if isinstance(value, str) and re.fullmatch(r"\d:\d\d(:\d\d)?", value.strip()):
        return "0" + value.strip()
    return value


TimeOfDay = Annotated[time, BeforeValidator(_time_of_day)]


class WorkingHours(Strict):
    """When a person works, in their own time zone: SLA clocks only run inside these hours."""

    days: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS[:5]), min_length=1)
    start: TimeOfDay = time(9, 0)
    end: TimeOfDay = time(18, 0)

    @model_validator(mode="after")
    def _ordered(self) -> "WorkingHours":
        if self.end <= self.start:
            raise ValueError(f"end ({self.end:%H:%M}) must be after start ({self.start:%H:%M})")
        if len(set(self.days)) != len(self.days):
            raise ValueError("days lists a day twice")
        return self

    def weekday_numbers(self) -> frozenset[int]:
        """Monday = 0 … Sunday = 6, as ``datetime.weekday()``."""
        return frozenset(WEEKDAYS.index(d) for d in self.days)
