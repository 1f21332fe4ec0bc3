"""The value types config keys share, as an admin writes them: names per locale, durations with a
unit, times of day, colours."""

from __future__ import annotations

from datetime import time
from typing import Any

import pytest
from pydantic import ValidationError

from crm_bridge.config.common import Color, Duration, Name, Strict, TimeOfDay


class Values(Strict):  # as every config section: unknown keys refused, not strict on types
    name: Name | None = None
    wait: Duration | None = None
    at: TimeOfDay | None = None
    colour: Color | None = None


def test_a_name_given_for_one_locale_is_used_for_the_other_too() -> None:
    both = Values.model_validate({"name": "Партнёры"}).name
    assert both is not None and both.as_dict() == {"ru": "Партнёры", "en": "Партнёры"}
    ru_only = Values.model_validate({"name": {"ru": "Партнёры"}}).name
    assert ru_only is not None and (ru_only.get("ru"), ru_only.get("en")) == ("Партнёры", "Партнёры")
    assert ru_only.as_dict() == {"ru": "Партнёры"}
    en_only = Values.model_validate({"name": {"en": "Partners"}}).name
    assert en_only is not None and (en_only.get("ru"), en_only.get("en")) == ("Partners", "Partners")
    assert en_only.as_dict() == {"en": "Partners"}
    two = Values.model_validate({"name": {"ru": "Партнёры", "en": "Partners"}}).name
    assert two is not None and (two.get("ru"), two.get("en"), two.get("de")) == (
        "Партнёры",
        "Partners",
        "Partners",
    )


@pytest.mark.parametrize(
    ("written", "seconds"),
    [
        (30, 30.0),
        (1.5, 1.5),
        ("90", 90.0),
        ("90s", 90.0),
        ("5m", 300.0),
        (" 1.5 h ", 5400.0),
        ("1d", 86400.0),
    ],
)
def test_a_duration_is_seconds_or_a_number_with_a_unit(written: Any, seconds: float) -> None:
    assert Values.model_validate({"wait": written}).wait == seconds


def test_a_duration_that_is_not_one_is_refused_with_the_forms_allowed() -> None:
    with pytest.raises(ValidationError, match="'soon' is not a duration: use seconds or 30s / 5m / 2h / 1d"):
        Values.model_validate({"wait": "soon"})
    with pytest.raises(ValidationError, match="True is not a duration"):
        Values.model_validate({"wait": True})  # YAML `yes`: not one second


def test_a_time_of_day_may_drop_the_leading_zero_but_not_be_a_number() -> None:
    assert Values.model_validate({"at": "9:05"}).at == time(9, 5)
    assert Values.model_validate({"at": " 9:05:30 "}).at == time(9, 5, 30)
    assert Values.model_validate({"at": "18:00"}).at == time(18, 0)
    with pytest.raises(ValidationError, match="write a time of day as HH:MM, e.g. '09:00'"):
        Values.model_validate({"at": 900})


def test_a_colour_is_hash_and_six_hex_digits_kept_upper_case() -> None:
    assert Values.model_validate({"colour": "#abcdef"}).colour == "#ABCDEF"
    for bad in ("red", "#abcdef1", "abcdef"):
        with pytest.raises(ValidationError, match=f"'{bad}' is not a colour: use #RRGGBB"):
            Values.model_validate({"colour": bad})
