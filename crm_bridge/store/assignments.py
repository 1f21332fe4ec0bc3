"""State of lead distribution: one row per partner lead crm-bridge assigned (who, why, the task and
its SLA deadline) and its escalation, so a rerun completes a half-done assignment instead of deciding
again, and a lead escalates at most once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select, update

from crm_bridge.store.db import state_errors, write_transaction
from crm_bridge.store.sales_schema import lead_assignments as t
from crm_bridge.store.upsert import upsert_partial


@dataclass(frozen=True, slots=True)
class AssignmentRecord:
    lead_crm_id: str
    partner_id: str | None
    manager_key: str | None
    manager_user_id: str | None
    strategy: str
    reason: str
    stage: str
    status: str  # pending | done | unassigned | skipped | failed
    assigned_at: datetime
    deadline: datetime | None = None
    task_external_id: str | None = None
    task_crm_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    escalated_at: datetime | None = None
    escalated_to: str | None = None
    touched_at: datetime | None = None


_FIELDS = tuple(AssignmentRecord.__dataclass_fields__)


def _record(row: Any) -> AssignmentRecord:
    m = row._mapping
    values = {name: m[name] for name in _FIELDS}
    values["details"] = dict(values["details"] or {})
    return AssignmentRecord(**values)


_COLUMNS = (
    "partner_id",
    "manager_key",
    "manager_user_id",
    "strategy",
    "reason",
    "stage",
    "status",
    "assigned_at",
    "deadline",
    "task_external_id",
    "task_crm_id",
    "details",
    "error",
)


class AssignmentRepository:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def get(self, portal: str, lead_crm_id: str) -> AssignmentRecord | None:
        with state_errors("reading an assignment"), self._engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.portal == portal, t.c.lead_crm_id == lead_crm_id)).first()
        return _record(row) if row else None

    def all(self, portal: str, status: str | None = None) -> list[AssignmentRecord]:
        query = select(t).where(t.c.portal == portal).order_by(t.c.assigned_at, t.c.id)
        if status is not None:
            query = query.where(t.c.status == status)
        with state_errors("reading assignments"), self._engine.connect() as conn:
            return [_record(r) for r in conn.execute(query)]

    def lead_ids(self, portal: str, statuses: tuple[str, ...]) -> set[str]:
        query = select(t.c.lead_crm_id).where(t.c.portal == portal, t.c.status.in_(statuses))
        with state_errors("reading assignments"), self._engine.connect() as conn:
            return {r[0] for r in conn.execute(query)}

    def save(self, portal: str, rec: AssignmentRecord) -> None:
        """Insert or replace the decision about ``rec.lead_crm_id`` (escalation fields untouched)."""
        values = {name: getattr(rec, name) for name in _COLUMNS}
        with state_errors("saving an assignment"), write_transaction(self._engine) as conn:
            # One statement on the unique (portal, lead) key: concurrent writers never collide.
            stmt = upsert_partial(conn, t, ("portal", "lead_crm_id"), None, tuple(values))
            conn.execute(stmt, [{"portal": portal, "lead_crm_id": rec.lead_crm_id, **values}])

    def mark(self, portal: str, lead_crm_id: str, **values: Any) -> None:
        """Set columns of one assignment (``status``, ``task_crm_id``, ``escalated_at``…)."""
        cond = (t.c.portal == portal) & (t.c.lead_crm_id == lead_crm_id)
        with state_errors("updating an assignment"), write_transaction(self._engine) as conn:
            conn.execute(update(t).where(cond).values(**values))

    def escalation_due(self, portal: str, now: datetime) -> list[AssignmentRecord]:
        """Done assignments at or past their deadline, not escalated and not seen touched: a pre-filter
        for ``services.sla.is_overdue`` (which decides; an overdue lead's deadline is never after
        ``now``, so none is missed — tests/store hold the two together)."""
        query = (
            select(t)
            .where(t.c.portal == portal, t.c.status == "done", t.c.deadline <= now)
            .where(t.c.escalated_at.is_(None), t.c.touched_at.is_(None))
            .order_by(t.c.deadline, t.c.id)
        )
        with state_errors("reading assignments"), self._engine.connect() as conn:
            return [_record(r) for r in conn.execute(query)]
