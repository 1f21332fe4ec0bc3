"""Tables of the state store's core component (version ``CORE_VERSION``): key-value state, rate-limit
buckets, locks, id bindings, sync cursors, replicated partners/leads/deals, strategy state, tier history,
outbox and audit log. Every business table is keyed by ``portal`` (which CRM instance)."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from crm_bridge.store.types import JsonText, UtcDateTime, money

CORE_VERSION = 4  # 2: budget_spend; 3: sync_cursors.resume (a backfill's position when it stopped midway);
# 4: job_leases and replicas (several daemons on one PostgreSQL store)

metadata = MetaData()

PORTAL = 200  # "bitrix24:example.bitrix24.ru"
CRM_ID = 64
KEY = 200

kv_entries = Table(
    "kv_entries",
    metadata,
    Column("namespace", String(KEY), primary_key=True),
    Column("key", String(KEY), primary_key=True),
    Column("value", JsonText, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# Leaky buckets: ``level`` requests in the bucket as of ``updated`` (Unix seconds, the caller's clock).
rate_buckets = Table(
    "rate_buckets",
    metadata,
    Column("key", String(KEY), primary_key=True),
    Column("level", Float, nullable=False),
    Column("updated", Float, nullable=False),
)

# Sliding-window budgets (``ports.SpendLedger``): ``amount`` spent under ``key`` at ``at`` (Unix seconds).
budget_spend = Table(
    "budget_spend",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(KEY), nullable=False),
    Column("at", Float, nullable=False),
    Column("amount", Float, nullable=False),
    Index("ix_budget_spend_key_at", "key", "at"),
)

# SQLite named locks (PostgreSQL uses advisory locks instead): a row per held lock.
named_locks = Table(
    "named_locks",
    metadata,
    Column("name", String(KEY), primary_key=True),
    Column("owner", String(64), nullable=False),
    Column("expires", Float, nullable=False),  # Unix seconds: a crashed holder's row stops counting
)

# Exactly-once creates (CONVENTIONS §11): our idempotency key <-> the CRM id, unique both ways.
bindings = Table(
    "bindings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("portal", String(PORTAL), nullable=False),
    Column("entity", String(32), nullable=False),
    Column("external_id", String(KEY), nullable=False),
    Column("crm_id", String(CRM_ID), nullable=True),
    Column("status", String(16), nullable=False),  # pending | bound
    Column("payload_hash", String(128), nullable=False, default=""),
    Column("reserved_at", UtcDateTime, nullable=False),
    Column("bound_at", UtcDateTime, nullable=True),
    UniqueConstraint("portal", "entity", "external_id", name="uq_bindings_external"),
    UniqueConstraint("portal", "entity", "crm_id", name="uq_bindings_crm"),
)

sync_cursors = Table(
    "sync_cursors",
    metadata,
    Column("portal", String(PORTAL), primary_key=True),
    Column("entity", String(32), primary_key=True),
    Column("modified_at", UtcDateTime, nullable=False),
    Column("last_id", String(CRM_ID), nullable=False, default=""),
    Column("resume", String(KEY), nullable=False, default="", server_default=""),
)

partners = Table(
    "partners",
    metadata,
    Column("portal", String(PORTAL), primary_key=True),
    Column("crm_id", String(CRM_ID), primary_key=True),
    Column("name", Text, nullable=False),
    Column("type", String(32), nullable=True),
    Column("tier", String(64), nullable=True),
    Column("curator_key", String(64), nullable=True),
    Column("acquisition_stage", String(64), nullable=True),
    Column("region", String(200), nullable=False, default=""),
    Column("competencies", JsonText, nullable=False),  # sorted list
    Column("qualification", JsonText, nullable=False),  # criterion -> score
    Column("partner_since", UtcDateTime, nullable=True),
    Column("training_completed", Boolean, nullable=False, default=False),
    Column("modified_at", UtcDateTime, nullable=True),
)

leads = Table(
    "leads",
    metadata,
    Column("portal", String(PORTAL), primary_key=True),
    Column("crm_id", String(CRM_ID), primary_key=True),
    Column("partner_id", String(CRM_ID), nullable=True),
    Column("title", Text, nullable=False),
    Column("stage", String(64), nullable=False),
    Column("stage_kind", String(8), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("email", String(254), nullable=False, default=""),
    Column("phone", String(40), nullable=False, default=""),
    Column("tax_id", String(20), nullable=False, default=""),
    Column("customer_name", Text, nullable=False, default=""),
    Column("amount", money(), nullable=False),
    Column("currency", String(8), nullable=False, default=""),
    Column("manager_user_id", String(CRM_ID), nullable=True),
    Column("external_id", String(KEY), nullable=True),
    Column("region", String(200), nullable=False, default=""),
    Column("specialisation", String(200), nullable=False, default=""),
    Column("first_touch_at", UtcDateTime, nullable=True),
    Column("closed_at", UtcDateTime, nullable=True),
    Column("modified_at", UtcDateTime, nullable=True),
    Column("conflict", Boolean, nullable=False, default=False),
)
Index("ix_leads_created", leads.c.portal, leads.c.created_at)
Index("ix_leads_partner", leads.c.portal, leads.c.partner_id)

deals = Table(
    "deals",
    metadata,
    Column("portal", String(PORTAL), primary_key=True),
    Column("crm_id", String(CRM_ID), primary_key=True),
    Column("partner_id", String(CRM_ID), nullable=True),
    Column("title", Text, nullable=False),
    Column("funnel", String(64), nullable=False),
    Column("stage", String(64), nullable=False),
    Column("stage_kind", String(8), nullable=False),
    Column("amount", money(), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("currency", String(8), nullable=False, default=""),
    Column("closed_at", UtcDateTime, nullable=True),
    Column("repeat", Boolean, nullable=False, default=False),
    Column("external_id", String(KEY), nullable=True),
    Column("modified_at", UtcDateTime, nullable=True),
)
Index("ix_deals_created", deals.c.portal, deals.c.created_at)
Index("ix_deals_partner", deals.c.portal, deals.c.partner_id)

# Small JSON state of a strategy per portal: distribution cursor, tier evaluation counters…
strategy_state = Table(
    "strategy_state",
    metadata,
    Column("portal", String(PORTAL), primary_key=True),
    Column("name", String(KEY), primary_key=True),
    Column("value", JsonText, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

tier_changes = Table(
    "tier_changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("portal", String(PORTAL), nullable=False),
    Column("partner_id", String(CRM_ID), nullable=False),
    Column("from_tier", String(64), nullable=True),
    Column("to_tier", String(64), nullable=True),
    Column("reason", Text, nullable=False, default=""),
    Column("at", UtcDateTime, nullable=False),
    Column("details", JsonText, nullable=False),
)
Index("ix_tier_changes_partner", tier_changes.c.portal, tier_changes.c.partner_id, tier_changes.c.at)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("portal", String(PORTAL), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("idempotency_key", String(KEY), nullable=False),
    Column("payload", JsonText, nullable=False),
    Column("status", String(16), nullable=False),  # pending | done | failed (given up)
    Column("attempts", Integer, nullable=False, default=0),
    Column("created_at", UtcDateTime, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=True),
    Column("finished_at", UtcDateTime, nullable=True),
    Column("result", JsonText, nullable=True),
    Column("last_error", Text, nullable=True),
    UniqueConstraint("portal", "kind", "idempotency_key", name="uq_outbox_key"),
)
Index("ix_outbox_due", outbox.c.portal, outbox.c.status, outbox.c.next_attempt_at)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("portal", String(PORTAL), nullable=False),
    Column("event", String(100), nullable=False),
    Column("details", JsonText, nullable=False),
    Column("at", UtcDateTime, nullable=False),
)
Index("ix_audit_portal_at", audit_log.c.portal, audit_log.c.at)

# Daemon replicas (``crm_bridge.store.leases``): which scheduled job each replica holds, until when (Unix
# seconds of the database's clock), and the last run of each job whichever replica ran it.
job_leases = Table(
    "job_leases",
    metadata,
    Column("portal", String(PORTAL), primary_key=True),
    Column("job", String(64), primary_key=True),
    Column("holder", String(KEY), nullable=False, default=""),  # replica id; "" = free
    Column("expires", Float, nullable=False, default=0.0),
    Column("acquired", Float, nullable=False, default=0.0),
    Column("last_holder", String(KEY), nullable=False, default=""),
    Column("last_started", Float, nullable=True),
    Column("last_finished", Float, nullable=True),
    Column("last_ok", Boolean, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("runs", Integer, nullable=False, default=0),
)

replicas = Table(
    "replicas",
    metadata,
    Column("id", String(KEY), primary_key=True),  # "<host>:<pid>:<random>"
    Column("portal", String(PORTAL), nullable=False),
    Column("host", String(KEY), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started", Float, nullable=False),
    Column("seen", Float, nullable=False),  # last heartbeat (the lease keeper's tick)
    Column("stopped", Float, nullable=True),  # a clean stop; a killed replica stops being seen instead
)
