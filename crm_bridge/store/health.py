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
class BucketRow:
    key: str
    level: float  # requests in the bucket when it was last used
    updated: float  # Unix seconds of that use


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
    return [
        OutboxDepth(kind, int(p or 0), int(d or 0), int(f or 0), oldest) for kind, p, d, f, oldest in rows
    ]


def buckets(engine: Engine) -> list[BucketRow]:
    """Every request bucket of the store (keyed by the CRM's host: shared by every portal and replica)."""
    b = rate_buckets
    with engine.connect() as conn:
        rows = conn.execute(select(b.c.key, b.c.level, b.c.updated).order_by(b.c.key)).all()
    return [BucketRow(r.key, float(r.level), float(r.updated)) for r in rows]


def window_spend(engine: Engine, since: float) -> dict[str, float]:
    """Amounts spent since ``since`` per sliding-window budget (``ports.SpendLedger``)."""
    s = budget_spend
    query = select(s.c.key, func.sum(s.c.amount)).where(s.c.at > since).group_by(s.c.key).order_by(s.c.key)
    with engine.connect() as conn:
        return {key: float(total) for key, total in conn.execute(query)}
