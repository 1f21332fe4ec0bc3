"""Partner API keys of the HTTP intake, as stored: salted hashes only (``services.intake.keys`` issues
and verifies them). Part of ``intake.IntakeRepository`` (``Store.intake``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, RowMapping, and_, select, update

from crm_bridge.store.db import state_errors, write_transaction
from crm_bridge.store.sales_schema import intake_api_keys


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    key_id: str
    partner_id: str
    salt: str
    secret_hash: str
    label: str
    created_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None


_KEY_FIELDS = tuple(ApiKeyRecord.__dataclass_fields__)


def _key(m: Mapping[str, Any] | RowMapping) -> ApiKeyRecord:
    return ApiKeyRecord(**{name: m[name] for name in _KEY_FIELDS})


class ApiKeyRows:
    """The API-key rows of one state store, keyed by ``portal`` (mixed into ``IntakeRepository``)."""

    _engine: Engine

    def add_key(self, portal: str, rec: ApiKeyRecord) -> None:
        values = {name: getattr(rec, name) for name in _KEY_FIELDS}
        with state_errors("saving an API key"), write_transaction(self._engine) as conn:
            conn.execute(intake_api_keys.insert().values(portal=portal, **values))

    def key(self, portal: str, key_id: str) -> ApiKeyRecord | None:
        t = intake_api_keys
        with state_errors("reading an API key"), self._engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.portal == portal, t.c.key_id == key_id)).first()
        return _key(row._mapping) if row else None

    def keys(self, portal: str, partner_id: str | None = None) -> list[ApiKeyRecord]:
        t = intake_api_keys
        query = select(t).where(t.c.portal == portal).order_by(t.c.created_at, t.c.key_id)
        if partner_id is not None:
            query = query.where(t.c.partner_id == partner_id)
        with state_errors("reading API keys"), self._engine.connect() as conn:
            return [_key(r._mapping) for r in conn.execute(query)]

    def revoke_key(self, portal: str, key_id: str, at: datetime) -> bool:
        t = intake_api_keys
        cond = and_(t.c.portal == portal, t.c.key_id == key_id, t.c.revoked_at.is_(None))
        with state_errors("revoking an API key"), write_transaction(self._engine) as conn:
            return bool(conn.execute(update(t).where(cond).values(revoked_at=at)).rowcount)

    def touch_key(self, portal: str, key_id: str, at: datetime) -> None:
        t = intake_api_keys
        cond = and_(t.c.portal == portal, t.c.key_id == key_id)
        with state_errors("updating an API key"), write_transaction(self._engine) as conn:
            conn.execute(update(t).where(cond).values(last_used_at=at))
