"""Replicated CRM records and sync cursors. ``save_page`` upserts a page's records and moves the
entity's cursor in one transaction, so the cursor never runs ahead of the data (CONVENTIONS §10).
Readers are lazy: they fetch in keyset-ordered chunks, so memory stays flat on big portals."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Engine, Table, delete, func, select

from crm_bridge.domain.model import Deal, Lead, Partner
from crm_bridge.errors import StateError
from crm_bridge.ports import Entity, RecordPage, SyncCursor
from crm_bridge.store import rows
from crm_bridge.store.db import state_errors, write_transaction
from crm_bridge.store.schema import deals, leads, partners, sync_cursors
from crm_bridge.store.upsert import upsert

CHUNK = 2000

_TABLES: dict[Entity, tuple[Table, type, Callable[[str, Any], dict[str, Any]]]] = {
    Entity.PARTNER: (partners, Partner, rows.partner_row),
    Entity.LEAD: (leads, Lead, rows.lead_row),
    Entity.DEAL: (deals, Deal, rows.deal_row),
}


class RecordRepository:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def get_cursor(self, portal: str, entity: Entity) -> SyncCursor | None:
        """Where the last sync of ``entity`` stopped; None = never synced (backfill)."""
        t = sync_cursors
        with state_errors(f"reading the {entity} cursor"), self._engine.connect() as conn:
            row = conn.execute(
                select(t.c.modified_at, t.c.last_id, t.c.resume).where(
                    t.c.portal == portal, t.c.entity == str(entity)
                )
            ).first()
        if row is None:
            return None
        return SyncCursor(modified_at=row.modified_at, last_id=row.last_id, resume=row.resume or "")

    def save_page(self, portal: str, page: RecordPage) -> None:
        """Upsert the page's records by CRM id and store ``page.cursor`` (when set) in one transaction.
        On any failure nothing of the page is kept and the cursor stays where it was (StateError)."""
        table, kind, to_row = _TABLES[Entity(page.entity)]
        by_id: dict[str, dict[str, Any]] = {}
        for record in page.records:
            if not isinstance(record, kind):
                raise StateError(f"a page of {page.entity} records holds a {type(record).__name__}")
            by_id[record.crm_id] = to_row(portal, record)  # the last version of a repeated id wins
        with state_errors(f"saving a page of {page.entity} records"), write_transaction(self._engine) as conn:
            if by_id:
                conn.execute(upsert(conn, table, ["portal", "crm_id"]), list(by_id.values()))
            if page.cursor is not None:
                cursor = {
                    "portal": portal,
                    "entity": str(page.entity),
                    "modified_at": page.cursor.modified_at,
                    "last_id": page.cursor.last_id,
                    "resume": page.cursor.resume,
                }
                conn.execute(upsert(conn, sync_cursors, ["portal", "entity"]), [cursor])

    def reset_cursor(self, portal: str, entity: Entity) -> None:
        """Forget the cursor: the next sync of ``entity`` backfills (records are kept and upserted)."""
        t = sync_cursors
        with state_errors(f"resetting the {entity} cursor"), write_transaction(self._engine) as conn:
            conn.execute(delete(t).where(t.c.portal == portal, t.c.entity == str(entity)))

    def count(self, portal: str, entity: Entity) -> int:
        table = _TABLES[Entity(entity)][0]
        with state_errors(f"counting {entity} records"), self._engine.connect() as conn:
            return int(conn.execute(select(func.count()).where(table.c.portal == portal)).scalar_one())

    def partners(self, portal: str) -> Iterator[Partner]:
        """Every replicated partner of ``portal``, by CRM id."""
        return (rows.partner_from(r) for r in self._chunks(partners, [partners.c.portal == portal]))

    def partner(self, portal: str, crm_id: str) -> Partner | None:
        found = list(self._chunks(partners, [partners.c.portal == portal, partners.c.crm_id == crm_id]))
        return rows.partner_from(found[0]) if found else None

    def leads(
        self,
        portal: str,
        since: datetime | None = None,
        partner_id: str | None = None,
        *,
        until: datetime | None = None,
    ) -> Iterator[Lead]:
        """Replicated leads of ``portal`` created in [since, until) and of ``partner_id`` when given."""
        conds = _window(leads, portal, since, until, partner_id)
        return (rows.lead_from(r) for r in self._chunks(leads, conds))

    def lead(self, portal: str, crm_id: str) -> Lead | None:
        found = list(self._chunks(leads, [leads.c.portal == portal, leads.c.crm_id == crm_id]))
        return rows.lead_from(found[0]) if found else None

    def deals(
        self,
        portal: str,
        since: datetime | None = None,
        partner_id: str | None = None,
        *,
        until: datetime | None = None,
        funnel: str | None = None,
    ) -> Iterator[Deal]:
        """Replicated deals created in [since, until), of ``partner_id`` / in ``funnel`` when given."""
        conds = _window(deals, portal, since, until, partner_id)
        if funnel is not None:
            conds.append(deals.c.funnel == funnel)
        return (rows.deal_from(r) for r in self._chunks(deals, conds))

    def _chunks(self, table: Table, conds: Sequence[ColumnElement[bool]]) -> Iterator[Any]:
        """Rows matching ``conds`` in CRM-id order, ``CHUNK`` per short read (no connection is held
        between chunks, so an abandoned iterator holds nothing)."""
        after: str | None = None
        while True:
            query = select(table).where(*conds).order_by(table.c.crm_id).limit(CHUNK)
            if after is not None:
                query = query.where(table.c.crm_id > after)
            with state_errors(f"reading {table.name}"), self._engine.connect() as conn:
                batch = conn.execute(query).all()
            yield from batch
            if len(batch) < CHUNK:
                return
            after = batch[-1].crm_id


def _window(
    table: Table, portal: str, since: datetime | None, until: datetime | None, partner_id: str | None
) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = [table.c.portal == portal]
    if since is not None:
        conds.append(table.c.created_at >= since)
    if until is not None:
        conds.append(table.c.created_at < until)
    if partner_id is not None:
        conds.append(table.c.partner_id == partner_id)
    return conds
