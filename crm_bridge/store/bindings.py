"""Exactly-once creates (CONVENTIONS §11): a binding ties our idempotency key (``external_id``) to the
CRM id of the record it created, per portal and entity, unique both ways.

Write a pending binding with ``reserve`` before the CRM create (and put the key in a CRM field), then
``bind`` it to the new CRM id. After a crash, ``pending`` lists the creates to look up in the CRM
before creating anything again."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, select, update

from crm_bridge.errors import StateError
from crm_bridge.store.db import state_errors, write_transaction
from crm_bridge.store.schema import bindings
from crm_bridge.store.upsert import insert_missing

PENDING = "pending"
BOUND = "bound"


@dataclass(frozen=True, slots=True)
class Binding:
    entity: str
    external_id: str
    crm_id: str | None
    status: str  # pending | bound
    payload_hash: str
    reserved_at: datetime
    bound_at: datetime | None

    @property
    def bound(self) -> bool:
        return self.status == BOUND


def _binding(row: Any) -> Binding:
    return Binding(
        entity=row.entity,
        external_id=row.external_id,
        crm_id=row.crm_id,
        status=row.status,
        payload_hash=row.payload_hash,
        reserved_at=row.reserved_at,
        bound_at=row.bound_at,
    )


class BindingRepository:
    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self._engine = engine
        self._clock = clock

    def reserve(self, portal: str, entity: str, external_id: str, payload_hash: str = "") -> Binding:
        """Record the intent to create ``external_id``; returns the binding as stored. When it already
        exists (pending or bound) nothing changes and the existing binding is returned — check
        ``bound``/``crm_id`` before creating in the CRM."""
        t = bindings
        row = {
            "portal": portal,
            "entity": str(entity),
            "external_id": external_id,
            "crm_id": None,
            "status": PENDING,
            "payload_hash": payload_hash,
            "reserved_at": self._clock(),
        }
        with state_errors(f"reserving {entity} {external_id}"), write_transaction(self._engine) as conn:
            conn.execute(insert_missing(conn, t, ["portal", "entity", "external_id"]), [row])
            stored = conn.execute(select(t).where(*self._key(portal, entity, external_id))).one()
        return _binding(stored)

    def bind(self, portal: str, entity: str, external_id: str, crm_id: str) -> Binding:
        """Mark ``external_id`` as created with ``crm_id`` (reserving it first if needed). Binding it
        again to the same id is a no-op; a different id on either side raises StateError."""
        t = bindings
        what = f"binding {entity} {external_id}"
        with state_errors(what), write_transaction(self._engine) as conn:
            other = conn.execute(
                select(t.c.external_id).where(
                    t.c.portal == portal, t.c.entity == str(entity), t.c.crm_id == crm_id
                )
            ).scalar_one_or_none()
            if other is not None and other != external_id:
                raise StateError(f"{entity} {crm_id} is already bound to external id {other!r}")
            current = conn.execute(select(t).where(*self._key(portal, entity, external_id))).first()
            now = self._clock()
            if current is None:
                conn.execute(
                    bindings.insert().values(
                        portal=portal,
                        entity=str(entity),
                        external_id=external_id,
                        crm_id=crm_id,
                        status=BOUND,
                        payload_hash="",
                        reserved_at=now,
                        bound_at=now,
                    )
                )
            elif current.crm_id not in (None, crm_id):
                raise StateError(f"{entity} {external_id} is already bound to CRM id {current.crm_id}")
            elif current.crm_id is None:
                conn.execute(
                    update(t)
                    .where(*self._key(portal, entity, external_id))
                    .values(crm_id=crm_id, status=BOUND, bound_at=now)
                )
            stored = conn.execute(select(t).where(*self._key(portal, entity, external_id))).one()
        return _binding(stored)

    def release(self, portal: str, entity: str, external_id: str) -> bool:
        """Drop a pending reservation (the create definitely did not happen). Bound ones stay."""
        t = bindings
        with state_errors(f"releasing {entity} {external_id}"), write_transaction(self._engine) as conn:
            result = conn.execute(
                delete(t).where(*self._key(portal, entity, external_id), t.c.status == PENDING)
            )
        return bool(result.rowcount)

    def lookup(
        self, portal: str, entity: str, *, external_id: str | None = None, crm_id: str | None = None
    ) -> Binding | None:
        """The binding by our key or by the CRM id (give exactly one)."""
        if (external_id is None) == (crm_id is None):
            raise ValueError("lookup needs exactly one of external_id and crm_id")
        t = bindings
        cond = t.c.external_id == external_id if external_id is not None else t.c.crm_id == crm_id
        with state_errors(f"looking up {entity}"), self._engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.portal == portal, t.c.entity == str(entity), cond)).first()
        return _binding(row) if row else None

    def pending(self, portal: str, entity: str | None = None) -> list[Binding]:
        """Reservations never bound (a create that may or may not have reached the CRM), oldest first."""
        t = bindings
        query = select(t).where(t.c.portal == portal, t.c.status == PENDING)
        if entity is not None:
            query = query.where(t.c.entity == str(entity))
        with state_errors("listing pending bindings"), self._engine.connect() as conn:
            return [_binding(r) for r in conn.execute(query.order_by(t.c.reserved_at, t.c.id))]

    @staticmethod
    def _key(portal: str, entity: str, external_id: str) -> tuple[Any, ...]:
        t = bindings
        return (t.c.portal == portal, t.c.entity == str(entity), t.c.external_id == external_id)
