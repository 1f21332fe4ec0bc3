"""Leaky-bucket counters shared by every process on one state store (``ports.BucketStore``): each
``take`` is an atomic read-modify-write (row lock on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite)."""

from __future__ import annotations

from sqlalchemy import Engine, select, update

from crm_bridge.store.db import state_errors, write_transaction
from crm_bridge.store.schema import rate_buckets
from crm_bridge.store.upsert import insert_missing


def leak(level: float, updated: float, now: float, drain_per_second: float) -> float:
    """The bucket's level at ``now`` after draining since ``updated`` (a clock going backwards
    drains nothing)."""
    return max(0.0, level - max(0.0, now - updated) * drain_per_second)


def admit(level: float, capacity: float, drain_per_second: float) -> tuple[float, float]:
    """(new level, wait): one more request fits when the level stays within ``capacity``; otherwise
    the level is unchanged and ``wait`` is the seconds until it would fit."""
    if level + 1.0 <= capacity + 1e-9:
        return level + 1.0, 0.0
    if drain_per_second <= 0:
        return level, float("inf")
    return level, (level + 1.0 - capacity) / drain_per_second


class SqlBucketStore:
    """Implements ``crm_bridge.ports.BucketStore`` on the ``rate_buckets`` table."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def take(self, key: str, *, capacity: float, drain_per_second: float, now: float) -> float:
        """Add one request to bucket ``key`` if it fits and return 0.0; otherwise change nothing and
        return the seconds to wait. ``now`` is Unix time from the caller's clock."""
        t = rate_buckets
        with state_errors(f"rate bucket {key}"), write_transaction(self._engine) as conn:
            conn.execute(insert_missing(conn, t, ["key"]), [{"key": key, "level": 0.0, "updated": now}])
            level, updated = conn.execute(
                select(t.c.level, t.c.updated).where(t.c.key == key).with_for_update()
            ).one()
            current = leak(level, updated, now, drain_per_second)
            new_level, wait = admit(current, capacity, drain_per_second)
            if wait == 0.0:
                conn.execute(
                    update(t).where(t.c.key == key).values(level=new_level, updated=max(now, updated))
                )
        return wait

    def level(self, key: str, *, drain_per_second: float, now: float) -> float:
        """How full bucket ``key`` is at ``now`` (0 when never used)."""
        t = rate_buckets
        with state_errors(f"rate bucket {key}"), self._engine.connect() as conn:
            row = conn.execute(select(t.c.level, t.c.updated).where(t.c.key == key)).first()
        return 0.0 if row is None else leak(row[0], row[1], now, drain_per_second)
