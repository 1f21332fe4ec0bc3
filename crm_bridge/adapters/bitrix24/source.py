"""RecordSource for Bitrix24: partners (companies carrying the partner type), partner leads (deals of
the lead funnel) and deals of our other funnels, listed incrementally by DATE_MODIFY.

Pages come in ID order (the only order Bitrix24 can page cheaply and stably), not in modification
order, so only the last page of a listing carries a new cursor: the portal's clock at the start of the
listing minus an overlap (records changed while we list are read again next time; upserts make the
overlap harmless). Earlier pages repeat the cursor the listing started from — storing them is a no-op.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from crm_bridge.adapters.bitrix24.catalog import Catalog
from crm_bridge.adapters.bitrix24.listing import Chunk, ListQuery, Paginator
from crm_bridge.adapters.bitrix24.mapping import Bitrix24Mapping
from crm_bridge.adapters.bitrix24.rows import RowReader, iso
from crm_bridge.domain.layout import FieldEntity
from crm_bridge.domain.model import Deal, Lead, Partner
from crm_bridge.errors import DataError, NotFound
from crm_bridge.ports import Entity, RecordPage, SyncCursor

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
        overlap: timedelta = timedelta(seconds=60),
    ) -> None:
        self.paginator = paginator
        self.mapping = mapping
        self.catalog = catalog
        self.curators = curators
        self.clock = clock
        self.overlap = overlap
        self.skipped = 0  # rows that could not be mapped (DataError), for the sync report

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
            flt[">=" + self.mapping.records.modified_at] = iso(cursor.modified_at)
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
        query = self.query(entity, catalog, cursor)
        pending: Chunk | None = None
        started: float | None = None
        total: int | None = None
        for chunk in self.paginator().listing(query, probe=cursor is not None):
            started = started if started is not None else (chunk.server_time or self.clock())
            total = chunk.total if chunk.total is not None else total
            if pending is not None:
                yield RecordPage(entity, self._records(pending, translate), cursor, total)
            pending = chunk
        final = self._final_cursor(cursor, started if started is not None else self.clock())
        rows = self._records(pending, translate) if pending is not None else ()
        yield RecordPage(entity, rows, final, total)

    def _records(
        self, chunk: Chunk, translate: Callable[[Mapping[str, Any]], Partner | Lead | Deal]
    ) -> tuple[Partner | Lead | Deal, ...]:
        out: list[Partner | Lead | Deal] = []
        for row in chunk.rows:
            try:
                out.append(translate(row))
            except DataError as exc:
                self.skipped += 1
                log.warning("skipped Bitrix24 record: %s", exc)
        return tuple(out)

    def _final_cursor(self, cursor: SyncCursor | None, started: float) -> SyncCursor:
        bound = datetime.fromtimestamp(started, UTC) - self.overlap
        if cursor is not None and cursor.modified_at >= bound:
            return cursor
        return SyncCursor(bound.replace(microsecond=0))
