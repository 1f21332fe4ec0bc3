"""The event worker: CRM events the receivers stored (or the adapter pulled) drive a prompt sync of the
touched entities, then distribution and tiers — the scheduled sync stays the reconciliation sweep.

Coalescing: every queued event of a run (up to ``batch``) becomes one incremental sync of the entities
they touched, so a thousand events cost a few listing pages, not a thousand reads; the listing goes
through the adapter and so through the same HTTP layer and rate budget as everything else. Events are
hints only: the records are re-read from the CRM, never taken from the payload.

Loop safety: the work an event starts is idempotent — sync upserts by CRM id, distribution acts only on
leads without an assignment and creates tasks exactly once by external id, tiers write only a change —
so an event caused by our own write costs one re-read and starts no further write. Adapters also drop
events they can tell are ours (see each adapter's ``events`` module).

Crash safety: an event is marked processed only after its records were synced and distributed; a crash
before that leaves it queued and the next run does the (idempotent) work again.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from crm_bridge.errors import EventRefused
from crm_bridge.ports import CrmEvent, Entity, EventPuller, EventReceiver, InboundRequest
from crm_bridge.services.sync.pull import ENTITIES, SyncResult
from crm_bridge.store.events import EventQueueRepository

log = logging.getLogger("crm_bridge.events")


@dataclass
class EventRun:
    pulled: int = 0
    events: int = 0
    entities: list[Entity] = field(default_factory=list)
    synced: int = 0


@dataclass
class EventWorker:
    """``sync(entities)`` pulls those entities incrementally; ``after_sync()`` runs distribution (and
    tiers); ``puller``: an adapter that keeps events for us (Bitrix24 offline events), or None."""

    queue: EventQueueRepository
    portal: str
    sync: Callable[[list[Entity]], SyncResult]
    after_sync: Callable[[], object]
    clock: Callable[[], datetime]
    puller: EventPuller | None = None
    on_pulled: Callable[[int], None] | None = None
    batch: int = 5000
    keep: timedelta = timedelta(hours=48)

    def store(self, events: list[CrmEvent]) -> int:
        """Store pulled events (committed when it returns)."""
        return self.queue.add(self.portal, events, self.clock())

    def _store_pulled(self, events: list[CrmEvent]) -> None:
        self.store(events)

    def run(self) -> EventRun:
        """Pull (when the CRM keeps events), then process every queued event in one coalesced pass.
        Raises what sync or distribution raise; unprocessed events then stay queued."""
        result = EventRun()
        if self.puller is not None:  # page after page until the CRM's queue is empty (or a batch)
            while result.pulled < self.batch:
                got = self.puller.pull_events(self._store_pulled)
                result.pulled += got
                if got and self.on_pulled is not None:
                    self.on_pulled(got)
                if not got:
                    break
        pending = self.queue.pending(self.portal, self.batch)
        if not pending:
            return result
        touched = {q.event.entity for q in pending if q.event.entity is not None}
        if touched & {Entity.LEAD, Entity.DEAL}:  # one CRM object in most CRMs (which funnel: unknown)
            touched |= {Entity.LEAD, Entity.DEAL}
        result.events = len(pending)
        result.entities = [e for e in ENTITIES if e in touched]
        if result.entities:
            result.synced = self.sync(result.entities).records
        try:
            if result.entities:
                self.after_sync()
        finally:  # the records are stored: a refused distribution is retried by the distribute job
            now = self.clock()
            self.queue.mark_processed([q.id for q in pending], now)
            self.queue.purge(self.portal, now - self.keep)
        log.info(
            "events: %d event(s) -> %d record(s) of %s re-read",
            result.events,
            result.synced,
            ", ".join(e.value for e in result.entities) or "no synced entity",
        )
        return result


class EventCounter(Protocol):
    def crm_events_received(self, crm: str, count: int) -> None: ...

    def crm_events_refused(self, crm: str, reason: str, count: int = 1) -> None: ...


@dataclass
class EventAnswer:
    status: int
    body: dict[str, Any]


@dataclass
class EventIntake:
    """The receiver behind ``POST /v1/events/<token>``: the path token (constant-time compare), then the
    adapter's own checks (signature, application token, account), then the events are committed to
    the queue — only then is 200 answered, so a crash after the answer loses nothing. A refused
    request queues nothing and is counted by reason."""

    receiver: EventReceiver
    queue: EventQueueRepository
    portal: str
    crm: str
    token: str
    clock: Callable[[], datetime]
    metrics: EventCounter | None = None
    public_url: str | None = None  # the base URL the CRM posts to (what HubSpot signs)

    def receive(
        self, token: str, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> EventAnswer:
        try:
            if not self.token or not hmac.compare_digest(token.encode(), self.token.encode()):
                raise EventRefused(401, "token", "unknown event receiver token")
            base = (self.public_url or "").rstrip("/")
            url = base + path if base else headers.get("x-crm-bridge-url", path)
            request = InboundRequest(method, url, headers, body, self.clock())
            events = self.receiver.receive_events(request)
        except EventRefused as exc:
            if self.metrics is not None:
                self.metrics.crm_events_refused(self.crm, exc.reason)
            log.warning("%s event request refused (%s): %s", self.crm, exc.reason, exc)
            return EventAnswer(exc.status, {"error": exc.reason, "message": str(exc)})
        new = self.queue.add(self.portal, events, self.clock())
        if self.metrics is not None and new:
            self.metrics.crm_events_received(self.crm, new)
        if self.metrics is not None and new < len(events):  # redeliveries: acknowledged, not queued
            self.metrics.crm_events_refused(self.crm, "duplicate", len(events) - new)
        return EventAnswer(200, {"accepted": len(events), "new": new})
