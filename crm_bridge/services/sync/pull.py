"""Incremental pull of partners, partner leads and deals from the CRM into the state store.

Per entity: read the stored cursor, ask the adapter for pages changed since it, and save each page
with ``store.save_page`` — which stores the records and moves the cursor in one transaction, so the
cursor never runs ahead of the data. The cursor is capped at the sync's start minus ``overlap``:
records the CRM stamps while we read (or with a clock slightly ahead of ours) are read again next
time, and the upsert by CRM id makes that harmless. No cursor = first run = backfill; a cursor with
``resume`` set = a backfill that stopped midway (its pages carry that position), which goes on from there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Protocol

from crm_bridge.ports import Entity, RecordPage, RecordSource, SyncCursor

log = logging.getLogger("crm_bridge.sync")

ENTITIES: tuple[Entity, ...] = (Entity.PARTNER, Entity.LEAD, Entity.DEAL)
DEFAULT_OVERLAP = timedelta(minutes=2)


class CursorStore(Protocol):
    """The part of ``crm_bridge.store.Store`` sync uses."""

    def get_cursor(self, portal: str, entity: Entity) -> SyncCursor | None: ...

    def save_page(self, portal: str, page: RecordPage) -> None: ...


class SyncProgress(Protocol):
    """Told about progress (the CLI draws a progress bar from it on a terminal)."""

    def begin(self, entity: Entity, total: int | None, backfill: bool) -> None: ...

    def advance(self, entity: Entity, records: int) -> None: ...

    def end(self, entity: Entity) -> None: ...


@dataclass
class EntitySync:
    entity: Entity
    backfill: bool
    records: int = 0
    pages: int = 0
    cursor: SyncCursor | None = None
    stopped: bool = False  # stopped early on request (daemon shutdown); resumes from ``cursor``


@dataclass
class SyncResult:
    started_at: datetime
    entities: list[EntitySync] = field(default_factory=list)

    @property
    def records(self) -> int:
        return sum(e.records for e in self.entities)

    @property
    def stopped(self) -> bool:
        return any(e.stopped for e in self.entities)


def capped(cursor: SyncCursor | None, limit: datetime) -> SyncCursor | None:
    """``cursor``, or ``limit`` (with no id tie-break) when the cursor is later than ``limit``. An
    unfinished backfill's ``resume`` position is kept: only where its finished cursor will start moves."""
    if cursor is None or cursor.modified_at <= limit:
        return cursor
    return SyncCursor(modified_at=limit, last_id="", resume=cursor.resume)


def sync(
    adapter: RecordSource,
    store: CursorStore,
    portal: str,
    *,
    now: datetime,
    entities: Sequence[Entity] = ENTITIES,
    overlap: timedelta | None = None,
    progress: SyncProgress | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    on_page: Callable[[Entity, int], None] | None = None,
) -> SyncResult:
    """Pull every entity of ``entities`` from ``adapter`` into ``store`` for ``portal``.

    ``now`` is the sync's start (timezone-aware). ``overlap`` defaults to the adapter's
    ``sync_overlap`` (a source that already caps its cursors on the CRM's clock, configurable per
    CRM), else ``DEFAULT_OVERLAP``. ``should_stop`` is checked after each stored page:
    the current page is always finished and saved. ``on_page(entity, records)`` feeds metrics.
    Raises the adapter's ``CrmError`` or the store's ``StateError``; pages saved before the failure
    stay saved and the next run resumes after them."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if overlap is None:  # an adapter that caps its cursors on the CRM's own clock says by how much
        declared = getattr(adapter, "sync_overlap", None)
        overlap = declared if isinstance(declared, timedelta) else DEFAULT_OVERLAP
    limit = now - overlap
    result = SyncResult(started_at=now)
    for entity in entities:
        if should_stop():
            break
        start = store.get_cursor(portal, entity)
        state = EntitySync(entity=entity, backfill=start is None or bool(start.resume), cursor=start)
        result.entities.append(state)
        began = False
        try:
            for page in adapter.changed_since(entity, start):
                if not began and progress is not None:
                    progress.begin(entity, page.total, state.backfill)
                began = True
                stored = replace(page, cursor=capped(page.cursor, limit) or state.cursor)
                store.save_page(portal, stored)
                state.records += len(page.records)
                state.pages += 1
                state.cursor = stored.cursor
                if progress is not None:
                    progress.advance(entity, len(page.records))
                if on_page is not None:
                    on_page(entity, len(page.records))
                if should_stop():
                    state.stopped = True
                    break
        finally:
            if began and progress is not None:
                progress.end(entity)
        log.info(
            "sync %s: %d record(s) in %d page(s)%s",
            entity.value,
            state.records,
            state.pages,
            " (backfill)" if state.backfill else "",
        )
        if state.stopped:
            break
    return result
