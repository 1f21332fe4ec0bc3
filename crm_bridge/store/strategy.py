"""Strategy state (distribution cursors, tier evaluation counters: a JSON document per portal and
name) and the history of partner tier changes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select

from crm_bridge.store.db import state_errors, write_transaction
from crm_bridge.store.schema import strategy_state, tier_changes
from crm_bridge.store.upsert import upsert


@dataclass(frozen=True, slots=True)
class TierChangeRecord:
    id: int
    partner_id: str
    from_tier: str | None
    to_tier: str | None
    reason: str
    at: datetime
    details: dict[str, Any] = field(default_factory=dict)


class StrategyRepository:
    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self._engine = engine
        self._clock = clock

    def get_state(self, portal: str, name: str) -> dict[str, Any] | None:
        """The state saved under ``name``, or None before the first ``set_state``."""
        t = strategy_state
        with state_errors(f"reading state {name}"), self._engine.connect() as conn:
            value = conn.execute(
                select(t.c.value).where(t.c.portal == portal, t.c.name == name)
            ).scalar_one_or_none()
        return dict(value) if value is not None else None

    def set_state(self, portal: str, name: str, state: dict[str, Any]) -> None:
        """Replace the state saved under ``name`` (JSON-serialisable); durable on return."""
        row = {"portal": portal, "name": name, "value": dict(state), "updated_at": self._clock()}
        with state_errors(f"writing state {name}"), write_transaction(self._engine) as conn:
            conn.execute(upsert(conn, strategy_state, ["portal", "name"]), [row])

    def record_tier_change(
        self,
        portal: str,
        partner_id: str,
        from_tier: str | None,
        to_tier: str | None,
        reason: str,
        at: datetime,
        details: dict[str, Any] | None = None,
    ) -> int:
        """Append a tier change (``details``: the KPI figures behind it); returns its id."""
        row = {
            "portal": portal,
            "partner_id": partner_id,
            "from_tier": from_tier,
            "to_tier": to_tier,
            "reason": reason,
            "at": at,
            "details": dict(details or {}),
        }
        with (
            state_errors(f"recording the tier change of partner {partner_id}"),
            write_transaction(self._engine) as conn,
        ):
            return int(conn.execute(insert(tier_changes).values(**row)).inserted_primary_key[0])  # type: ignore[index]

    def tier_history(self, portal: str, partner_id: str | None = None) -> list[TierChangeRecord]:
        """Tier changes, oldest first; of one partner when ``partner_id`` is given."""
        t = tier_changes
        query = select(t).where(t.c.portal == portal)
        if partner_id is not None:
            query = query.where(t.c.partner_id == partner_id)
        with state_errors("reading tier history"), self._engine.connect() as conn:
            found = conn.execute(query.order_by(t.c.at, t.c.id)).all()
        return [
            TierChangeRecord(r.id, r.partner_id, r.from_tier, r.to_tier, r.reason, r.at, dict(r.details))
            for r in found
        ]
