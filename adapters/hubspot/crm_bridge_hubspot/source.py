"""RecordSource for HubSpot: partners (companies carrying the partner type), partner leads (deals of
the lead pipeline) and deals of our other pipelines.

* Backfill (no cursor): the list endpoints, 100 records a page with ``after`` cursors, in id order;
  one search first tells the total (progress bar). Earlier pages repeat the starting cursor (none),
  the last carries the time the listing started, so whatever changed meanwhile is read again next
  time. Requests: ceil(N/100) + 1 per entity (deals are listed once per deal entity).
* Incremental: the search API, ``hs_lastmodifieddate`` ascending with the id as tie-break — filter
  groups ``(modified > T)`` OR ``(modified = T and id > last)`` — 200 a page; every page carries the
  cursor of its last record. Search pages stop at 10,000 results per query, so before paging past
  that the window moves on: a new query starts from the last record seen.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from crm_bridge.domain.layout import FieldEntity
from crm_bridge.domain.model import Deal, Lead, Partner
from crm_bridge.errors import DataError
from crm_bridge.ports import Entity, RecordPage, SyncCursor
from crm_bridge.toolkit.catalog import Catalog
from crm_bridge_hubspot.rows import MODIFIED, RowReader, millis, parse_time
from crm_bridge_hubspot.transport import HubSpotTransport

log = logging.getLogger(__name__)
LIST_PAGE = 100
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
    ) -> None:
        self.transport = transport
        self.catalog = catalog
        self.curators = curators
        self.lead_funnel = lead_funnel
        self.clock = clock
        self.result_cap = result_cap
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
        if cursor is None:
            return self._backfill(entity)
        return self._incremental(entity, cursor)

    # -- backfill -----------------------------------------------------------------------------------
    def _backfill(self, entity: Entity) -> Iterator[RecordPage]:
        reader = self._reader()
        started = datetime.fromtimestamp(self.clock(), UTC).replace(microsecond=0)
        obj = self._object(entity)
        total = self._search(obj, [self._scope(entity, reader)], ["hs_object_id"], 1, None).get("total")
        properties = ",".join(reader.properties(_FIELD[entity]))
        after: str | None = None
        while True:
            params: dict[str, Any] = {"limit": LIST_PAGE, "properties": properties, "archived": "false"}
            if after:
                params["after"] = after
            body = self.transport.call("GET", f"/crm/v3/objects/{obj}", params=params)
            after = ((body.get("paging") or {}).get("next") or {}).get("after")
            records = self._convert(entity, reader, body.get("results") or [])
            yield RecordPage(entity, records, None if after else SyncCursor(started), total)
            if not after:
                return

    # -- incremental --------------------------------------------------------------------------------
    def _search(
        self,
        obj: str,
        groups: list[list[dict[str, Any]]],
        properties: list[str],
        limit: int,
        after: str | None,
    ) -> dict[str, Any]:
        body = {
            "filterGroups": [{"filters": g} for g in groups],
            "sorts": [MODIFIED],  # the spec types a sort as a string: "name" or "-name"
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
            rows = sorted(body.get("results") or [], key=_order)
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


def _order(row: Mapping[str, Any]) -> tuple[datetime, int]:
    stamp = parse_time((row.get("properties") or {}).get(MODIFIED) or row.get("updatedAt"))
    rid = str(row.get("id", "0"))
    return (stamp or datetime.min.replace(tzinfo=UTC), int(rid) if rid.isdigit() else 0)
