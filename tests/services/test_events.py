"""The CRM event path in-process: the receiver behind ``POST /v1/events/<token>`` (``EventIntake``:
token, the adapter's checks, the queue, the counters) and the worker (``EventWorker``: pull, coalesce
the queued events into one sync of the touched entities, distribute, mark processed, purge)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crm_bridge.errors import EventRefused
from crm_bridge.ports import CrmEvent, Entity, InboundRequest
from crm_bridge.services.events import EventAnswer, EventIntake, EventWorker
from crm_bridge.services.sync.pull import EntitySync, SyncResult
from crm_bridge.store import Store
from crm_bridge.store.events import EventQueueRepository

PORTAL = "fake:test"
T0 = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def event(entity: Entity | None, crm_id: str, key: str | None = None) -> CrmEvent:
    return CrmEvent("update", entity, crm_id, key or f"{entity}:{crm_id}")


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class Receiver:
    def __init__(self, events: list[CrmEvent] | None = None, refuse: EventRefused | None = None) -> None:
        self.events, self.refuse = events or [], refuse
        self.requests: list[InboundRequest] = []

    def receive_events(self, request: InboundRequest) -> list[CrmEvent]:
        self.requests.append(request)
        if self.refuse is not None:
            raise self.refuse
        return self.events


class Counter:
    def __init__(self) -> None:
        self.received: list[tuple[str, int]] = []
        self.refused: list[tuple[str, str, int]] = []

    def crm_events_received(self, crm: str, count: int) -> None:
        self.received.append((crm, count))

    def crm_events_refused(self, crm: str, reason: str, count: int = 1) -> None:
        self.refused.append((crm, reason, count))


def intake(store: Store, receiver: Receiver, **kw: Any) -> EventIntake:
    kw.setdefault("metrics", Counter())
    return EventIntake(
        receiver, EventQueueRepository(store.engine), PORTAL, "fakecrm", "s3cret", Clock(), **kw
    )


def test_the_path_token_must_match_before_the_adapter_is_asked(store: Store) -> None:
    receiver = Receiver([event(Entity.LEAD, "1")])
    gate = intake(store, receiver)

    for token in ("wrong", "", "s3cret "):
        answer = gate.receive(token, "POST", "/v1/events/x", {}, b"{}")
        assert answer == EventAnswer(401, {"error": "token", "message": "unknown event receiver token"})
    assert receiver.requests == []
    assert gate.metrics.refused == [("fakecrm", "token", 1)] * 3  # type: ignore[union-attr]
    closed = intake(store, receiver, metrics=None)
    closed.token = ""
    assert closed.receive("", "POST", "/v1/events/", {}, b"{}").status == 401
    assert EventQueueRepository(store.engine).count_pending(PORTAL) == 0


def test_events_are_queued_once_and_redeliveries_counted_as_duplicates(store: Store) -> None:
    events = [event(Entity.LEAD, "1"), event(Entity.DEAL, "2")]
    gate = intake(store, Receiver(events))

    assert gate.receive("s3cret", "POST", "/v1/events/s3cret", {}, b"{}") == EventAnswer(
        200, {"accepted": 2, "new": 2}
    )
    assert gate.receive("s3cret", "POST", "/v1/events/s3cret", {}, b"{}") == EventAnswer(
        200, {"accepted": 2, "new": 0}
    )
    assert gate.metrics.received == [("fakecrm", 2)]  # type: ignore[union-attr]
    assert gate.metrics.refused == [("fakecrm", "duplicate", 2)]  # type: ignore[union-attr]
    assert EventQueueRepository(store.engine).count_pending(PORTAL) == 2
    partly = intake(store, Receiver([event(Entity.LEAD, "1"), event(Entity.LEAD, "3")]))
    assert partly.receive("s3cret", "POST", "/p", {}, b"").body == {"accepted": 2, "new": 1}
    assert partly.metrics.received == [("fakecrm", 1)]  # type: ignore[union-attr]
    assert partly.metrics.refused == [("fakecrm", "duplicate", 1)]  # type: ignore[union-attr]
    quiet = intake(store, Receiver([event(Entity.LEAD, "1"), event(Entity.LEAD, "4")]), metrics=None)
    assert quiet.receive("s3cret", "POST", "/p", {}, b"").body == {"accepted": 2, "new": 1}


def test_an_empty_delivery_counts_nothing(store: Store) -> None:
    gate = intake(store, Receiver([]))
    assert gate.receive("s3cret", "POST", "/p", {}, b"").body == {"accepted": 0, "new": 0}
    assert gate.metrics.received == [] and gate.metrics.refused == []  # type: ignore[union-attr]


def test_the_adapters_refusal_is_answered_with_its_status_and_reason(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    refuse = EventRefused(403, "account", "another account")
    gate = intake(store, Receiver([event(Entity.LEAD, "1")], refuse=refuse))

    with caplog.at_level(logging.WARNING, logger="crm_bridge.events"):
        answer = gate.receive("s3cret", "POST", "/v1/events/s3cret", {}, b"{}")

    assert [r.getMessage() for r in caplog.records if r.name == "crm_bridge.events"] == [
        "fakecrm event request refused (account): another account"
    ]

    assert answer == EventAnswer(403, {"error": "account", "message": "another account"})
    assert gate.metrics.refused == [("fakecrm", "account", 1)]  # type: ignore[union-attr]
    assert EventQueueRepository(store.engine).count_pending(PORTAL) == 0
    silent = intake(store, Receiver(refuse=refuse), metrics=None)
    assert silent.receive("s3cret", "POST", "/p", {}, b"").status == 403


@pytest.mark.parametrize(
    ("public_url", "headers", "url"),
    [
        ("https://bridge.example.ru/", {}, "https://bridge.example.ru/v1/events/s3cret"),
        (
            "https://bridge.example.ru",
            {"x-crm-bridge-url": "https://x/"},
            "https://bridge.example.ru/v1/events/s3cret",
        ),
        (
            None,
            {"x-crm-bridge-url": "https://proxy.example.ru/v1/events/s3cret"},
            "https://proxy.example.ru/v1/events/s3cret",
        ),
        (None, {}, "/v1/events/s3cret"),
        ("", {}, "/v1/events/s3cret"),
        ("https://bridge.example.ru/hooksX//", {}, "https://bridge.example.ru/hooksX/v1/events/s3cret"),
    ],
)
def test_the_adapter_checks_the_url_the_crm_posted_to(
    store: Store, public_url: str | None, headers: dict[str, str], url: str
) -> None:
    receiver = Receiver()
    gate = intake(store, receiver, public_url=public_url)

    gate.receive("s3cret", "POST", "/v1/events/s3cret", headers, b"body")

    (request,) = receiver.requests
    assert request == InboundRequest("POST", url, headers, b"body", T0)


class Work:
    """The worker's sync and distribution, recorded."""

    def __init__(self, records: int = 3, fail: Exception | None = None) -> None:
        self.synced: list[list[Entity]] = []
        self.distributed = 0
        self.records, self.fail = records, fail

    def sync(self, entities: list[Entity]) -> SyncResult:
        self.synced.append(list(entities))
        return SyncResult(T0, [EntitySync(e, False, records=self.records) for e in entities])

    def after_sync(self) -> None:
        self.distributed += 1
        if self.fail is not None:
            raise self.fail


