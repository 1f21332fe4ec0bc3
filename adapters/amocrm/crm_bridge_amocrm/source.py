"""RecordSource for amoCRM: partners (companies with a partner type), partner leads (leads of the lead
pipeline) and deals (leads of our other pipelines), incremental by ``updated_at`` with the id as the
tie-break.

A listing reads every record changed since the cursor's second (``scan.KeysetScan``: keyset pages by
time, a long listing shared out between threads); amoCRM answers 204 for an empty list.

Cursors: a page's cursor covers every second before the one the next query starts at; the last page's
cursor is the newest (updated_at, id) returned, unless that is not older than the second the listing
started in (a record changed later in that second could sort before it): then it stops just before
that second, and the next listing reads it again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from crm_bridge.domain.layout import FieldEntity
from crm_bridge.domain.model import Deal, Lead, Partner
from crm_bridge.errors import DataError, NotFound
from crm_bridge.ports import Entity, RecordPage, SyncCursor
from crm_bridge_amocrm.catalog import AmoCatalog, field_id
from crm_bridge_amocrm.client import MAX_BATCH, AmoClient
from crm_bridge_amocrm.lead_events import LeadEvents
from crm_bridge_amocrm.rows import RowReader
from crm_bridge_amocrm.scan import OPEN_END, KeysetScan

log = logging.getLogger(__name__)
TICK = timedelta(microseconds=1)
Record = Partner | Lead | Deal


def _second(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


class RecordLister:
    def __init__(
        self,
        client: AmoClient,
        lead_funnel: str,
        catalog: Callable[[], AmoCatalog],
        curators: Mapping[str, str],
        clock: Callable[[], float],
        page_size: int = MAX_BATCH,
        workers: int = 1,
    ) -> None:
        self.client = client
        self.lead_funnel = lead_funnel
        self.catalog = catalog
        self.curators = curators
        self.clock = clock
        self.page_size = page_size
        self.workers = workers
        self.skipped = 0
        self.events = LeadEvents(client, catalog, lead_funnel, workers)

    def query(self, entity: Entity, catalog: AmoCatalog) -> tuple[str, str, dict[str, Any]]:
        if entity is Entity.PARTNER:
            ptype = catalog.field(FieldEntity.PARTNER, "partner_type")
            if ptype is None or not ptype.options:
                raise NotFound(
                    "the partner fields are not in amoCRM yet: run crm-bridge provision", crm="amocrm"
                )
            key = f"filter[custom_fields_values][{field_id(ptype)}][]"
            return "api/v4/companies", "companies", {key: sorted(ptype.options.values())}
        if self.lead_funnel not in catalog.funnels:
            raise NotFound(
                "the partner pipelines are not in amoCRM yet: run crm-bridge provision", crm="amocrm"
            )
        if entity is Entity.LEAD:
            pipelines = [catalog.funnels[self.lead_funnel]]
        else:
            pipelines = sorted(v for k, v in catalog.funnels.items() if k != self.lead_funnel)
        return "api/v4/leads", "leads", {"filter[pipeline_id][]": pipelines, "with": "contacts"}

    def _get(self, path: str, params: dict[str, Any]) -> dict[str, Any] | None:
        return self.client.get(path, params)

    def changed_since(self, entity: Entity, cursor: SyncCursor | None) -> Iterator[RecordPage]:
        catalog = self.catalog()
        reader = RowReader(catalog, self.curators)
        translate: Callable[[Mapping[str, Any]], Record] = (
            reader.partner
            if entity is Entity.PARTNER
            else reader.lead
            if entity is Entity.LEAD
            else reader.deal
        )
        path, key, base = self.query(entity, catalog)
        started = int(self.clock())
        after = (cursor.modified_at, int(cursor.last_id or 0)) if cursor else None
        start_from = int(cursor.modified_at.timestamp()) if cursor else None
        newest: tuple[int, int] | None = None
        pending: tuple[list[Record], SyncCursor] | None = None
        scan = KeysetScan(self._get, path, key, base, self.page_size)
        for rows, covered in scan.scan(start_from, OPEN_END, self.workers):
            if pending is not None:
                yield RecordPage(entity, pending[0], pending[1])
            records = self._records(rows, translate, after)
            if entity is Entity.LEAD and records:
                records = list(self.events.enrich(rows, records))  # type: ignore[arg-type]
            for row in rows:
                stamp = (int(row.get("updated_at") or 0), int(row["id"]))
                newest = stamp if newest is None or stamp > newest else newest
            page_cursor: SyncCursor | None = SyncCursor(_second(covered) - TICK)
            if (
                cursor is not None
                and page_cursor is not None
                and page_cursor.modified_at < cursor.modified_at
            ):
                page_cursor = cursor
            pending = (records, page_cursor) if page_cursor is not None else (records, SyncCursor(_second(0)))
        yield RecordPage(entity, pending[0] if pending else [], self._final(cursor, newest, started))

    def _records(
        self,
        rows: list[dict[str, Any]],
        translate: Callable[[Mapping[str, Any]], Record],
        after: tuple[datetime, int] | None,
    ) -> list[Record]:
        out: list[Record] = []
        for row in rows:
            try:
                record = translate(row)
            except DataError as exc:
                self.skipped += 1
                log.warning("skipped amoCRM record: %s", exc)
                continue
            if after is None or (record.modified_at or _second(0), int(record.crm_id)) > after:
                out.append(record)
        return out

    @staticmethod
    def _final(cursor: SyncCursor | None, newest: tuple[int, int] | None, started: int) -> SyncCursor:
        cap = SyncCursor(_second(started) - TICK)
        if newest is not None and newest[0] < started:
            candidate = SyncCursor(_second(newest[0]), str(newest[1]))
        else:
            candidate = cap
        if cursor is not None and (cursor.modified_at, int(cursor.last_id or 0)) >= (
            candidate.modified_at,
            int(candidate.last_id or 0),
        ):
            return cursor
        return candidate
