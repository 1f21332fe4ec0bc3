"""``Store``: one object over the state store's repositories, and ``open_store`` which connects and
creates/migrates the schema."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from crm_bridge.domain.model import Deal, Lead, Partner
from crm_bridge.errors import StateError
from crm_bridge.ports import Entity, RecordPage, SyncCursor
from crm_bridge.security.secrets import ENV as SECRET_KEY_ENV
from crm_bridge.security.secrets import Keyring
from crm_bridge.store.bindings import Binding, BindingRepository
from crm_bridge.store.bucket import SqlBucketStore, SqlSpendLedger
from crm_bridge.store.db import make_engine, safe_url, state_errors
from crm_bridge.store.events import EventQueueRepository
from crm_bridge.store.kv import KeyValueNamespace, check_secrets, reseal_all
from crm_bridge.store.lifecycle import LifecycleRepository, PlanRepository, TrainingRepository
from crm_bridge.store.locks import SqlLockProvider
from crm_bridge.store.migrate import Migration, upgrade
from crm_bridge.store.outbox import AuditEntry, AuditRepository, OutboxItem, OutboxRepository
from crm_bridge.store.records import RecordRepository
from crm_bridge.store.strategy import StrategyRepository, TierChangeRecord

if TYPE_CHECKING:
    from crm_bridge.store.intake import IntakeRepository

DEFAULT_URL = "sqlite:///crm_bridge.db"


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Store:
    """The state store. Every method is safe to call from several threads and processes at once;
    writes are committed when the method returns. Failures raise StateError."""

    def __init__(
        self, engine: Engine, *, clock: Callable[[], datetime] = _utc_now, keyring: Keyring | None = None
    ) -> None:
        self.engine = engine  # for repositories of other components (see the package docstring)
        # secrets at rest: the keys are read from the process environment on first use
        self.keyring = keyring or Keyring(lambda: os.environ.get(SECRET_KEY_ENV))
        self.migration: Migration | None = None  # what open_store's upgrade did
        self._clock = clock
        self.bucket = SqlBucketStore(engine)  # ports.BucketStore
        self.ledger = SqlSpendLedger(engine)  # ports.SpendLedger
        self.locks = SqlLockProvider(engine)  # ports.LockProvider
        self.bindings = BindingRepository(engine, clock)
        self.records = RecordRepository(engine)
        self.strategy = StrategyRepository(engine, clock)
        self.outbox = OutboxRepository(engine, clock)
        self.audit_log = AuditRepository(engine)
        self.lifecycle = LifecycleRepository(engine, clock)
        self.plans = PlanRepository(engine, clock)
        self.training = TrainingRepository(engine, clock)
        self.events = EventQueueRepository(engine)  # CRM events the receivers stored
        self._intake: IntakeRepository | None = None

    def close(self) -> None:
        """Close every pooled connection (idempotent)."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # key-value state
    def kv(self, namespace: str) -> KeyValueNamespace:
        """A ``ports.KeyValueState`` namespace (e.g. ``adapter:<portal>``)."""
        return KeyValueNamespace(self.engine, namespace, self._clock, self.keyring)

    def rotate_secrets(self) -> tuple[int, int]:
        """Re-encrypt every stored secret under the first key of ``CRM_BRIDGE_SECRET_KEY`` (and
        encrypt plain-text ones); all or nothing. Returns (re-encrypted, newly encrypted)."""
        return reseal_all(self.engine, self.keyring, self._clock())

    def check_secrets(self) -> tuple[int, int]:
        """(encrypted secrets the key decrypts, plain-text ones); SecretKeyError when it cannot."""
        return check_secrets(self.engine, self.keyring)

    # intake (sales_schema tables)
    @property
    def intake(self) -> IntakeRepository:
        """Intake registrations and partner API keys (``store/intake.py``)."""
        if self._intake is None:
            from crm_bridge.store.intake import IntakeRepository

            self._intake = IntakeRepository(self.engine)
        return self._intake

    # id bindings (exactly-once creates)
    def reserve(self, portal: str, entity: str, external_id: str, payload_hash: str = "") -> Binding:
        return self.bindings.reserve(portal, entity, external_id, payload_hash)

    def bind(self, portal: str, entity: str, external_id: str, crm_id: str) -> Binding:
        return self.bindings.bind(portal, entity, external_id, crm_id)

    def lookup(
        self, portal: str, entity: str, *, external_id: str | None = None, crm_id: str | None = None
    ) -> Binding | None:
        return self.bindings.lookup(portal, entity, external_id=external_id, crm_id=crm_id)

    def pending(self, portal: str, entity: str | None = None) -> list[Binding]:
        return self.bindings.pending(portal, entity)

    # sync cursors and replicated records
    def get_cursor(self, portal: str, entity: Entity) -> SyncCursor | None:
        return self.records.get_cursor(portal, entity)

    def save_page(self, portal: str, page: RecordPage) -> None:
        self.records.save_page(portal, page)

    def partners(self, portal: str) -> Iterator[Partner]:
        return self.records.partners(portal)

    def leads(
        self,
        portal: str,
        since: datetime | None = None,
        partner_id: str | None = None,
        *,
        until: datetime | None = None,
    ) -> Iterator[Lead]:
        return self.records.leads(portal, since, partner_id, until=until)

    def deals(
        self,
        portal: str,
        since: datetime | None = None,
        partner_id: str | None = None,
        *,
        until: datetime | None = None,
        funnel: str | None = None,
    ) -> Iterator[Deal]:
        return self.records.deals(portal, since, partner_id, until=until, funnel=funnel)

    # strategy state and tier history
    def get_state(self, portal: str, name: str) -> dict[str, Any] | None:
        return self.strategy.get_state(portal, name)

    def set_state(self, portal: str, name: str, state: dict[str, Any]) -> None:
        self.strategy.set_state(portal, name, state)

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
        return self.strategy.record_tier_change(portal, partner_id, from_tier, to_tier, reason, at, details)

    def tier_history(self, portal: str, partner_id: str | None = None) -> list[TierChangeRecord]:
        return self.strategy.tier_history(portal, partner_id)

    # outbox
    def enqueue(
        self,
        portal: str,
        kind: str,
        idempotency_key: str,
        payload: dict[str, Any],
        *,
        now: datetime | None = None,
    ) -> int:
        return self.outbox.enqueue(portal, kind, idempotency_key, payload, now=now)

    def due(
        self, portal: str, kind: str | None = None, *, now: datetime, limit: int = 100
    ) -> list[OutboxItem]:
        return self.outbox.due(portal, kind, now=now, limit=limit)

    def mark_done(
        self, item_id: int, result: dict[str, Any] | None = None, *, now: datetime | None = None
    ) -> None:
        self.outbox.mark_done(item_id, result, now=now)

    def mark_failed(self, item_id: int, error: str, retry_at: datetime | None) -> None:
        self.outbox.mark_failed(item_id, error, retry_at)

    # audit log
    def audit(self, portal: str, event: str, details: dict[str, Any], at: datetime) -> int:
        return self.audit_log.audit(portal, event, details, at)

    def audit_entries(
        self,
        portal: str,
        event: str | None = None,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
    ) -> list[AuditEntry]:
        return self.audit_log.audit_entries(portal, event, since=since, until=until, limit=limit)


def open_store(
    url: str = DEFAULT_URL,
    *,
    migrate: bool = True,
    clock: Callable[[], datetime] = _utc_now,
    keyring: Keyring | None = None,
) -> Store:
    """Connect to ``url`` (``sqlite:///path.db``, ``sqlite://`` in memory, ``postgresql+psycopg://…``)
    and create or upgrade the schema (Alembic, ``crm_bridge.store.migrate``; ``migrate=False`` skips it,
    for ``crm-bridge db current``). ``keyring``: the keys secrets are stored under (default:
    ``CRM_BRIDGE_SECRET_KEY`` from the process environment, read on first use). Raises StateError
    (message without the password)."""
    engine = make_engine(url)
    try:
        with state_errors(f"opening {safe_url(url)}"):
            migration = upgrade(engine) if migrate else None
    except StateError:
        engine.dispose()
        raise
    store = Store(engine, clock=clock, keyring=keyring)
    store.migration = migration
    return store
