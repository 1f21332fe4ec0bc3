"""Tables of partner sales (intake registrations, partner API keys, lead assignments, tier
grace/approval state): the state store's component called ``engine`` in its legacy versions (see
``crm_bridge.store``). Changing a table means an Alembic revision too (see ``crm_bridge.store``)."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from crm_bridge.store.types import JsonText, UtcDateTime

metadata = MetaData()

# Deal registrations: one row per partner lead that came through the bridge (CSV or HTTP). The row is
# written before the CRM create, with the channel-conflict decision, so a rerun after a crash reuses
# the decision and the external id instead of deciding (and creating) again.
intake_registrations = Table(
    "engine_intake_registrations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("portal", String(200), nullable=False),
    Column("external_id", String(200), nullable=False),
    Column("partner_id", String(64), nullable=False),
    Column("customer_name", String(255), nullable=False, default=""),
    Column("email", String(254), nullable=False, default=""),  # normalised
    Column("phone", String(40), nullable=False, default=""),  # E.164
    Column("tax_id", String(20), nullable=False, default=""),  # digits
    Column("source", String(300), nullable=False, default=""),  # "csv leads.csv row 7", "api"
    Column("status", String(16), nullable=False),  # pending | created | failed
    Column("conflict", Boolean, nullable=False, default=False),
    Column("owner_partner_id", String(64), nullable=True),  # first registrant when conflict
    Column("reason", Text, nullable=False, default=""),
    Column("lead_crm_id", String(64), nullable=True),
    Column("lead_stage", String(64), nullable=True),  # stage last seen: a change is progress
    Column("error", Text, nullable=True),
    Column("registered_at", UtcDateTime, nullable=False),
    Column("progress_at", UtcDateTime, nullable=False),  # last progress of the lead
    Column("expired_at", UtcDateTime, nullable=True),
    Column("payload", JsonText, nullable=True),  # v3: the lead's fields as submitted
    Column("sent_at", UtcDateTime, nullable=True),  # v3: last create request that carried it
    UniqueConstraint("portal", "external_id", name="uq_engine_intake_ext"),
)
Index("ix_engine_intake_email", intake_registrations.c.portal, intake_registrations.c.email)
Index("ix_engine_intake_phone", intake_registrations.c.portal, intake_registrations.c.phone)
Index("ix_engine_intake_tax", intake_registrations.c.portal, intake_registrations.c.tax_id)
Index("ix_engine_intake_lead", intake_registrations.c.portal, intake_registrations.c.lead_crm_id)
Index("ix_engine_intake_status", intake_registrations.c.portal, intake_registrations.c.status)

# Partner API keys for the HTTP intake: only a salted SHA-256 of the secret part is kept.
intake_api_keys = Table(
    "engine_intake_api_keys",
    metadata,
    Column("key_id", String(32), primary_key=True),
    Column("portal", String(200), nullable=False),
    Column("partner_id", String(64), nullable=False),
    Column("salt", String(64), nullable=False),
    Column("secret_hash", String(128), nullable=False),
    Column("label", String(200), nullable=False, default=""),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
    Column("last_used_at", UtcDateTime, nullable=True),
)

# One row per partner lead crm-bridge assigned: who, why, the task, the SLA and its escalation.
lead_assignments = Table(
    "engine_lead_assignments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("portal", String(200), nullable=False),
    Column("lead_crm_id", String(64), nullable=False),
    Column("partner_id", String(64), nullable=True),
    Column("manager_key", String(64), nullable=True),
    Column("manager_user_id", String(64), nullable=True),
    Column("strategy", String(64), nullable=False, default=""),
    Column("reason", Text, nullable=False, default=""),
    Column("details", JsonText, nullable=False, default=dict),
    Column("stage", String(64), nullable=False, default=""),  # lead stage when assigned
    Column("status", String(16), nullable=False),  # pending | done | unassigned | failed
    Column("error", Text, nullable=True),
    Column("assigned_at", UtcDateTime, nullable=False),
    Column("deadline", UtcDateTime, nullable=True),
    Column("task_external_id", String(200), nullable=True),
    Column("task_crm_id", String(64), nullable=True),
    Column("escalated_at", UtcDateTime, nullable=True),
    Column("escalated_to", String(64), nullable=True),
    Column("touched_at", UtcDateTime, nullable=True),
    UniqueConstraint("portal", "lead_crm_id", name="uq_engine_assignment_lead"),
)
Index("ix_engine_assignment_status", lead_assignments.c.portal, lead_assignments.c.status)

# A tier downgrade waiting for its grace period to end and/or for the head's approval.
tier_pending = Table(
    "engine_tier_pending",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("portal", String(200), nullable=False),
    Column("partner_id", String(64), nullable=False),
    Column("from_tier", String(64), nullable=True),
    Column("to_tier", String(64), nullable=True),
    Column("reason", Text, nullable=False, default=""),
    # grace | awaiting_approval | applied | cancelled | rejected
    Column("status", String(24), nullable=False),  # "awaiting_approval" is 17 long
    Column("started_at", UtcDateTime, nullable=False),
    Column("effective_at", UtcDateTime, nullable=False),  # grace ends
    Column("decided_at", UtcDateTime, nullable=True),
    Column("decided_by", String(200), nullable=True),
)
Index("ix_engine_tier_pending", tier_pending.c.portal, tier_pending.c.partner_id, tier_pending.c.status)
TIER_OPEN = ("grace", "awaiting_approval")
# At most one open (grace or awaiting approval) move per partner, so concurrent evaluations upsert it.
tier_pending_open = Index(
    "ux_engine_tier_pending_open",
    tier_pending.c.portal,
    tier_pending.c.partner_id,
    unique=True,
    sqlite_where=tier_pending.c.status.in_(TIER_OPEN),
    postgresql_where=tier_pending.c.status.in_(TIER_OPEN),
)
