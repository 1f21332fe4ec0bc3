"""Repository of the CRM event queue (``crm_events``): receivers ``add`` events (a redelivered event,
same ``dedup_key``, is kept once) and commit before they answer; the event worker reads ``pending``
ones, and ``mark_processed`` them after their records are synced and distributed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, delete, func, select, update

from crm_bridge.ports import CrmEvent
from crm_bridge.store.db import state_errors, write_transaction
from crm_bridge.store.events_schema import crm_events
from crm_bridge.store.upsert import insert_missing


@dataclass(frozen=True, slots=True)
class QueuedEvent:
    id: int
    event: CrmEvent
    received_at: datetime


class EventQueueRepository:
    """The event queue of one state store (safe across threads and processes)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add(self, portal: str, events: Sequence[CrmEvent], at: datetime) -> int:
        """Store ``events`` in one transaction; returns how many were new (duplicates are skipped)."""
        if not events:
            return 0
        rows = [
            {
                "portal": portal,
                "dedup_key": e.dedup_key[:200],
                "source": e.source,
                "kind": e.kind[:100],
                "entity": e.entity.value if e.entity else "",
                "crm_id": e.crm_id[:64],
                "received_at": at,
                "processed_at": None,
            }
            for e in events
        ]
        with state_errors("storing CRM events"), write_transaction(self._engine) as conn:
            stmt = insert_missing(conn, crm_events, ["portal", "dedup_key"]).returning(crm_events.c.id)
            return len(conn.execute(stmt, rows).all())  # the rows a conflict skipped return nothing

    def pending(self, portal: str, limit: int = 5000) -> list[QueuedEvent]:
        """Unprocessed events, oldest first."""
        t = crm_events
        query = (
            select(t).where(t.c.portal == portal, t.c.processed_at.is_(None)).order_by(t.c.id).limit(limit)
        )
        with state_errors("reading CRM events"), self._engine.connect() as conn:
            return [_queued(r._mapping) for r in conn.execute(query)]

    def count_pending(self, portal: str) -> int:
        t = crm_events
        query = select(func.count()).select_from(t).where(t.c.portal == portal, t.c.processed_at.is_(None))
        with state_errors("reading CRM events"), self._engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def mark_processed(self, ids: Sequence[int], at: datetime) -> None:
        if not ids:
            return
        t = crm_events
        with state_errors("updating CRM events"), write_transaction(self._engine) as conn:
            for start in range(0, len(ids), 500):
                chunk = list(ids[start : start + 500])
                conn.execute(update(t).where(t.c.id.in_(chunk)).values(processed_at=at))

    def purge(self, portal: str, before: datetime) -> int:
        """Forget processed events received before ``before`` (kept until then for de-duplication)."""
        t = crm_events
        cond = (t.c.portal == portal) & t.c.processed_at.is_not(None) & (t.c.received_at < before)
        with state_errors("purging CRM events"), write_transaction(self._engine) as conn:
            return int(conn.execute(delete(t).where(cond)).rowcount or 0)


def _queued(m: object) -> QueuedEvent:
    from crm_bridge.ports import Entity

    row = dict(m)  # type: ignore[call-overload]
    event = CrmEvent(
        kind=row["kind"],
        entity=Entity(row["entity"]) if row["entity"] else None,
        crm_id=row["crm_id"],
        dedup_key=row["dedup_key"],
        source=row["source"],
    )
    return QueuedEvent(id=int(row["id"]), event=event, received_at=row["received_at"])
