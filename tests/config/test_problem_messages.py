"""Every kind of config mistake pydantic reports is told in plain words, one line per key, by
``crm_bridge.config.problems.from_validation_error`` (what `crm-bridge check` prints): choices with a
suggestion or the value given, lengths, counts, patterns, bounds, the validators' own words."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from crm_bridge.config.problems import from_validation_error


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: Literal["either", "both"] = "either"
    level: Literal[1, 2] = 1
    colour: Colour = Colour.RED
    name: Annotated[str, Field(min_length=1)] = "x"
    code: Annotated[str, Field(min_length=3, max_length=5)] = "abc"
    tags: Annotated[list[str], Field(min_length=1, max_length=2)] = ["a"]
    pairs: Annotated[list[str], Field(min_length=2)] = ["a", "b"]
    hexa: Annotated[str, Field(pattern=r"^#[0-9A-F]{6}$")] = "#000000"
    ratio: Annotated[float, Field(gt=0)] = 1.0
    n: int = 0
    day: dt.date = dt.date(2026, 1, 1)
    at: dt.time = dt.time(9)
    wait: dt.timedelta = dt.timedelta(0)
    checked: str = ""
    asserted: int = 0

    @field_validator("checked")
    @classmethod
    def _checked(cls, value: str) -> str:
        if value == "bad":
            raise ValueError("is bad: give a good one")
        return value

    @field_validator("asserted")
    @classmethod
    def _asserted(cls, value: int) -> int:
        if value < 0:  # as a failed `assert` in a validator (pytest rewrites a real one here)
            raise AssertionError("must not be negative")
        return value


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"mode": "eithr"}, "'eithr' is not allowed (did you mean 'either'?)"),
        ({"mode": "zzz"}, "must be one of 'either' or 'both' (got 'zzz')"),
        ({"level": 3}, "must be one of 1 or 2 (got 3)"),
        ({"mode": ["x"]}, "must be one of 'either' or 'both'"),  # a list is not shown back
        ({"colour": "green"}, "must be one of 'red' or 'blue'"),
        ({"name": ""}, "must not be empty"),
        ({"code": "ab"}, "must be at least 3 characters"),
        ({"code": "abcdef"}, "must be at most 5 characters"),
        ({"tags": []}, "must not be empty"),
        ({"tags": ["a", "b", "c"]}, "must have at most 2 item(s)"),
        ({"pairs": ["a"]}, "must have at least 2 item(s)"),
        ({"hexa": "red"}, "must match ^#[0-9A-F]{6}$"),
        ({"ratio": 0}, "must be > 0.0"),
        ({"n": "x"}, "must be a whole number"),
        ({"day": "soon"}, "must be a date (YYYY-MM-DD)"),
        ({"at": "soon"}, "must be a time of day (HH:MM)"),
        (
            {"wait": "soon"},
            "must be a valid timedelta, invalid digit in duration",
        ),  # pydantic's words, "must be"
        ({"checked": "bad"}, "is bad: give a good one"),
        ({"asserted": -1}, "must not be negative"),
        ({"nope": 1}, "unknown key"),
    ],
)
def test_a_mistake_is_told_in_plain_words_at_its_key(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Section.model_validate(data)
    problems = from_validation_error(caught.value, Section, data)
    assert [(p.loc, p.message) for p in problems] == [((next(iter(data)),), message)]
