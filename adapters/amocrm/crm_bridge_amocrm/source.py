"""RecordSource for amoCRM: partners (companies with a partner type), partner leads (leads of the lead
pipeline) and deals (leads of our other pipelines), incremental by ``updated_at`` with the id as the
tie-break.

Paging is keyset by time: ``filter[updated_at][from]=T&order[updated_at]=asc&limit=250``, page 1
each time, T = the newest second of the previous page (its rows already returned are skipped). A
second holding a full page of records (a bulk import) is read alone, ``filter[updated_at][from]=
[to]=S&order[id]=asc``, page by page, before moving past it. Every query starts afresh, so records
changed while we list never shift others out of sight; they come again later in the listing or next
time. amoCRM answers 204 for an empty list.

Cursors: a page's cursor covers every second before the one the next query starts at; the last
page's cursor is the newest (updated_at, id) returned, unless that second is the one the listing
started in (a record changed later in that second could sort before it): then it stops just before.
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
from crm_bridge_amocrm.catalog import Catalog
from crm_bridge_amocrm.client import MAX_BATCH, AmoClient
from crm_bridge_amocrm.rows import RowReader

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
        catalog: Callable[[], Catalog],
        curators: Mapping[str, str],
        clock: Callable[[], float],
        page_size: int = MAX_BATCH,
    ) -> None:
        self.client = client
        self.lead_funnel = lead_funnel
        self.catalog = catalog
        self.curators = curators
        self.clock = clock
        self.page_size = page_size
        self.skipped = 0
        self.requests = 0

    def query(self, entity: Entity, catalog: Catalog) -> tuple[str, str, dict[str, Any]]:
        if entity is Entity.PARTNER:
            ptype = catalog.field(FieldEntity.PARTNER, "partner_type")
            if ptype is None or not ptype.options:
                raise NotFound(
                    "the partner fields are not in amoCRM yet: run crm-bridge provision", crm="amocrm"
                )
            key = f"filter[custom_fields_values][{ptype.field_id}][]"
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
        for rows, covered in self._scan(path, key, base, start_from):
            if pending is not None:
                yield RecordPage(entity, pending[0], pending[1])
            records = self._records(rows, translate, after)
            for row in rows:
                stamp = (int(row.get("updated_at") or 0), int(row["id"]))
                newest = stamp if newest is None or stamp > newest else newest
            page_cursor = SyncCursor(_second(covered) - TICK) if covered is not None else cursor
            if (
                cursor is not None
                and page_cursor is not None
                and page_cursor.modified_at < cursor.modified_at
            ):
                page_cursor = cursor
            pending = (records, page_cursor) if page_cursor is not None else (records, SyncCursor(_second(0)))
        yield RecordPage(entity, pending[0] if pending else [], self._final(cursor, newest, started))

    def _scan(
        self, path: str, key: str, base: dict[str, Any], start_from: int | None
    ) -> Iterator[tuple[list[dict[str, Any]], int | None]]:
        """Pages of rows, each with the first second not yet fully read (None: unknown yet)."""
        frm = start_from
        seen: set[int] = set()  # ids already returned in second ``frm``
        while True:
            params = {**base, "order[updated_at]": "asc", "limit": self.page_size, "page": 1}
            if frm is not None:
                params["filter[updated_at][from]"] = frm
            body = self.client.get(path, params)
            self.requests += 1
            rows = list(((body or {}).get("_embedded") or {}).get(key) or [])
            fresh = [r for r in rows if not (int(r.get("updated_at") or 0) == frm and int(r["id"]) in seen)]
            if len(rows) < self.page_size:
                yield fresh, None
                return
            top = max(int(r.get("updated_at") or 0) for r in rows)
            at_top = {int(r["id"]) for r in rows if int(r.get("updated_at") or 0) == top}
            if len(at_top) * 2 <= len(rows) and top != frm:
                yield fresh, top
                seen, frm = at_top, top
                continue
            # a crowded second: read it alone, in id order, then move past it
            yield [r for r in fresh if int(r.get("updated_at") or 0) < top], top
            for part in self._second_pages(path, key, base, top):
                yield [r for r in part if not (top == frm and int(r["id"]) in seen)], top
            seen, frm = set(), top + 1
            yield [], top + 1

    def _second_pages(
        self, path: str, key: str, base: dict[str, Any], second: int
    ) -> Iterator[list[dict[str, Any]]]:
        params = {
            **base,
            "filter[updated_at][from]": second,
            "filter[updated_at][to]": second,
            "order[id]": "asc",
        }
        for rows in self.client.pages(path, key, params, self.page_size):
            self.requests += 1
            yield rows

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
