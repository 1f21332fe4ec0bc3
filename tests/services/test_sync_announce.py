"""What the sync tells people besides syncing (``SyncWatch``): a partner new since the last sync is
announced to its curator (and the head), in the notifier's language; a partner nobody can be told about
is skipped without hiding the ones after it. And the SLA calendar read from the config's text."""

from __future__ import annotations

import logging
from datetime import date, time, timedelta
from typing import Any

import pytest

from crm_bridge.domain.model import Curator
from crm_bridge.errors import ConfigError, StateError, TransientError
from crm_bridge.fake import FakeClock, FakeCRM
from crm_bridge.redaction import redact
from crm_bridge.services.sla import WorkingCalendar
from crm_bridge.services.sync.pull import sync
from crm_bridge.services.sync.watch import SyncWatch
from crm_bridge.store import Store
from crm_bridge.texts import words

PORTAL = "fake:test"
ANNA = Curator("anna", "Анна", "11")
HEAD = Curator("head", "Мария", "1")


class Notifier:
    locale = "ru"

    def __init__(self) -> None:
        self.sent: list[tuple[str, list[Any], str, str]] = []

    def notify(self, event: str, recipients: list[Any], text: str, *, key: str) -> None:
        self.sent.append((event, list(recipients), text, key))


def watch_sync(crm: FakeCRM, store: Store, clock: FakeClock, watch: SyncWatch) -> None:
    clock.advance(60)
    watch.run(lambda: sync(crm, store, PORTAL, now=clock()), clock())


def test_new_partners_are_announced_to_their_curator_in_the_notifiers_language(
    crm: FakeCRM, store: Store, fake_clock: FakeClock
) -> None:
    notifier = Notifier()
    watch = SyncWatch(store, PORTAL, notifier, curators=[ANNA])
    crm.seed_partner("ООО Старый", curator_key="anna")
    watch_sync(crm, store, fake_clock, watch)  # the first sync: everything is new, nothing announced
    assert notifier.sent == []

    orphan = crm.seed_partner("ООО Ничей", curator_key="nobody")  # no curator and no head: nobody to tell
    new = crm.seed_partner("ООО Новый", curator_key="anna")
    watch_sync(crm, store, fake_clock, watch)

    text = words("notify", "ru")["new_partner"].format(name="ООО Новый", id=new.crm_id)
    assert notifier.sent == [("new_partner", [ANNA], text, f"new_partner:{new.crm_id}")]
    assert orphan.crm_id not in {key for *_, key in notifier.sent}


def test_a_partner_without_a_curator_is_told_to_the_head_with_that_said(
    crm: FakeCRM, store: Store, fake_clock: FakeClock
) -> None:
    notifier = Notifier()
    watch = SyncWatch(store, PORTAL, notifier, curators=[ANNA], head=HEAD)
    crm.seed_partner("ООО Старый", curator_key="anna")
    watch_sync(crm, store, fake_clock, watch)
    orphan = crm.seed_partner("ООО Ничей")
    watch_sync(crm, store, fake_clock, watch)

    ru = words("notify", "ru")
    text = ru["new_partner"].format(name="ООО Ничей", id=orphan.crm_id) + ru["new_partner_no_curator"]
    assert notifier.sent == [("new_partner", [HEAD], text, f"new_partner:{orphan.crm_id}")]


def test_working_days_are_read_by_their_first_three_letters_and_holidays_as_dates_or_text() -> None:
    calendar = WorkingCalendar.parse(
        [" Monday", "TUE", "friday "], "09:30", "18:00", [date(2026, 1, 1), "2026-01-02"]
    )
    assert calendar.days == frozenset({0, 1, 4})
    assert (calendar.start, calendar.end) == (time(9, 30), time(18, 0))
    assert calendar.holidays == frozenset({date(2026, 1, 1), date(2026, 1, 2)})


@pytest.mark.parametrize(
    ("days", "start", "end", "message"),
    [
        (
            ["mon", "funday"],
            "09:00",
            "18:00",
            "working_hours.days: use names from mon, tue, wed, thu, fri, sat, sun",
        ),
        (["mon"], "9am", "18:00", "working_hours: '9am'/'18:00' must be HH:MM"),
    ],
)
def test_a_calendar_that_cannot_be_read_names_the_setting(
    days: list[str], start: str, end: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        WorkingCalendar.parse(days, start, end)
    assert str(caught.value) == message


def failing_sync(message: str) -> Any:
    def run() -> Any:
        raise TransientError(message, crm="bitrix24")

    return run


def test_a_failing_sync_is_told_to_the_head_once_per_run_of_failures_and_the_error_still_raised(
    crm: FakeCRM, store: Store, fake_clock: FakeClock
) -> None:
    notifier = Notifier()
    watch = SyncWatch(store, PORTAL, notifier, curators=[ANNA], head=HEAD)
    first = fake_clock()
    leaky = "call to https://x.bitrix24.ru/rest/1/s3cr3tw3bh00k/crm.lead.list failed"
    for minutes in (0, 5, 10):  # three failing runs in a row
        with pytest.raises(TransientError):
            watch.run(failing_sync(leaky), first + timedelta(minutes=minutes))

    # one key for the whole run of failures: the notifier queues a key once (test_notify.py)
    assert {(event, tuple(to), key) for event, to, _, key in notifier.sent} == {
        ("sync_failed", (HEAD,), f"sync_failed:{first.isoformat()}")
    }
    text = notifier.sent[0][2]
    assert text == words("notify", "ru")["sync_failed"].format(error=redact(f"TransientError: {leaky}"))
    assert "s3cr3tw3bh00k" not in text and "TransientError" in text

    watch_sync(crm, store, fake_clock, watch)  # it works again: the run of failures ends
    again = fake_clock() + timedelta(minutes=1)
    with pytest.raises(TransientError):
        watch.run(failing_sync("timeout"), again)
    assert sorted({key for *_, key in notifier.sent}) == [
        f"sync_failed:{first.isoformat()}",
        f"sync_failed:{again.isoformat()}",
    ]


def test_without_a_head_a_failing_sync_is_not_sent_to_anyone_but_still_raised(
    store: Store, fake_clock: FakeClock
) -> None:
    notifier = Notifier()
    watch = SyncWatch(store, PORTAL, notifier, curators=[ANNA])
    with pytest.raises(TransientError):
        watch.run(failing_sync("timeout"), fake_clock())
    assert notifier.sent == []


def test_a_failing_sync_the_store_cannot_record_is_logged_with_the_store_error_redacted(
    store: Store, fake_clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    class DownStore:
        def __getattr__(self, name: str) -> Any:
            return getattr(store, name)

        def get_state(self, portal: str, name: str) -> Any:
            raise StateError("cannot reach the database: password=hunter2 refused")

    notifier = Notifier()
    watch = SyncWatch(DownStore(), PORTAL, notifier, curators=[ANNA], head=HEAD)  # type: ignore[arg-type]
    with caplog.at_level(logging.ERROR, logger="crm_bridge.sync"), pytest.raises(TransientError):
        watch.run(failing_sync("timeout"), fake_clock())
    assert [r.getMessage() for r in caplog.records if r.name == "crm_bridge.sync"] == [
        "sync failed and the failure could not be recorded: cannot reach the database: password=*** refused"
    ]
    assert notifier.sent == []  # nothing recorded, so nothing to tell the head once per run
