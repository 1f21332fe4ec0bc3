"""Deal registrations in batches: the intake's write path keeps its state here — registered (with the
channel-conflict decision, taken under a lock on the customer's identity), sent to the CRM (uncertain
until answered), created or failed — a batch of leads per transaction, so a 10,000-row import or a
burst of API submissions costs a few hundred short transactions, not tens of thousands."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, RowMapping, and_, func, or_, select, text, update

from crm_bridge.store.db import state_errors, write_transaction
from crm_bridge.store.engine_schema import intake_registrations
from crm_bridge.store.schema import bindings
from crm_bridge.store.upsert import insert_missing

IN_CHUNK = 500  # ids per IN (…) list: well under SQLite's 32,766 bound parameters


@dataclass(frozen=True, slots=True)
class Registration:
    """A deal registration: the lead a partner registered for a customer (identity normalised)."""

    external_id: str
    partner_id: str
    customer_name: str
    email: str
    phone: str
    tax_id: str
    source: str
    status: str  # pending | created | failed
    conflict: bool
    owner_partner_id: str | None
    reason: str
    registered_at: datetime
    progress_at: datetime
    lead_crm_id: str | None = None
    lead_stage: str | None = None
    expired_at: datetime | None = None
    error: str | None = None
    payload: dict[str, Any] | None = None  # the lead as submitted (the writer job's draft)
    sent_at: datetime | None = None  # a create carrying it was sent; pending + sent = uncertain
    id: int | None = None  # the registration id (``GET /v1/leads/{id}``)

    @property
    def uncertain(self) -> bool:
        """A create carrying this lead was sent and never answered for certain."""
        return self.status == "pending" and self.sent_at is not None


_REG_FIELDS = tuple(Registration.__dataclass_fields__)
_REG_COLUMNS = tuple(f for f in _REG_FIELDS if f != "id")

Decide = Callable[[Registration, list[Registration]], Registration]


def registration_of(m: Mapping[str, Any] | RowMapping) -> Registration:
    return Registration(**{name: m[name] for name in _REG_FIELDS})


def identity_lock_key(portal: str, kind: str, value: str) -> int:
    """A PostgreSQL advisory-lock key (signed 64-bit) for one identity value of a customer."""
    digest = hashlib.sha256(f"intake\x1f{portal}\x1f{kind}\x1f{value}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _chunks(items: Sequence[str]) -> Iterable[list[str]]:
    for start in range(0, len(items), IN_CHUNK):
        yield list(items[start : start + IN_CHUNK])


class RegistrationBatches:
    _engine: Engine

    def registrations(self, portal: str, external_ids: Sequence[str]) -> dict[str, Registration]:
        """The stored registrations of ``external_ids`` (absent ones left out)."""
        t = intake_registrations
        found: dict[str, Registration] = {}
        with state_errors("reading registrations"), self._engine.connect() as conn:
            for part in _chunks(list(dict.fromkeys(external_ids))):
                rows = conn.execute(select(t).where(t.c.portal == portal, t.c.external_id.in_(part)))
                found.update({r.external_id: registration_of(r._mapping) for r in rows})
        return found

    def registration_by_id(self, portal: str, registration_id: int) -> Registration | None:
        t = intake_registrations
        with state_errors("reading a registration"), self._engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.portal == portal, t.c.id == registration_id)).first()
        return registration_of(row._mapping) if row else None

    def register_many(self, portal: str, regs: Sequence[Registration], decide: Decide) -> list[Registration]:
        """Store each of ``regs`` (in order) whose external id is new, with the conflict decision
        ``decide(reg, earlier registrations sharing an identity key)`` returns; one already stored keeps
        its first decision. One transaction; the customers' identities are locked first (SQLite: the
        write lock of BEGIN IMMEDIATE; PostgreSQL: advisory locks per e-mail, phone and tax id, taken in
        a fixed order), so two registrations of one customer at the same moment are decided one after
        the other: the second sees the first and is the conflict."""
        t = intake_registrations
        out: list[Registration] = []
        with state_errors("saving registrations"), write_transaction(self._engine) as conn:
            if conn.dialect.name == "postgresql":
                keys = sorted(
                    {
                        identity_lock_key(portal, kind, value)
                        for reg in regs
                        for kind, value in (("e", reg.email), ("p", reg.phone), ("t", reg.tax_id))
                        if value
                    }
                )
                for key in keys:
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
            for reg in regs:
                stored = self._one(conn, portal, reg.external_id)
                if stored is None:
                    decided = decide(reg, self._matching(conn, portal, reg))
                    values = {name: getattr(decided, name) for name in _REG_COLUMNS}
                    conn.execute(
                        insert_missing(conn, t, ("portal", "external_id")), [{"portal": portal, **values}]
                    )
                    stored = self._one(conn, portal, reg.external_id)
                if stored is None:
                    raise AssertionError("invariant broken: a registration just stored is there")
                out.append(stored)
        return out

    def mark_sent(self, portal: str, external_ids: Sequence[str], at: datetime) -> None:
        """A create carrying these leads is about to go: until answered, their write is uncertain."""
        t = intake_registrations
        with state_errors("marking leads sent"), write_transaction(self._engine) as conn:
            for part in _chunks(list(external_ids)):
                cond = and_(t.c.portal == portal, t.c.external_id.in_(part), t.c.status == "pending")
                conn.execute(update(t).where(cond).values(sent_at=at))

    def record_results(
        self,
        portal: str,
        created: Sequence[tuple[str, str]],
        failed: Sequence[tuple[str, str]] = (),
        *,
        at: datetime,
    ) -> None:
        """``created``: (external id, CRM id) — the registration is created and the id binding bound;
        ``failed``: (external id, reason) the CRM refused. One transaction."""
        t, b = intake_registrations, bindings
        with state_errors("saving created leads"), write_transaction(self._engine) as conn:
            for ext, crm_id in created:
                cond = and_(t.c.portal == portal, t.c.external_id == ext)
                conn.execute(update(t).where(cond).values(status="created", lead_crm_id=crm_id, error=None))
            if created:
                rows = [
                    {
                        "portal": portal,
                        "entity": "lead",
                        "external_id": ext,
                        "crm_id": crm_id,
                        "status": "bound",
                        "payload_hash": "",
                        "reserved_at": at,
                        "bound_at": at,
                    }
                    for ext, crm_id in created
                ]
                conn.execute(insert_missing(conn, b, ("portal", "entity", "external_id")), rows)
                for ext, crm_id in created:  # a reservation left by an older crm-bridge
                    cond = and_(
                        b.c.portal == portal,
                        b.c.entity == "lead",
                        b.c.external_id == ext,
                        b.c.crm_id.is_(None),
                    )
                    conn.execute(update(b).where(cond).values(crm_id=crm_id, status="bound", bound_at=at))
            for ext, reason in failed:
                cond = and_(t.c.portal == portal, t.c.external_id == ext)
                conn.execute(update(t).where(cond).values(status="failed", error=reason))

    def queued(self, portal: str, source: str, limit: int) -> list[Registration]:
        """Registrations from ``source`` waiting to be created in the CRM, oldest first."""
        t = intake_registrations
        query = (
            select(t)
            .where(t.c.portal == portal, t.c.status == "pending", t.c.source == source)
            .order_by(t.c.id)
            .limit(limit)
        )
        with state_errors("reading the intake queue"), self._engine.connect() as conn:
            return [registration_of(r._mapping) for r in conn.execute(query)]

    def queue_size(self, portal: str, source: str) -> int:
        t = intake_registrations

        query = select(func.count()).where(
            t.c.portal == portal, t.c.status == "pending", t.c.source == source
        )
        with state_errors("reading the intake queue"), self._engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    @staticmethod
    def _one(conn: Connection, portal: str, external_id: str) -> Registration | None:
        t = intake_registrations
        row = conn.execute(select(t).where(t.c.portal == portal, t.c.external_id == external_id)).first()
        return registration_of(row._mapping) if row else None

    @staticmethod
    def _matching(conn: Connection, portal: str, reg: Registration) -> list[Registration]:
        t = intake_registrations
        pairs = ((t.c.email, reg.email), (t.c.phone, reg.phone), (t.c.tax_id, reg.tax_id))
        conds = [col == val for col, val in pairs if val]
        if not conds:
            return []
        query = select(t).where(t.c.portal == portal, or_(*conds)).order_by(t.c.registered_at, t.c.id)
        return [registration_of(r._mapping) for r in conn.execute(query)]
