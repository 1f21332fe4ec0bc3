"""The state store: SQLAlchemy Core over SQLite (default, WAL) or PostgreSQL, keyed by ``portal``
(which CRM instance, e.g. ``bitrix24:example.bitrix24.ru``). All datetimes are tz-aware UTC, money is
``Decimal``; every write is committed when its method returns; failures raise ``StateError``.

    store = open_store("sqlite:///crm_bridge.db")   # or "sqlite://" (memory), "postgresql+psycopg://…"
    ...                                            # schema created / upgraded on open
    store.close()

API (``Store``):
- ``kv(namespace) -> KeyValueState``: JSON values (``get``, ``set`` (None deletes), ``delete``, ``keys``).
- ``bucket``: ``ports.BucketStore`` — ``take(key, capacity=, drain_per_second=, now=) -> wait seconds``
  and ``take_all([ports.Bucket, …], now)`` (leaky buckets and fixed windows, all or nothing), atomic
  across processes (SELECT … FOR UPDATE / BEGIN IMMEDIATE).
- ``ledger``: ``ports.SpendLedger`` — ``spend([(key, at, amount)], forget_before=)``,
  ``spent(keys, since=) -> {key: [(at, amount)]}`` (sliding-window budgets such as server time).
- ``locks``: ``ports.LockProvider`` — ``with store.locks.lock(name, timeout=30):`` (PG advisory lock /
  SQLite lock row with expiry); StateError on timeout.
- Bindings (exactly-once creates): ``reserve(portal, entity, external_id, payload_hash="") -> Binding``
  (existing one returned unchanged), ``bind(portal, entity, external_id, crm_id) -> Binding`` (unique both
  ways, StateError on a conflicting id), ``lookup(portal, entity, external_id=|crm_id=)``,
  ``pending(portal, entity=None)``; ``store.bindings.release(...)`` drops a pending reservation.
- Sync: ``get_cursor(portal, entity) -> SyncCursor | None``; ``save_page(portal, RecordPage)`` upserts the
  records and moves the cursor in one transaction; readers ``partners(portal)``,
  ``leads(portal, since=None, partner_id=None, *, until=None)``,
  ``deals(portal, since=None, partner_id=None, *, until=None, funnel=None)`` are lazy iterators of domain
  objects (``since``/``until`` filter ``created_at``). ``store.records`` adds ``partner``/``lead`` by id,
  ``count`` and ``reset_cursor``.
- Strategy state: ``get_state(portal, name) -> dict | None``, ``set_state(portal, name, dict)``.
- Tier history: ``record_tier_change(portal, partner_id, from_tier, to_tier, reason, at, details=None)``
  returns the id; ``tier_history(portal, partner_id=None) -> list[TierChangeRecord]`` (oldest first).
- Outbox: ``enqueue(portal, kind, idempotency_key, payload, *, now=None) -> id`` (a duplicate key returns
  the existing id), ``due(portal, kind=None, *, now, limit=100) -> list[OutboxItem]``,
  ``mark_done(id, result=None)``, ``mark_failed(id, error, retry_at)`` (retry_at None = give up); both count
  ``attempts``. ``store.outbox.get(id)`` reads one item.
- Audit: ``audit(portal, event, details, at) -> id``,
  ``audit_entries(portal, event=None, *, since=None, until=None, limit=None)`` (oldest first).
- ``intake``: ``IntakeRepository`` (``intake.py``: registrations, partner API keys).

Adding or changing tables:
1. Declare them in a module of this package on a ``MetaData`` (see ``sales_schema.py``); use
   ``types.UtcDateTime``/``types.money()``/``types.JsonText`` for datetimes, money and JSON so SQLite
   and PostgreSQL behave alike. A new ``MetaData`` goes into ``target_metadata`` in
   ``migrations/env.py``.
2. Write an Alembic revision in ``migrations/versions/`` (``down_revision`` = the current head):
   ``alembic -c crm_bridge/store/migrations/alembic.ini revision --autogenerate -m "what"`` against a
   store at head (``CRM_BRIDGE_STATE_URL``), then read it: write the column types out (not this
   package's types), use ``op.batch_alter_table`` for ALTERs SQLite lacks. Every ``open_store``,
   ``crm-bridge run`` and ``crm-bridge db upgrade`` applies it, under a lock (see ``migrate``).
3. Write a repository class taking the ``Engine`` (``store.engine``): writes inside
   ``db.write_transaction(engine)``, reads in ``engine.connect()``, both wrapped in
   ``db.state_errors("what")``; upserts with ``upsert.upsert``/``upsert.insert_missing``. Expose it as a
   property on ``Store`` (like ``intake``).
"""

from __future__ import annotations

from crm_bridge.store.bindings import Binding
from crm_bridge.store.facade import DEFAULT_URL, Store, open_store
from crm_bridge.store.migrate import Migration
from crm_bridge.store.outbox import AuditEntry, OutboxItem
from crm_bridge.store.strategy import TierChangeRecord

__all__ = [
    "DEFAULT_URL",
    "AuditEntry",
    "Binding",
    "Migration",
    "OutboxItem",
    "Store",
    "TierChangeRecord",
    "open_store",
]
