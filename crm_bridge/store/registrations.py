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

from sqlalchemy import Connection, Engine, RowMapping, and_, bindparam, func, select, text, update

from crm_bridge.domain.model import IDENTITY_KINDS, CustomerIdentity
from crm_bridge.store.db import state_errors, write_transaction
from crm_bridge.store.sales_schema import intake_registrations
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


def _keys(reg: Registration) -> tuple[tuple[str, str], ...]:
    """The identity keys the store indexes and locks: the domain's (``CustomerIdentity.keys``)."""
    return CustomerIdentity(email=reg.email, phone=reg.phone, tax_id=reg.tax_id).keys()


def _index(by_identity: dict[tuple[str, str], list[Registration]], reg: Registration) -> None:
    for key in _keys(reg):
        by_identity.setdefault(key, []).append(reg)


def _candidates(
    by_identity: dict[tuple[str, str], list[Registration]], reg: Registration
) -> list[Registration]:
    """Registrations sharing any non-empty identity key with ``reg``: exactly those the domain's
    ``same_customer`` says are the same customer (``check_registration`` then decides who owns it;
    tests/store hold the two together), in the order they were registered."""
    seen: dict[str, Registration] = {}
    for key in _keys(reg):
        for other in by_identity.get(key, []):
            seen.setdefault(other.external_id, other)
    return sorted(seen.values(), key=lambda r: (r.registered_at, r.id if r.id is not None else 1 << 62))


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
                        identity_lock_key(portal, kind[0], value)  # "e", "p", "t": as before
                        for reg in regs
                        for kind, value in _keys(reg)
                    }
                )
                if keys:  # in one statement, in key order (two batches never wait on each other in a circle)
                    conn.execute(
                        text(
                            "SELECT count(pg_advisory_xact_lock(k)) FROM "
                            "(SELECT unnest(CAST(:keys AS bigint[])) AS k ORDER BY k) AS ordered"
                        ),
                        {"keys": keys},
                    )
            found = self._by_external_id(conn, portal, [r.external_id for r in regs])
            by_identity: dict[tuple[str, str], list[Registration]] = {}
            for stored in self._sharing_identity(conn, portal, regs):
                _index(by_identity, stored)
            inserted: list[dict[str, Any]] = []
            for reg in regs:
                if reg.external_id in found:
                    continue
                earlier = _candidates(by_identity, reg)
                decided = decide(reg, earlier)
                _index(by_identity, decided)  # a later one of this batch sees it
                found[reg.external_id] = decided
                inserted.append({"portal": portal, **{n: getattr(decided, n) for n in _REG_COLUMNS}})
            if inserted:
                conn.execute(insert_missing(conn, t, ("portal", "external_id")), inserted)
                found.update(self._by_external_id(conn, portal, [row["external_id"] for row in inserted]))
            out = [found[reg.external_id] for reg in regs]
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
        by_ext = and_(t.c.portal == portal, t.c.external_id == bindparam("ext"))
        with state_errors("saving created leads"), write_transaction(self._engine) as conn:
            if created:
                conn.execute(
                    update(t)
                    .where(by_ext)
                    .values(status="created", lead_crm_id=bindparam("b_crm_id"), error=None),
                    [{"ext": ext, "b_crm_id": crm_id} for ext, crm_id in created],
                )
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
                reserved = and_(  # a reservation left by an older crm-bridge
                    b.c.portal == portal,
                    b.c.entity == "lead",
                    b.c.external_id == bindparam("ext"),
                    b.c.crm_id.is_(None),
                )
                conn.execute(
                    update(b)
                    .where(reserved)
                    .values(crm_id=bindparam("b_crm_id"), status="bound", bound_at=at),
                    [{"ext": ext, "b_crm_id": crm_id} for ext, crm_id in created],
                )
            if failed:
                conn.execute(
                    update(t).where(by_ext).values(status="failed", error=bindparam("b_reason")),
                    [{"ext": ext, "b_reason": reason} for ext, reason in failed],
                )

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
    def _by_external_id(
        conn: Connection, portal: str, external_ids: Sequence[str]
    ) -> dict[str, Registration]:
        t = intake_registrations
        found: dict[str, Registration] = {}
        for part in _chunks(list(dict.fromkeys(external_ids))):
            rows = conn.execute(select(t).where(t.c.portal == portal, t.c.external_id.in_(part)))
            found.update({r.external_id: registration_of(r._mapping) for r in rows})
        return found

    @staticmethod
    def _sharing_identity(conn: Connection, portal: str, regs: Sequence[Registration]) -> list[Registration]:
        """Stored registrations sharing an e-mail, phone or tax id with any of ``regs``, oldest first
        (a pre-filter: ``_candidates`` says which concern which)."""
        t = intake_registrations
        out: dict[int, Registration] = {}
        for kind in IDENTITY_KINDS:  # the same parts the domain compares
            values = sorted({value for r in regs for k, value in _keys(r) if k == kind})
            for part in _chunks(values):
                for row in conn.execute(select(t).where(t.c.portal == portal, t.c[kind].in_(part))):
                    out[row.id] = registration_of(row._mapping)
        return sorted(out.values(), key=lambda r: (r.registered_at, r.id or 0))