def worker(store: Store, work: Work, clock: Callable[[], datetime] | None = None, **kw: Any) -> EventWorker:
    return EventWorker(
        EventQueueRepository(store.engine), PORTAL, work.sync, work.after_sync, clock or Clock(), **kw
    )


def test_queued_events_become_one_sync_of_the_touched_entities_then_distribution(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    work = Work()
    w = worker(store, work)
    w.store([event(Entity.LEAD, "1"), event(Entity.LEAD, "2"), event(Entity.PARTNER, "7"), event(None, "x")])

    with caplog.at_level(logging.INFO, logger="crm_bridge.events"):
        run = w.run()
        w.store([event(None, "y")])
        w.run()

    assert [r.getMessage() for r in caplog.records if r.name == "crm_bridge.events"] == [
        "events: 4 event(s) -> 9 record(s) of partner, lead, deal re-read",
        "events: 1 event(s) -> 0 record(s) of no synced entity re-read",
    ]

    # a lead touches deals too (one CRM object in most CRMs), in the sync's own order
    assert work.synced == [[Entity.PARTNER, Entity.LEAD, Entity.DEAL]]
    assert (run.events, run.entities, run.synced, run.pulled) == (
        4,
        [Entity.PARTNER, Entity.LEAD, Entity.DEAL],
        9,
        0,
    )
    assert work.distributed == 1
    assert w.queue.count_pending(PORTAL) == 0
    again = w.run()
    assert (again.events, again.entities, work.synced[:1], work.distributed) == (
        0,
        [],
        [[Entity.PARTNER, Entity.LEAD, Entity.DEAL]],
        1,
    )


@pytest.mark.parametrize(
    ("entities", "synced"),
    [
        ([Entity.DEAL], [Entity.LEAD, Entity.DEAL]),
        ([Entity.PARTNER], [Entity.PARTNER]),
        ([None], []),
    ],
)
def test_only_the_touched_entities_are_synced(
    store: Store, entities: list[Entity | None], synced: list[Entity]
) -> None:
    work = Work()
    w = worker(store, work)
    w.store([event(e, str(i)) for i, e in enumerate(entities)])

    run = w.run()

    assert run.entities == synced and run.events == len(entities)
    assert work.synced == ([synced] if synced else [])
    assert work.distributed == (1 if synced else 0)  # nothing synced: nothing to distribute
    assert w.queue.count_pending(PORTAL) == 0


def test_a_failed_distribution_still_marks_the_synced_events_processed(store: Store) -> None:
    work = Work(fail=RuntimeError("distribution refused"))
    w = worker(store, work)
    w.store([event(Entity.LEAD, "1")])

    with pytest.raises(RuntimeError, match="distribution refused"):
        w.run()
    assert w.queue.count_pending(PORTAL) == 0


def test_a_failed_sync_leaves_the_events_queued(store: Store) -> None:
    work = Work()
    w = worker(store, work)
    w.store([event(Entity.LEAD, "1")])

    def broken(entities: list[Entity]) -> SyncResult:
        raise RuntimeError("CRM down")

    w.sync = broken
    with pytest.raises(RuntimeError):
        w.run()
    assert w.queue.count_pending(PORTAL) == 1


def test_at_most_a_batch_of_events_is_processed_per_run(store: Store) -> None:
    work = Work()
    w = worker(store, work, batch=2)
    w.store([event(Entity.LEAD, str(i)) for i in range(3)])

    assert w.run().events == 2
    assert w.queue.count_pending(PORTAL) == 1
    assert w.run().events == 1


def test_processed_events_are_forgotten_after_the_keep_window(store: Store) -> None:
    clock = Clock()
    work = Work()
    w = worker(store, work, clock, keep=timedelta(hours=48))
    w.store([event(Entity.LEAD, "1", key="k1")])
    w.run()
    assert w.store([event(Entity.LEAD, "1", key="k1")]) == 0  # still remembered: a redelivery
    clock.now = T0 + timedelta(hours=47)
    w.run()
    assert w.store([event(Entity.LEAD, "1", key="k1")]) == 0
    clock.now = T0 + timedelta(hours=49)
    w.store([event(Entity.PARTNER, "9", key="k2")])
    w.run()  # purges what was processed before now - 48 h
    assert w.store([event(Entity.LEAD, "1", key="k1")]) == 1


class Puller:
    def __init__(self, pages: list[list[CrmEvent]]) -> None:
        self.pages = pages
        self.calls = 0

    def pull_events(self, store: Callable[[list[CrmEvent]], None], limit: int = 50) -> int:
        self.calls += 1
        page = self.pages.pop(0) if self.pages else []
        if page:
            store(page)
        return len(page)


def test_a_crm_that_keeps_events_is_pulled_page_after_page_until_empty(store: Store) -> None:
    puller = Puller([[event(Entity.LEAD, "1"), event(Entity.LEAD, "2")], [event(Entity.PARTNER, "3")]])
    pulled: list[int] = []
    work = Work()
    w = worker(store, work, puller=puller, on_pulled=pulled.append)

    run = w.run()

    assert (run.pulled, puller.calls, pulled) == (3, 3, [2, 1])
    assert run.events == 3 and work.synced == [[Entity.PARTNER, Entity.LEAD, Entity.DEAL]]


def test_pulling_stops_at_a_batch(store: Store) -> None:
    puller = Puller([[event(Entity.LEAD, str(i))] for i in range(5)])
    w = worker(store, Work(), puller=puller, batch=2)

    run = w.run()

    assert (run.pulled, puller.calls, run.events) == (2, 2, 2)
    quiet = worker(store, Work(), puller=Puller([[event(Entity.LEAD, "x")]]))
    assert quiet.run().pulled == 1  # no on_pulled: pulled all the same
