"""State of the partner-lead intake (``Store.intake``): deal registrations one at a time
(channel-conflict memory, exactly-once reservation of each lead), their batches (``registrations``) and
the partner API keys of the HTTP endpoint (``api_keys``)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Engine, and_, select, update

from crm_bridge.store.api_keys import ApiKeyRows
from crm_bridge.store.db import state_errors, write_transaction
from crm_bridge.store.registrations import _REG_COLUMNS, RegistrationBatches
from crm_bridge.store.registrations import Registration as Registration
from crm_bridge.store.registrations import registration_of as _registration
from crm_bridge.store.sales_schema import intake_registrations
from crm_bridge.store.upsert import insert_missing


class IntakeRepository(RegistrationBatches, ApiKeyRows):
    """Registrations and API keys of one state store, keyed by ``portal``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def registration(self, portal: str, external_id: str) -> Registration | None:
        t = intake_registrations
        with state_errors("reading a registration"), self._engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.portal == portal, t.c.external_id == external_id)).first()
        return _registration(row._mapping) if row else None

    def add_registration(self, portal: str, reg: Registration) -> Registration:
        """Insert ``reg``; when its external id is already there, keep and return the stored one: the
        first decision about a lead is final."""
        values = {name: getattr(reg, name) for name in _REG_COLUMNS}
        with state_errors("saving a registration"), write_transaction(self._engine) as conn:
            conn.execute(
                insert_missing(conn, intake_registrations, ("portal", "external_id")),
                [{"portal": portal, **values}],
            )
        stored = self.registration(portal, reg.external_id)
        if stored is None:
            raise AssertionError("invariant broken: stored is not None")
        return stored

    def with_leads(self, portal: str) -> list[Registration]:
        """Live (not expired) registrations whose lead exists in the CRM."""
        t = intake_registrations
        query = select(t).where(t.c.portal == portal, t.c.lead_crm_id.is_not(None), t.c.expired_at.is_(None))
        with state_errors("reading registrations"), self._engine.connect() as conn:
            return [_registration(r._mapping) for r in conn.execute(query.order_by(t.c.id))]

    def of_partner(self, portal: str, partner_id: str) -> list[Registration]:
        """Every registration ``partner_id`` made (newest first), whatever became of it."""
        t = intake_registrations
        query = select(t).where(t.c.portal == portal, t.c.partner_id == partner_id)
        with state_errors("reading registrations"), self._engine.connect() as conn:
            return [_registration(r._mapping) for r in conn.execute(query.order_by(t.c.id.desc()))]

    def mark_created(self, portal: str, external_id: str, lead_crm_id: str) -> None:
        self._set(portal, external_id, status="created", lead_crm_id=lead_crm_id, error=None)

    def mark_failed(self, portal: str, external_id: str, error: str) -> None:
        self._set(portal, external_id, status="failed", error=error)

    def record_progress(self, portal: str, progress: Iterable[tuple[str, str, datetime]]) -> int:
        """``(external_id, stage, at)``: the lead is now in ``stage``; the expiry clock restarts."""
        count = 0
        with state_errors("saving registration progress"), write_transaction(self._engine) as conn:
            for external_id, stage, at in progress:
                t = intake_registrations
                cond = and_(t.c.portal == portal, t.c.external_id == external_id)
                count += conn.execute(update(t).where(cond).values(lead_stage=stage, progress_at=at)).rowcount
        return count

    def expire(self, portal: str, external_ids: Iterable[str], at: datetime) -> int:
        t = intake_registrations
        ids = list(external_ids)
        if not ids:
            return 0
        cond = and_(t.c.portal == portal, t.c.external_id.in_(ids), t.c.expired_at.is_(None))
        with state_errors("expiring registrations"), write_transaction(self._engine) as conn:
            return int(conn.execute(update(t).where(cond).values(expired_at=at)).rowcount or 0)

    def _set(self, portal: str, external_id: str, **values: object) -> None:
        t = intake_registrations
        cond = and_(t.c.portal == portal, t.c.external_id == external_id)
        with state_errors("updating a registration"), write_transaction(self._engine) as conn:
            conn.execute(update(t).where(cond).values(**values))
