"""Persistent JSON key-value namespaces (``ports.KeyValueState``): layout ids, OAuth token pairs,
discovered field codes of one adapter. ``set`` is committed when it returns.

Values under a key named like a secret (``crm_bridge.security.secrets.is_secret_key``: OAuth token
pairs...) are stored encrypted with the ``Keyring`` of ``CRM_BRIDGE_SECRET_KEY``; ``reseal_all`` is
the key rotation."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, select, update

from crm_bridge.security.secrets import Keyring, is_sealed, is_secret_key
from crm_bridge.store.db import state_errors, write_transaction
from crm_bridge.store.schema import kv_entries
from crm_bridge.store.upsert import upsert

log = logging.getLogger("crm_bridge.store.kv")


class KeyValueNamespace:
    """One namespace of the ``kv_entries`` table; implements ``crm_bridge.ports.KeyValueState``."""

    def __init__(
        self, engine: Engine, namespace: str, clock: Callable[[], datetime], keyring: Keyring | None = None
    ) -> None:
        self._engine = engine
        self.namespace = namespace
        self._clock = clock
        self._keyring = keyring or Keyring(lambda: None)

    def get(self, key: str) -> Any | None:
        """The stored JSON value, or None when ``key`` was never set (or was deleted). A secret is
        decrypted (SecretKeyError when ``CRM_BRIDGE_SECRET_KEY`` is missing or wrong)."""
        t = kv_entries
        with state_errors(f"reading {self.namespace}/{key}"), self._engine.connect() as conn:
            value = conn.execute(
                select(t.c.value).where(t.c.namespace == self.namespace, t.c.key == key)
            ).scalar_one_or_none()
        if isinstance(value, dict) and is_sealed(value):
            return self._keyring.open(value, f"{self.namespace}/{key}")
        if value is not None and is_secret_key(key):
            # written in plain text by a version before encryption: encrypt it now (or fail clearly)
            self._seal_legacy(key, value)
        return value

    def _seal_legacy(self, key: str, plain: Any) -> None:
        sealed = self._keyring.seal(plain)
        log.warning("state store: encrypting the plain-text secret %s/%s", self.namespace, key)
        t = kv_entries
        where = (t.c.namespace == self.namespace, t.c.key == key)
        with state_errors(f"encrypting {self.namespace}/{key}"), write_transaction(self._engine) as conn:
            current = conn.execute(select(t.c.value).where(*where).with_for_update()).scalar_one_or_none()
            if current == plain:  # unless another process rewrote it meanwhile
                conn.execute(update(t).where(*where).values(value=sealed, updated_at=self._clock()))

    def set(self, key: str, value: Any) -> None:
        """Store ``value`` (JSON-serialisable; None deletes the key); durable on return."""
        if value is None:
            self.delete(key)
            return
        stored = self._keyring.seal(value) if is_secret_key(key) else value
        row = {"namespace": self.namespace, "key": key, "value": stored, "updated_at": self._clock()}
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


def reseal_all(engine: Engine, keyring: Keyring, now: datetime) -> tuple[int, int]:
    """Re-encrypt every stored secret under the keyring's first key, and encrypt secrets still in
    plain text, in one transaction: all or nothing (SecretKeyError when a secret cannot be
    decrypted). Returns (re-encrypted, newly encrypted)."""
    keyring.check()
    t = kv_entries
    rotated = encrypted = 0
    with state_errors("re-encrypting the stored secrets"), write_transaction(engine) as conn:
        # FOR UPDATE (PostgreSQL; SQLite's BEGIN IMMEDIATE already excludes writers): a replica saving a
        # freshly refreshed token pair meanwhile waits instead of being overwritten with the old pair
        query = select(t.c.namespace, t.c.key, t.c.value).order_by(t.c.namespace, t.c.key).with_for_update()
        rows = conn.execute(query).all()
        for namespace, key, value in rows:
            if isinstance(value, dict) and is_sealed(value):
                new = keyring.rotate(value, f"{namespace}/{key}")
                rotated += 1
            elif is_secret_key(key):
                new = keyring.seal(value)
                encrypted += 1
            else:
                continue
            conn.execute(
                update(t).where(t.c.namespace == namespace, t.c.key == key).values(value=new, updated_at=now)
            )
    return rotated, encrypted


def check_secrets(engine: Engine, keyring: Keyring) -> tuple[int, int]:
    """(encrypted secrets the keyring decrypts, secrets still in plain text); SecretKeyError naming the
    first one the keyring cannot decrypt (or the variable, when it is missing). Changes nothing."""
    t = kv_entries
    with state_errors("reading the stored secrets"), engine.connect() as conn:
        rows = conn.execute(select(t.c.namespace, t.c.key, t.c.value)).all()
    sealed = plain = 0
    for namespace, key, value in rows:
        if isinstance(value, dict) and is_sealed(value):
            keyring.open(value, f"{namespace}/{key}")
            sealed += 1
        elif is_secret_key(key):
            plain += 1
    return sealed, plain
