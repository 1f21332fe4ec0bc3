"""Read-only figures an operator checks on a running bridge (``crm-bridge status``): sync cursors, the
outbox's depth and the shared rate budgets, as stored — whichever replica wrote them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, Integer, func, select

from crm_bridge.store.outbox import FAILED, PENDING
from crm_bridge.store.schema import budget_spend, outbox, rate_buckets, sync_cursors


@dataclass(frozen=True, slots=True)
class CursorRow:
    entity: str
    modified_at: datetime
    backfill_in_progress: bool


@dataclass(frozen=True, slots=True)
class OutboxDepth:
    kind: str
    pending: int
    due: int
    failed: int
    oldest_pending: datetime | None


@dataclass(frozen=True, slots=True)
class BudgetRow:
    key: str
    level: float  # requests in the bucket when it was last used
    updated: float  # Unix seconds of that use
    spent_last_hour: float  # sliding-window ledgers (e.g. a CRM's server time), 0 when none


def cursors(engine: Engine, portal: str) -> list[CursorRow]:
    t = sync_cursors
    with engine.connect() as conn:
        rows = conn.execute(
            select(t.c.entity, t.c.modified_at, t.c.resume).where(t.c.portal == portal).order_by(t.c.entity)
        ).all()
    return [CursorRow(r.entity, r.modified_at, bool(r.resume)) for r in rows]


def outbox_depth(engine: Engine, portal: str, now: datetime) -> list[OutboxDepth]:
    t = outbox
    open_ = t.c.status.in_([PENDING, FAILED])
    query = (
        select(
            t.c.kind,
            func.sum((t.c.status == PENDING).cast(Integer)),
            func.sum(((t.c.status == PENDING) & (t.c.next_attempt_at <= now)).cast(Integer)),
            func.sum((t.c.status == FAILED).cast(Integer)),
            func.min(t.c.created_at).filter(t.c.status == PENDING),
        )
        .where(t.c.portal == portal, open_)
        .group_by(t.c.kind)
        .order_by(t.c.kind)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [OutboxDepth(kind, int(p or 0), int(d or 0), int(f or 0), oldest) for kind, p, d, f, oldest in rows]


def budgets(engine: Engine, now: float) -> list[BudgetRow]:
    """Every bucket of the store (budgets are keyed by the CRM's host, shared by every portal and replica)."""
    b, s = rate_buckets, budget_spend
    with engine.connect() as conn:
        rows = conn.execute(select(b.c.key, b.c.level, b.c.updated).order_by(b.c.key)).all()
        spent = dict(
            conn.execute(  # type: ignore[arg-type]
                select(s.c.key, func.sum(s.c.amount)).where(s.c.at > now - 3600).group_by(s.c.key)
            ).all()
        )
    found = [BudgetRow(r.key, float(r.level), float(r.updated), float(spent.pop(r.key, 0.0))) for r in rows]
    found += [BudgetRow(key, 0.0, 0.0, float(total)) for key, total in sorted(spent.items())]
    return found
