"""RecordSource for HubSpot: partners (companies carrying the partner type), partner leads (deals of
the lead pipeline) and deals of our other pipelines.

* Backfill (no cursor, or one with ``resume``): the search API in ``hs_object_id`` order, 200 a page.
  The first page (from the id a stopped backfill reached) tells the total (progress bar); when there
  is more, one search for the highest id, then keyset windows of that id range (``keyset``) walked
  ``max_concurrency`` at a time, so the run is paced by the search budget (5/s) and not by the
  round trip as a chain of list pages with ``after`` cursors would be (a cursor is only known from
  the page before). Every page carries ``resume`` = the id up to which all records are stored, the
  last one the time the listing started, so whatever changed meanwhile is read again next time.
  Requests: ceil(N/200) + 1 (the highest id, when N > 200) + at most one part-filled page per window
  (none with dense ids); memory: ``max_concurrency`` pages.
* Partner leads (both ways) read their partner through the partner association label: one v4
  association batch read per 100 leads.
* Incremental: the search API, ``hs_lastmodifieddate`` ascending with the id as tie-break — filter
  groups ``(modified > T)`` OR ``(modified = T and id > last)`` — 200 a page; every page carries the
  cursor of its last record. Search pages stop at 10,000 results per query, so before paging past
  that the window moves on: a new query starts from the last record seen.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime
from typing import Any

from crm_bridge.domain.layout import FieldEntity
from crm_bridge.domain.model import Deal, Lead, Partner
from crm_bridge.errors import DataError
from crm_bridge.ports import Entity, RecordPage, SyncCursor
from crm_bridge.toolkit.catalog import Catalog
from crm_bridge_hubspot.keyset import KeysetPlan, Window
from crm_bridge_hubspot.mapping import LABEL_FIELD
from crm_bridge_hubspot.rows import MODIFIED, PARTNER_KEY, RowReader, millis, parse_time
from crm_bridge_hubspot.transport import HubSpotTransport

log = logging.getLogger(__name__)
ID = "hs_object_id"
PARTNERS = "/crm/v4/associations/deals/companies/batch/read"
ASSOCIATION_BATCH = 100
SEARCH_PAGE = 200
RESULT_CAP = 10_000
_FIELD = {Entity.PARTNER: FieldEntity.PARTNER, Entity.LEAD: FieldEntity.LEAD, Entity.DEAL: FieldEntity.DEAL}


class RecordLister:
    def __init__(
        self,
        transport: HubSpotTransport,
        catalog: Callable[[], Catalog[str]],
        curators: Mapping[str, str],
        lead_funnel: str,
        clock: Callable[[], float],
        result_cap: int = RESULT_CAP,
        concurrency: int = 4,
    ) -> None:
        self.transport = transport
        self.catalog = catalog
        self.curators = curators
        self.lead_funnel = lead_funnel
        self.clock = clock
        self.result_cap = result_cap
        self.concurrency = max(1, concurrency)
        self.skipped = 0

    def _reader(self) -> RowReader:
        return RowReader(self.catalog(), self.curators, self.lead_funnel)

    def _object(self, entity: Entity) -> str:
        return "companies" if entity is Entity.PARTNER else "deals"

    def _scope(self, entity: Entity, reader: RowReader) -> list[dict[str, Any]]:
        """The filters that select ``entity`` in a search."""
        if entity is Entity.PARTNER:
            info = reader.catalog.field(FieldEntity.PARTNER, "partner_type")
            name = info.code if info else "name"
            return [{"propertyName": name, "operator": "HAS_PROPERTY"}]
        funnels = reader.catalog.funnels
        if entity is Entity.LEAD:
            ids = [funnels[self.lead_funnel]] if self.lead_funnel in funnels else []
        else:
            ids = [pid for key, pid in funnels.items() if key != self.lead_funnel]
        return [{"propertyName": "pipeline", "operator": "IN", "values": ids or ["none"]}]

    def _wanted(self, entity: Entity, reader: RowReader, row: Mapping[str, Any]) -> bool:
        if entity is Entity.PARTNER:
            return reader.is_partner(row)
        funnel = reader.funnel(row)
        if entity is Entity.LEAD:
            return funnel == self.lead_funnel
        return funnel is not None and funnel != self.lead_funnel

    def _convert(self, entity: Entity, reader: RowReader, rows: list[dict[str, Any]]) -> list[Any]:
        out: list[Partner | Lead | Deal] = []
        for row in rows:
            if not self._wanted(entity, reader, row):
                continue
            try:
                if entity is Entity.PARTNER:
                    out.append(reader.partner(row))
                elif entity is Entity.LEAD:
                    out.append(reader.lead(row))
                else:
                    out.append(reader.deal(row))
            except DataError as exc:
                self.skipped += 1
                log.warning("skipped hubspot %s %s: %s", entity.value, row.get("id"), exc)
        return out

    def changed_since(self, entity: Entity, cursor: SyncCursor | None) -> Iterator[RecordPage]:
        if cursor is None or cursor.resume:
            return self._backfill(entity, cursor)
        return self._incremental(entity, cursor)

    # -- backfill -----------------------------------------------------------------------------------
    def _backfill(self, entity: Entity, resume: SyncCursor | None) -> Iterator[RecordPage]:
        """The first page in id order, then keyset windows up to the highest id, walked
        ``concurrency`` at a time (see the module doc and ``keyset``)."""
        reader = self._reader()
        if resume is not None:  # a backfill stopped midway: the cursor its first run will leave
            started, lo = resume.modified_at, int(resume.resume) if resume.resume.isdigit() else 0
        else:
            started, lo = datetime.fromtimestamp(self.clock(), UTC).replace(microsecond=0), 0
        obj = self._object(entity)
        scope = self._scope(entity, reader)
        properties = reader.properties(_FIELD[entity])
        total: int | None = None

        def page(lo: int, hi: int | None) -> list[dict[str, Any]]:
            filters = [*scope, {"propertyName": ID, "operator": "GT", "value": str(lo)}]
            if hi is not None:
                filters.append({"propertyName": ID, "operator": "LTE", "value": str(hi)})
            body = self._search(obj, [filters], properties, SEARCH_PAGE, None, sort=ID)
            nonlocal total
            total = body.get("total") if total is None else total
            return self._with_partners(entity, reader, sorted(body.get("results") or [], key=_by_id))

        rows = page(lo, None)
        ids = [int(r["id"]) for r in rows]
        if len(rows) < SEARCH_PAGE:  # one page holds it all
            yield RecordPage(entity, self._convert(entity, reader, rows), SyncCursor(started), total)
            return
        top = self._top(obj, scope)
        plan = KeysetPlan(ids[-1], top, int(total or 0) - len(rows), SEARCH_PAGE, self.concurrency)
        cursor = SyncCursor(started, resume=str(ids[-1])) if not plan.finished else SyncCursor(started)
        yield RecordPage(entity, self._convert(entity, reader, rows), cursor, total)
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="hubspot-backfill")
        flying: dict[Future[list[dict[str, Any]]], Window] = {}
        try:
            while not plan.finished:
                for window in plan.take(self.concurrency - len(flying)):
                    flying[pool.submit(page, window.lo, window.hi)] = window
                done, _ = wait(flying, return_when=FIRST_COMPLETED)
                for future in done:
                    window = flying.pop(future)
                    rows = future.result()
                    plan.answered(window, [int(r["id"]) for r in rows])
                    at = SyncCursor(started, resume=str(plan.done_through()))
                    cursor = SyncCursor(started) if plan.finished else at
                    yield RecordPage(entity, self._convert(entity, reader, rows), cursor, total)
        finally:
            for future in flying:
                future.cancel()
            pool.shutdown(wait=True, cancel_futures=True)

    def _with_partners(
        self, entity: Entity, reader: RowReader, rows: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Leads: each row gets the company associated to it with the partner label (one v4 batch
        read per 100 leads). Other entities are returned as they are."""
        label = reader.catalog.field(*LABEL_FIELD)
        if entity is not Entity.LEAD or label is None or not rows:
            return rows
        type_id = int(label.code)
        for start in range(0, len(rows), ASSOCIATION_BATCH):
            chunk = rows[start : start + ASSOCIATION_BATCH]
            body = {"inputs": [{"id": str(r["id"])} for r in chunk]}
            answer = self.transport.call("POST", PARTNERS, json=body, idempotent=True) or {}
            partners: dict[str, str] = {}
            for result in answer.get("results") or []:
                for to in result.get("to") or []:
                    if any(t.get("typeId") == type_id for t in to.get("associationTypes") or []):
                        partners.setdefault(str(result["from"]["id"]), str(to["toObjectId"]))
            for row in chunk:
                if str(row["id"]) in partners:
                    row[PARTNER_KEY] = partners[str(row["id"])]
        return rows

    def _top(self, obj: str, scope: list[dict[str, Any]]) -> int:
        """The highest id in ``scope`` (records created later are read by the next incremental sync)."""
        body = self._search(obj, [scope], [ID], 1, None, sort=f"-{ID}")
        return max((int(r["id"]) for r in body.get("results") or []), default=0)

    # -- incremental --------------------------------------------------------------------------------
    def _search(
        self,
        obj: str,
        groups: list[list[dict[str, Any]]],
        properties: list[str],
        limit: int,
        after: str | None,
        *,
        sort: str = MODIFIED,
    ) -> dict[str, Any]:
        body = {
            "filterGroups": [{"filters": g} for g in groups],
            "sorts": [sort],  # the spec types a sort as a string: "name" or "-name"
            "properties": properties,
            "limit": limit,
            "after": after or "0",
        }
        result: dict[str, Any] = self.transport.call("POST", f"/crm/v3/objects/{obj}/search", json=body)
        return result

    def _groups(self, scope: list[dict[str, Any]], cursor: SyncCursor) -> list[list[dict[str, Any]]]:
        stamp = millis(cursor.modified_at)
        if not cursor.last_id:
            return [[*scope, {"propertyName": MODIFIED, "operator": "GTE", "value": stamp}]]
        return [
            [*scope, {"propertyName": MODIFIED, "operator": "GT", "value": stamp}],
            [
                *scope,
                {"propertyName": MODIFIED, "operator": "EQ", "value": stamp},
                {"propertyName": "hs_object_id", "operator": "GT", "value": cursor.last_id},
            ],
        ]

    def _incremental(self, entity: Entity, cursor: SyncCursor) -> Iterator[RecordPage]:
        reader = self._reader()
        obj = self._object(entity)
        scope = self._scope(entity, reader)
        properties = reader.properties(_FIELD[entity])
        after: str | None = None
        window = cursor
        while True:
            body = self._search(obj, self._groups(scope, window), properties, SEARCH_PAGE, after)
            rows = self._with_partners(entity, reader, sorted(body.get("results") or [], key=_order))
            if rows:
                last = rows[-1]
                stamp = parse_time((last.get("properties") or {}).get(MODIFIED) or last.get("updatedAt"))
                if stamp is not None:
                    cursor = SyncCursor(stamp, str(last["id"]))
            records = self._convert(entity, reader, rows)
            yield RecordPage(entity, records, cursor, body.get("total"))
            after = ((body.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return
            if (
                after.isdigit() and int(after) >= self.result_cap
            ):  # the query's 10,000 cap: move the window on
                log.info("hubspot search: %s results reached the cap; continuing from %s", after, cursor)
                window, after = cursor, None


def _by_id(row: Mapping[str, Any]) -> int:
    return int(row["id"])


def _order(row: Mapping[str, Any]) -> tuple[datetime, int]:
    stamp = parse_time((row.get("properties") or {}).get(MODIFIED) or row.get("updatedAt"))
    rid = str(row.get("id", "0"))
    return (stamp or datetime.min.replace(tzinfo=UTC), int(rid) if rid.isdigit() else 0)
