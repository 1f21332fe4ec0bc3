"""RecordSource for Bitrix24: partners (companies carrying the partner type), partner leads (deals of
the lead funnel) and deals of our other funnels, listed incrementally by DATE_MODIFY.

Pages come in ID order (the only order Bitrix24 can page cheaply and stably: a record changed while we
list keeps its place), not in modification order, so only the last page of a listing carries a new
cursor; earlier pages repeat the cursor the listing started from (storing them is a no-op). The new
cursor is the newest (DATE_MODIFY, ID) returned, capped just before the second the listing started in
(the portal's clock, ``time.start``), so a record changed during the listing is read again next time.
``overlap`` (``crm.bitrix24.sync_overlap``, default 5 s) moves that cap back further, so a write the
portal stamped within the cursor's second but committed after we listed it is still read.

A backfill (no cursor) walks the ids in windows (``listing``) and every page carries a cursor whose
``resume`` is the id up to which everything is stored: a backfill stopped midway goes on from there,
and its finished cursor is the cap of its first run, so what changed in between is read next time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from crm_bridge.domain.layout import FieldEntity
from crm_bridge.domain.model import Deal, Lead, Partner
from crm_bridge.errors import DataError, NotFound
from crm_bridge.ports import Entity, RecordPage, SyncCursor
from crm_bridge_bitrix24.catalog import Catalog
from crm_bridge_bitrix24.listing import ListQuery, Paginator
from crm_bridge_bitrix24.mapping import Bitrix24Mapping
from crm_bridge_bitrix24.rows import RowReader, iso

log = logging.getLogger(__name__)

_FIELD_ENTITY = {
    Entity.PARTNER: FieldEntity.PARTNER,
    Entity.LEAD: FieldEntity.LEAD,
    Entity.DEAL: FieldEntity.DEAL,
}


class RecordLister:
    def __init__(
        self,
        paginator: Callable[[], Paginator],
        mapping: Bitrix24Mapping,
        catalog: Callable[[], Catalog],
        curators: Mapping[str, str],
        clock: Callable[[], float],
        overlap: timedelta = timedelta(0),
        enrich_leads: Callable[[tuple[Lead, ...]], tuple[Lead, ...]] | None = None,
    ) -> None:
        self.enrich_leads = enrich_leads  # first touch and furthest stage (lead_history.py)
        self.paginator = paginator
        self.mapping = mapping
        self.catalog = catalog
        self.curators = curators
        self.clock = clock
        self.overlap = overlap
        self.skipped = 0  # rows that could not be mapped (DataError), for the sync report
        self._lock = threading.Lock()

    def query(self, entity: Entity, catalog: Catalog, cursor: SyncCursor | None) -> ListQuery:
        reader = RowReader(self.mapping, catalog, self.curators)
        flt: dict[str, Any] = {}
        if entity is Entity.PARTNER:
            method = "crm.company.list"
            ptype = catalog.field(FieldEntity.PARTNER, "partner_type")
            if ptype is None:
                raise NotFound(
                    "the partner fields are not on the portal yet: run crm-bridge provision",
                    crm="bitrix24",
                    entity=entity.value,
                )
            flt[">" + ptype.code] = 0  # a partner = a company whose partner type is set (item ids > 0)
        else:
            method = "crm.deal.list"
            lead_funnel = self.mapping.lead_funnel
            if lead_funnel not in catalog.funnels:
                raise NotFound(
                    "the partner funnels are not on the portal yet: run crm-bridge provision",
                    crm="bitrix24",
                    entity=entity.value,
                )
            if entity is Entity.LEAD:
                flt["CATEGORY_ID"] = catalog.funnels[lead_funnel]
            else:
                flt["@CATEGORY_ID"] = sorted(cid for k, cid in catalog.funnels.items() if k != lead_funnel)
        if cursor is not None:
            # Strictly later seconds: a cursor is either a second every record of which was read
            # (it ended before the listing began) or the cap just before the listing's first second.
            flt[">" + self.mapping.records.modified_at] = iso(cursor.modified_at)
        return ListQuery(method, flt, reader.select(_FIELD_ENTITY[entity]))

    def changed_since(self, entity: Entity, cursor: SyncCursor | None) -> Iterator[RecordPage]:
        catalog = self.catalog()
        reader = RowReader(self.mapping, catalog, self.curators)
        translate: Callable[[Mapping[str, Any]], Partner | Lead | Deal]
        if entity is Entity.PARTNER:
            translate = reader.partner
        elif entity is Entity.LEAD:
            translate = reader.lead
        else:
            translate = reader.deal
        resume = cursor.resume if cursor is not None else ""
        backfill = cursor is None or bool(resume)
        query = self.query(entity, catalog, None if backfill else cursor)
        after = None if backfill or cursor is None else _key(cursor.modified_at, cursor.last_id)
        # A resumed backfill keeps the cursor its first run will leave (just before that run began).
        cap = cursor.modified_at if cursor is not None and resume else None
        pending: tuple[tuple[Partner | Lead | Deal, ...], SyncCursor | None] | None = None
        started: float | None = None
        total: int | None = None
        newest: tuple[datetime, int] | None = None
        listing = self.paginator().listing(
            query,
            probe=not backfill,
            after=_resume_id(resume),
            transform=lambda rows: self._records(rows, translate, after),
        )
        for chunk in listing:
            started = started if started is not None else (chunk.server_time or self.clock())
            total = chunk.total if chunk.total is not None else total
            if pending is not None:
                yield RecordPage(entity, pending[0], pending[1], total)
            records = tuple(chunk.rows)
            if entity is Entity.LEAD and self.enrich_leads is not None:
                records = tuple(self.enrich_leads(records))
            if backfill:
                cap = cap if cap is not None else self._cap(started)
                position = chunk.done_through
                pending = (records, SyncCursor(cap, "", str(position)) if position is not None else None)
                continue  # a backfill's cursor is its cap: the newest row does not matter
            pending = (records, cursor)
            for record in records:
                stamp = _key(record.modified_at, record.crm_id)
                newest = stamp if newest is None or stamp > newest else newest
        start = started if started is not None else self.clock()
        if backfill:
            final = SyncCursor(cap if cap is not None else self._cap(start))
        else:
            final = self._final_cursor(cursor, newest, start)
        yield RecordPage(entity, pending[0] if pending else (), final, total)

    def _cap(self, started: float) -> datetime:
        """Just before the second the listing started in, minus the overlap (the portal's clock)."""
        return datetime.fromtimestamp(int(started), UTC) - self.overlap - timedelta(microseconds=1)

    def _records(
        self,
        rows: list[dict[str, Any]],
        translate: Callable[[Mapping[str, Any]], Partner | Lead | Deal],
        after: tuple[datetime, int] | None,
    ) -> tuple[Partner | Lead | Deal, ...]:
        out: list[Partner | Lead | Deal] = []
        for row in rows:
            try:
                record = translate(row)
            except DataError as exc:
                with self._lock:  # pages are translated in the listing's worker threads
                    self.skipped += 1
                log.warning("skipped Bitrix24 record: %s", exc)
                continue
            if after is None or _key(record.modified_at, record.crm_id) > after:
                out.append(record)
        return tuple(out)

    def _final_cursor(
        self, cursor: SyncCursor | None, newest: tuple[datetime, int] | None, started: float
    ) -> SyncCursor:
        """The newest (modified_at, id) returned — unless it is not older than the second the listing
        started in: a record changed while we listed may then sort before it unseen, so the cursor
        stops just before that second and the next listing reads it again."""
        cap = SyncCursor(self._cap(started))
        second = cap.modified_at + timedelta(microseconds=1)
        if newest is not None and newest[0] < second:
            return SyncCursor(newest[0], str(newest[1]))
        if cursor is not None and cursor.modified_at >= cap.modified_at:
            return cursor
        return cap


def _resume_id(resume: str) -> int:
    """The id a stopped backfill goes on after ("" or anything unreadable: from the start)."""
    return int(resume) if resume.isdigit() else 0


def _key(modified_at: datetime | None, crm_id: str) -> tuple[datetime, int]:
    return (modified_at or datetime.min.replace(tzinfo=UTC), int(crm_id or 0))
