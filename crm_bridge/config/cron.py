"""Checking a ``cron:`` expression of the schedule (5 fields: minute hour day month weekday).

The daemon runs cron jobs with APScheduler (``CronTrigger.from_crontab``), so APScheduler is the judge
of what a valid expression is and its words are the error message. Importing its trigger module also
imports asyncio, though, which is a tenth of what ``crm-bridge validate`` costs; so the plain
expressions almost every schedule uses (``0 3 * * *``, ``*/15 8-18 * * 1,3``) are recognised here, and
only what this does not recognise (names like ``mon-fri``, steps on ranges, ``last``, anything wrong)
is handed to APScheduler. What is recognised here is a subset of what APScheduler accepts (the same
bounds, checked the way its ``RangeExpression`` and ``AllExpression`` check them):
tests/config/test_cron.py holds the two to agreement.
"""

from __future__ import annotations

import re

# The five crontab fields with APScheduler's bounds (apscheduler.triggers.cron.fields MIN/MAX_VALUES;
# its day of week counts 0 = Monday … 6 = Sunday, and there is no 7).
_FIELDS: tuple[tuple[int, int], ...] = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))
_ITEM = re.compile(r"\*(?:/([0-9]+))?|([0-9]+)(?:-([0-9]+))?")


def check_cron(expression: str) -> None:
    """Raise ValueError with APScheduler's own message when it would refuse ``expression``."""
    if not _plain(expression):
        from apscheduler.triggers.cron import CronTrigger  # type: ignore[import-untyped]

        CronTrigger.from_crontab(expression)


def _plain(expression: str) -> bool:
    """True when ``expression`` is five fields of ``*``, ``*/step``, ``n`` and ``n-m`` lists, all in
    range: accepted by APScheduler as it stands. False means "ask APScheduler", not "invalid"."""
    fields = expression.split()
    return len(fields) == len(_FIELDS) and all(
        _plain_field(field, low, high) for field, (low, high) in zip(fields, _FIELDS, strict=True)
    )


def _plain_field(field: str, low: int, high: int) -> bool:
    for item in field.split(","):
        match = _ITEM.fullmatch(item)
        if match is None:
            return False
        step, first, last = match.groups()
        if first is None:  # "*" or "*/step": the step must fit the field's whole range
            if step is not None and not 0 < int(step) <= high - low:
                return False
        elif not low <= int(first) <= int(last or first) <= high:
            return False
    return True
