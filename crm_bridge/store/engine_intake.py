"""State of the partner-lead intake: deal registrations (channel-conflict memory, exactly-once
reservation of each lead) and the partner API keys of the HTTP endpoint (salted hashes only)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from crm_bridge.store.engine_schema import intake_api_keys, intake_registrations


def utc(value: datetime | None) -> datetime | None:
    """Datetimes come back naive from SQLite: they were stored as UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Registration:
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
    lead_crm_id: str | None
    registered_at: datetime
    progress_at: datetime
    expired_at: datetime | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    key_id: str
    partner_id: str
    salt: str
    secret_hash: str
    label: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


def _registration(row: object) -> Registration:
    m = row._mapping  # type: ignore[attr-defined]
    return Registration(
        external_id=m["external_id"],
        partner_id=m["partner_id"],
        customer_name=m["customer_name"],
        email=m["email"],
        phone=m["phone"],
        tax_id=m["tax_id"],
        source=m["source"],
        status=m["status"],
        conflict=bool(m["conflict"]),
        owner_partner_id=m["owner_partner_id"],
        reason=m["reason"],
        lead_crm_id=m["lead_crm_id"],
        registered_at=utc(m["registered_at"]),  # type: ignore[arg-type]
        progress_at=utc(m["progress_at"]),  # type: ignore[arg-type]
        expired_at=utc(m["expired_at"]),
        error=m["error"],
    )


class IntakeRepository:
    """Registrations and API keys of one state store, keyed by ``portal``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # registrations
    def registration(self, portal: str, external_id: str) -> Registration | None:
        t = intake_registrations
        with self._engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.portal == portal, t.c.external_id == external_id)).first()
        return _registration(row) if row else None

    def add_registration(self, portal: str, reg: Registration) -> Registration:
        """Insert ``reg`` (status pending); when its external id is already there, keep and return
        the stored one: the first decision about a lead is final."""
        values = {
            "portal": portal,
            "external_id": reg.external_id,
            "partner_id": reg.partner_id,
            "customer_name": reg.customer_name,
            "email": reg.email,
            "phone": reg.phone,
            "tax_id": reg.tax_id,
            "source": reg.source,
            "status": reg.status,
            "conflict": reg.conflict,
            "owner_partner_id": reg.owner_partner_id,
            "reason": reg.reason,
            "lead_crm_id": reg.lead_crm_id,
            "registered_at": reg.registered_at,
            "progress_at": reg.progress_at,
        }
        try:
            with self._engine.begin() as conn:
                conn.execute(insert(intake_registrations).values(**values))
        except IntegrityError:
            pass
        stored = self.registration(portal, reg.external_id)
        assert stored is not None
        return stored

    def matching(self, portal: str, email: str, phone: str, tax_id: str) -> list[Registration]:
        """Registrations sharing any non-empty identity key, oldest first (expired ones included)."""
        t = intake_registrations
        conds = [
            col == val for col, val in ((t.c.email, email), (t.c.phone, phone), (t.c.tax_id, tax_id)) if val
        ]
        if not conds:
            return []
        query = select(t).where(t.c.portal == portal, or_(*conds)).order_by(t.c.registered_at, t.c.id)
        with self._engine.connect() as conn:
            return [_registration(r) for r in conn.execute(query)]

    def mark_created(self, portal: str, external_id: str, lead_crm_id: str) -> None:
        self._set(portal, external_id, status="created", lead_crm_id=lead_crm_id, error=None)

    def mark_failed(self, portal: str, external_id: str, error: str) -> None:
        self._set(portal, external_id, status="failed", error=error)

    def record_progress(self, portal: str, lead_crm_ids: Iterable[str], at: datetime) -> int:
        """The leads moved on in the CRM: their registrations' expiry clock restarts at ``at``."""
        t = intake_registrations
        ids = list(lead_crm_ids)
        if not ids:
            return 0
        with self._engine.begin() as conn:
            result = conn.execute(
                update(t)
                .where(t.c.portal == portal, t.c.lead_crm_id.in_(ids), t.c.expired_at.is_(None))
                .where(or_(t.c.progress_at < at, t.c.progress_at.is_(None)))
                .values(progress_at=at)
            )
        return int(result.rowcount or 0)

    def expire(self, portal: str, before: datetime, at: datetime) -> list[Registration]:
        """Mark registrations without progress since ``before`` as expired; returns them."""
        t = intake_registrations
        cond = and_(t.c.portal == portal, t.c.expired_at.is_(None), t.c.progress_at < before)
        with self._engine.begin() as conn:
            rows = [_registration(r) for r in conn.execute(select(t).where(cond))]
            conn.execute(update(t).where(cond).values(expired_at=at))
        return rows

    def _set(self, portal: str, external_id: str, **values: object) -> None:
        t = intake_registrations
        with self._engine.begin() as conn:
            conn.execute(
                update(t).where(t.c.portal == portal, t.c.external_id == external_id).values(**values)
            )

    # API keys
    def add_key(self, portal: str, rec: ApiKeyRecord) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                insert(intake_api_keys).values(
                    key_id=rec.key_id,
                    portal=portal,
                    partner_id=rec.partner_id,
                    salt=rec.salt,
                    secret_hash=rec.secret_hash,
                    label=rec.label,
                    created_at=rec.created_at,
                )
            )

    def key(self, portal: str, key_id: str) -> ApiKeyRecord | None:
        t = intake_api_keys
        with self._engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.portal == portal, t.c.key_id == key_id)).first()
        return _key(row) if row else None

    def keys(self, portal: str, partner_id: str | None = None) -> list[ApiKeyRecord]:
        t = intake_api_keys
        query = select(t).where(t.c.portal == portal).order_by(t.c.created_at, t.c.key_id)
        if partner_id is not None:
            query = query.where(t.c.partner_id == partner_id)
        with self._engine.connect() as conn:
            return [_key(r) for r in conn.execute(query)]

    def revoke_key(self, portal: str, key_id: str, at: datetime) -> bool:
        t = intake_api_keys
        with self._engine.begin() as conn:
            result = conn.execute(
                update(t)
                .where(t.c.portal == portal, t.c.key_id == key_id, t.c.revoked_at.is_(None))
                .values(revoked_at=at)
            )
        return bool(result.rowcount)

    def touch_key(self, portal: str, key_id: str, at: datetime) -> None:
        t = intake_api_keys
        with self._engine.begin() as conn:
            conn.execute(update(t).where(t.c.portal == portal, t.c.key_id == key_id).values(last_used_at=at))


def _key(row: object) -> ApiKeyRecord:
    m = row._mapping  # type: ignore[attr-defined]
    return ApiKeyRecord(
        key_id=m["key_id"],
        partner_id=m["partner_id"],
        salt=m["salt"],
        secret_hash=m["secret_hash"],
        label=m["label"],
        created_at=utc(m["created_at"]),  # type: ignore[arg-type]
        revoked_at=utc(m["revoked_at"]),
        last_used_at=utc(m["last_used_at"]),
    )
