"""Persistent JSON key-value namespaces (``ports.KeyValueState``): layout ids, OAuth token pairs,
discovered field codes of one adapter. ``set`` is committed when it returns."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, select

from crm_bridge.store.db import state_errors, write_transaction
from crm_bridge.store.schema import kv_entries
from crm_bridge.store.upsert import upsert


class KeyValueNamespace:
    """One namespace of the ``kv_entries`` table; implements ``crm_bridge.ports.KeyValueState``."""

    def __init__(self, engine: Engine, namespace: str, clock: Callable[[], datetime]) -> None:
        self._engine = engine
        self.namespace = namespace
        self._clock = clock

    def get(self, key: str) -> Any | None:
        """The stored JSON value, or None when ``key`` was never set (or was deleted)."""
        t = kv_entries
        with state_errors(f"reading {self.namespace}/{key}"), self._engine.connect() as conn:
            return conn.execute(
                select(t.c.value).where(t.c.namespace == self.namespace, t.c.key == key)
            ).scalar_one_or_none()

    def set(self, key: str, value: Any) -> None:
        """Store ``value`` (JSON-serialisable; None deletes the key); durable on return."""
        if value is None:
            self.delete(key)
            return
        row = {"namespace": self.namespace, "key": key, "value": value, "updated_at": self._clock()}
        with state_errors(f"writing {self.namespace}/{key}"), write_transaction(self._engine) as conn:
            conn.execute(upsert(conn, kv_entries, ["namespace", "key"]), [row])

    def delete(self, key: str) -> None:
        t = kv_entries
        with state_errors(f"deleting {self.namespace}/{key}"), write_transaction(self._engine) as conn:
            conn.execute(delete(t).where(t.c.namespace == self.namespace, t.c.key == key))

    def keys(self) -> list[str]:
        t = kv_entries
        with state_errors(f"listing {self.namespace}"), self._engine.connect() as conn:
            return list(
                conn.execute(
                    select(t.c.key).where(t.c.namespace == self.namespace).order_by(t.c.key)
                ).scalars()
            )
