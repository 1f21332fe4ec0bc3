"""State of tier moves waiting for something: a downgrade in its grace period or awaiting the head's
approval (``crm-bridge tiers approve ID``). Applied, cancelled and rejected rows stay as history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, select, update

from crm_bridge.store.db import state_errors, write_transaction
from crm_bridge.store.sales_schema import TIER_OPEN as OPEN
from crm_bridge.store.sales_schema import tier_pending as t
from crm_bridge.store.upsert import upsert_partial


@dataclass(frozen=True, slots=True)
class PendingTier:
    id: int
    partner_id: str
    from_tier: str | None
    to_tier: str | None
    reason: str
    status: str  # grace | awaiting_approval | applied | cancelled | rejected
    started_at: datetime
    effective_at: datetime
    decided_at: datetime | None = None
    decided_by: str | None = None


def _row(row: Any) -> PendingTier:
    m = row._mapping
    return PendingTier(**{name: m[name] for name in PendingTier.__dataclass_fields__})


class TierPendingRepository:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def open_for(self, portal: str, partner_id: str) -> PendingTier | None:
        query = select(t).where(t.c.portal == portal, t.c.partner_id == partner_id, t.c.status.in_(OPEN))
        with state_errors("reading pending tier moves"), self._engine.connect() as conn:
            row = conn.execute(query.order_by(t.c.id.desc())).first()
        return _row(row) if row else None

    def get(self, portal: str, pending_id: int) -> PendingTier | None:
        with state_errors("reading a pending tier move"), self._engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.portal == portal, t.c.id == pending_id)).first()
        return _row(row) if row else None

    def list(self, portal: str, statuses: tuple[str, ...] = OPEN) -> list[PendingTier]:
        query = select(t).where(t.c.portal == portal, t.c.status.in_(statuses)).order_by(t.c.id)
        with state_errors("reading pending tier moves"), self._engine.connect() as conn:
            return [_row(r) for r in conn.execute(query)]

    def upsert_open(
        self,
        portal: str,
        partner_id: str,
        *,
        from_tier: str | None,
        to_tier: str | None,
        reason: str,
        status: str,
        started_at: datetime,
        effective_at: datetime,
    ) -> PendingTier:
        """Create the partner's open row, or update the open one (target, reason, status, end of grace).
        One statement on the unique index of open rows: concurrent evaluations never make two."""
        values = {"from_tier": from_tier, "to_tier": to_tier, "reason": reason, "status": status}
        row = {
            "portal": portal,
            "partner_id": partner_id,
            "started_at": started_at,
            "effective_at": effective_at,
        }
        with state_errors("saving a pending tier move"), write_transaction(self._engine) as conn:
            keys, where = ("portal", "partner_id"), t.c.status.in_(OPEN)
            conn.execute(upsert_partial(conn, t, keys, where, (*values, "effective_at")), [{**row, **values}])
        found = self.open_for(portal, partner_id)
        if found is None:
            raise AssertionError("invariant broken: found is not None")
        return found

    def close(self, portal: str, pending_id: int, status: str, at: datetime, by: str | None = None) -> bool:
        """Move an open row to ``status`` (applied | cancelled | rejected); False when it was not open."""
        cond = and_(t.c.portal == portal, t.c.id == pending_id, t.c.status.in_(OPEN))
        with state_errors("closing a pending tier move"), write_transaction(self._engine) as conn:
            result = conn.execute(update(t).where(cond).values(status=status, decided_at=at, decided_by=by))
        return bool(result.rowcount)
