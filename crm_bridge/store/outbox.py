"""Outbox of pending pushes to the CRM (each with an idempotency key) and the audit log."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update

from crm_bridge.errors import StateError
from crm_bridge.redaction import redact
from crm_bridge.store.db import state_errors, write_transaction
from crm_bridge.store.schema import audit_log, outbox
from crm_bridge.store.upsert import insert_missing

PENDING = "pending"
DONE = "done"
FAILED = "failed"  # given up: no retry_at


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    kind: str
    idempotency_key: str
    payload: dict[str, Any]
    status: str  # pending | done | failed
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    finished_at: datetime | None
    result: dict[str, Any] | None
    last_error: str | None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    event: str
    details: dict[str, Any]
    at: datetime


def _item(r: Any) -> OutboxItem:
    return OutboxItem(
        r.id,
        r.kind,
        r.idempotency_key,
        dict(r.payload),
        r.status,
        r.attempts,
        r.created_at,
        r.next_attempt_at,
        r.finished_at,
        r.result,
        r.last_error,
    )


class OutboxRepository:
    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self._engine = engine
        self._clock = clock

    def enqueue(
        self,
        portal: str,
        kind: str,
        idempotency_key: str,
        payload: dict[str, Any],
        *,
        now: datetime | None = None,
    ) -> int:
        """Queue a push due at once; a (portal, kind, key) already queued is left as it is (whatever
        its status) and its id returned."""
        t = outbox
        at = now or self._clock()
        row = {
            "portal": portal,
            "kind": kind,
            "idempotency_key": idempotency_key,
            "payload": dict(payload),
            "status": PENDING,
            "attempts": 0,
            "created_at": at,
            "next_attempt_at": at,
        }
        with state_errors(f"queueing {kind} {idempotency_key}"), write_transaction(self._engine) as conn:
            conn.execute(insert_missing(conn, t, ["portal", "kind", "idempotency_key"]), [row])
            return int(
                conn.execute(
                    select(t.c.id).where(
                        t.c.portal == portal, t.c.kind == kind, t.c.idempotency_key == idempotency_key
                    )
                ).scalar_one()
            )

    def due(
        self, portal: str, kind: str | None = None, *, now: datetime, limit: int = 100
    ) -> list[OutboxItem]:
        """Pending items whose next attempt is due at ``now``, oldest due first."""
        t = outbox
        query = select(t).where(t.c.portal == portal, t.c.status == PENDING, t.c.next_attempt_at <= now)
        if kind is not None:
            query = query.where(t.c.kind == kind)
        with state_errors("reading the outbox"), self._engine.connect() as conn:
            found = conn.execute(query.order_by(t.c.next_attempt_at, t.c.id).limit(limit)).all()
        return [_item(r) for r in found]

    def undelivered(self, portal: str, kind: str, *, limit: int = 500) -> list[OutboxItem]:
        """Items whose last attempt failed (retrying, or given up), the most recent first."""
        t = outbox
        query = (
            select(t)
            .where(t.c.portal == portal, t.c.kind == kind, t.c.status != DONE, t.c.last_error.is_not(None))
            .order_by(t.c.id.desc())
            .limit(limit)
        )
        with state_errors("reading the outbox"), self._engine.connect() as conn:
            return [_item(r) for r in conn.execute(query).all()]

    def get(self, item_id: int) -> OutboxItem | None:
        with state_errors("reading the outbox"), self._engine.connect() as conn:
            row = conn.execute(select(outbox).where(outbox.c.id == item_id)).first()
        return _item(row) if row else None

    def mark_done(
        self, item_id: int, result: dict[str, Any] | None = None, *, now: datetime | None = None
    ) -> None:
        """The push succeeded: store ``result`` (e.g. the CRM id) and count the attempt."""
        self._finish(
            item_id, status=DONE, result=result, finished_at=now or self._clock(), next_attempt_at=None
        )

    def mark_failed(self, item_id: int, error: str, retry_at: datetime | None) -> None:
        """The attempt failed with ``error`` (stored redacted): try again at ``retry_at``, or give up
        (status failed) when it is None."""
        values: dict[str, Any] = {"last_error": redact(error)[:2000], "next_attempt_at": retry_at}
        if retry_at is None:
            values.update(status=FAILED, finished_at=self._clock())
        self._finish(item_id, **values)

    def _finish(self, item_id: int, **values: Any) -> None:
        t = outbox
        with state_errors(f"updating outbox item {item_id}"), write_transaction(self._engine) as conn:
            result = conn.execute(
                update(t).where(t.c.id == item_id).values(attempts=t.c.attempts + 1, **values)
            )
            if not result.rowcount:
                raise StateError(f"outbox item {item_id} does not exist")


class AuditRepository:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def audit(self, portal: str, event: str, details: dict[str, Any], at: datetime) -> int:
        """Append an audit entry (who did what: ``details`` must hold no secrets); returns its id."""
        with state_errors(f"writing audit event {event}"), write_transaction(self._engine) as conn:
            row = {"portal": portal, "event": event, "details": dict(details), "at": at}
            return int(conn.execute(insert(audit_log).values(**row)).inserted_primary_key[0])  # type: ignore[index]

    def audit_entries(
        self,
        portal: str,
        event: str | None = None,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
    ) -> list[AuditEntry]:
        """Entries in [since, until), oldest first; of one ``event`` kind when given."""
        t = audit_log
        query = select(t).where(t.c.portal == portal)
        if event is not None:
            query = query.where(t.c.event == event)
        if since is not None:
            query = query.where(t.c.at >= since)
        if until is not None:
            query = query.where(t.c.at < until)
        query = query.order_by(t.c.at, t.c.id)
        if limit is not None:
            query = query.limit(limit)
        with state_errors("reading the audit log"), self._engine.connect() as conn:
            return [AuditEntry(r.id, r.event, dict(r.details), r.at) for r in conn.execute(query)]
