"""The CRM event queue (``crm_events``): what the event receivers stored before answering the CRM, for
the event worker to coalesce. Created by the Alembic revision ``0006_events``."""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, MetaData, String, Table, UniqueConstraint

from crm_bridge.store.types import UtcDateTime

metadata = MetaData()

# One row per event a receiver accepted. ``dedup_key`` is the CRM's own event id where it has one
# (HubSpot ``eventId``), else a digest of the event, so a redelivered event is stored once.
crm_events = Table(
    "crm_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("portal", String(200), nullable=False),
    Column("dedup_key", String(200), nullable=False),
    Column("source", String(32), nullable=False),  # webhook | offline
    Column("kind", String(100), nullable=False),  # the CRM's event type (deal.creation, ONCRMLEADADD…)
    Column("entity", String(32), nullable=False),  # partner | lead | deal | "" (not ours to sync)
    Column("crm_id", String(64), nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("processed_at", UtcDateTime, nullable=True),
    UniqueConstraint("portal", "dedup_key", name="uq_crm_events_dedup"),
    Index("ix_crm_events_pending", "portal", "processed_at", "id"),
)
