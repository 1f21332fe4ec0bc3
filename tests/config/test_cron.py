"""A schedule's ``cron:`` is judged as the daemon's scheduler (APScheduler) would judge it: the same
expressions accepted, the same ones refused with APScheduler's own words, though the plain ones are
recognised without importing APScheduler (crm_bridge.config.cron)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from apscheduler.triggers.cron import CronTrigger  # type: ignore[import-untyped]
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_bridge.config import load_settings
from crm_bridge.config.cron import check_cron
from crm_bridge.errors import ConfigError

CRM = 'crm: {kind: bitrix24, bitrix24: {webhook_url: "${B24_WEBHOOK_URL}"}}\n'
ENV = {"B24_WEBHOOK_URL": "https://example.bitrix24.ru/rest/1/s3cr3t/"}


def apscheduler_verdict(expression: str) -> str:
    try:
        CronTrigger.from_crontab(expression)
    except ValueError as exc:
        return str(exc)
    return "ok"


def our_verdict(expression: str) -> str:
    try:
        check_cron(expression)
    except ValueError as exc:
        return str(exc)
    return "ok"


# Numbers around every field's bounds (0, 1, 6, 7, 12, 13, 23, 24, 31, 32, 59, 60…), with leading zeros.
number = st.sampled_from(["0", "1", "2", "5", "6", "7", "12", "13", "23", "24", "31", "32", "59", "60", "99"])
number = number | number.map(lambda n: "0" + n) | st.integers(0, 100).map(str)
item = st.one_of(
    st.just("*"),
    st.builds("*/{}".format, number),
    number,
    st.builds("{}-{}".format, number, number),
    st.builds("{}-{}/{}".format, number, number, number),  # steps on ranges: APScheduler's to judge
    st.builds("{}/{}".format, number, number),
    st.sampled_from(["mon", "mon-fri", "sun", "jan", "jan-mar", "last", "1st mon", "L", "?", "", "-1", "x"]),
)
field = st.lists(item, min_size=1, max_size=3).map(",".join)
expression = st.lists(field, min_size=4, max_size=6).map(" ".join)


@settings(max_examples=1500, deadline=None)
@given(expression)
def test_every_expression_gets_the_verdict_and_the_words_of_apscheduler(text: str) -> None:
    assert our_verdict(text) == apscheduler_verdict(text)


@pytest.mark.parametrize(
    "text",
    [
        "0 3 * * *",
        "*/15 8-18 * * 0-4",
        "0,30 9,12,17 1,15 1-12 *",
        "59 23 31 12 6",
        "*/59 */23 */30 */11 */6",
        "0 0 ٣ * *",  # a non-latin digit: APScheduler's to judge (it accepts it)
        "0 8 1 * mon-fri",
    ],
)
def test_plain_and_named_expressions_are_accepted(text: str) -> None:
    assert apscheduler_verdict(text) == "ok"
    assert our_verdict(text) == "ok"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "0 25 * * *",
            "Error validating expression '25': the last value (25) is higher than the maximum value (23)",
        ),
        (
            "0 0 0 * *",
            "Error validating expression '0': the first value (0) is lower than the minimum value (1)",
        ),
        (
            "0 0 * * 7",
            "Error validating expression '7': the last value (7) is higher than the maximum value (6)",
        ),
        ("*/0 * * * *", "Increment must be higher than 0"),
        (
            "*/60 * * * *",
            "Error validating expression '*/60': the step value (60) is higher than the total range of the "
            "expression (59)",
        ),
        ("5-3 * * * *", "The minimum value in a range must not be higher than the maximum"),
        ("0 3 * *", "Wrong number of fields; got 4, expected 5"),
        ("1,,2 * * * *", 'Unrecognized expression "" for field "minute"'),
    ],
)
def test_a_wrong_expression_is_refused_in_apschedulers_words(text: str, message: str) -> None:
    assert our_verdict(text) == message


def test_the_config_names_the_key_the_expression_and_apschedulers_reason(
    write_config: Callable[..., Path],
) -> None:
    path = write_config(
        CRM + "schedule:\n  tiers: {cron: '0 25 * * *'}\n  report: {cron: '*/20 6-9 * * 0-4'}\n"
    )

    with pytest.raises(ConfigError) as raised:
        load_settings(path, environ=ENV)

    assert raised.value.problems == [
        "schedule.tiers.cron: '0 25 * * *' is not a cron expression (minute hour day month weekday): "
        "Error validating expression '25': the last value (25) is higher than the maximum value (23)"
    ]


def test_the_default_and_configured_cron_jobs_load(write_config: Callable[..., Path]) -> None:
    path = write_config(CRM + "schedule:\n  report: {cron: '*/20 6-9 * * 0-4'}\n")

    schedule = load_settings(path, environ=ENV).schedule

    assert (schedule.tiers.cron, schedule.report.cron) == ("0 3 * * *", "*/20 6-9 * * 0-4")


@pytest.mark.parametrize(
    "text",
    [
        "0 3 * * *",
        "*/15 8-18 * * 0-4",
        "0,30 9,12,17 1,15 1-12 *",
        "59 23 31 12 6",
        "0 0 1 1 0",
        "*/59 */23 */30 */11 */6",
        "*/1 */1 */1 */1 */1",
        "00 07 01 01 00",
    ],
)
def test_plain_expressions_are_judged_without_loading_apscheduler(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Importing the scheduler's cron trigger costs `crm-bridge validate` a tenth of its time; a schedule
    # of plain expressions must not need it. A None entry in sys.modules makes that import fail.
    monkeypatch.setitem(sys.modules, "apscheduler.triggers.cron", None)

    assert our_verdict(text) == "ok"


@pytest.mark.parametrize(
    "text",
    [
        "0 8 * * mon-fri",
        "0 3 * * * *",
        "0 3 * *",
        "60 * * * *",
        "*/0 * * * *",
        "*/60 * * * *",
        "0 0 */31 * *",
        "0 0 * */12 *",
        "5-3 * * * *",
    ],
)
def test_anything_else_is_left_to_apscheduler(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "apscheduler.triggers.cron", None)

    with pytest.raises(ImportError):
        check_cron(text)
