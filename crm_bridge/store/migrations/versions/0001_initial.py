"""The initial schema: exactly what the hand-written DDL versioning this replaced created at core
version 3 and engine version 2 (a database at those versions is stamped here, not migrated; see
``crm_bridge.store.migrate``). Column types are written out (not crm_bridge.store.types) so this
revision stays what it is when those types change.

Revision ID: 0001
Revises:
Create Date: 2026-12-06 23:57:39.409277
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# exact decimals: unconstrained NUMERIC on PostgreSQL, the decimal's text on SQLite (no exact type there)
MONEY = sa.Numeric().with_variant(sa.String(length=64), "sqlite")

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("portal", sa.String(length=200), nullable=False),
        sa.Column("event", sa.String(length=100), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audit_portal_at", "audit_log", ["portal", "at"], unique=False)

    op.create_table(
        "bindings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("portal", sa.String(length=200), nullable=False),
        sa.Column("entity", sa.String(length=32), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("crm_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("payload_hash", sa.String(length=128), nullable=False),
        sa.Column("reserved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("bound_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("portal", "entity", "crm_id", name="uq_bindings_crm"),
        sa.UniqueConstraint("portal", "entity", "external_id", name="uq_bindings_external"),
    )
    op.create_table(
        "budget_spend",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_budget_spend_key_at", "budget_spend", ["key", "at"], unique=False)

    op.create_table(
        "deals",
        sa.Column("portal", sa.String(length=200), nullable=False),
        sa.Column("crm_id", sa.String(length=64), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("funnel", sa.String(length=64), nullable=False),
        sa.Column("stage", sa.String(length=64), nullable=False),
        sa.Column("stage_kind", sa.String(length=8), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("repeat", sa.Boolean(), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=True),
        sa.Column("modified_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("portal", "crm_id"),
    )
    op.create_index("ix_deals_created", "deals", ["portal", "created_at"], unique=False)
    op.create_index("ix_deals_partner", "deals", ["portal", "partner_id"], unique=False)

    op.create_table(
        "kv_entries",
        sa.Column("namespace", sa.String(length=200), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("namespace", "key"),
    )
    op.create_table(
        "leads",
        sa.Column("portal", sa.String(length=200), nullable=False),
        sa.Column("crm_id", sa.String(length=64), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("stage", sa.String(length=64), nullable=False),
        sa.Column("stage_kind", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("tax_id", sa.String(length=20), nullable=False),
        sa.Column("customer_name", sa.Text(), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("manager_user_id", sa.String(length=64), nullable=True),
        sa.Column("external_id", sa.String(length=200), nullable=True),
        sa.Column("region", sa.String(length=200), nullable=False),
        sa.Column("specialisation", sa.String(length=200), nullable=False),
        sa.Column("first_touch_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("modified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("conflict", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("portal", "crm_id"),
    )
    op.create_index("ix_leads_created", "leads", ["portal", "created_at"], unique=False)
    op.create_index("ix_leads_partner", "leads", ["portal", "partner_id"], unique=False)

    op.create_table(
        "named_locks",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("expires", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("portal", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("portal", "kind", "idempotency_key", name="uq_outbox_key"),
    )
    op.create_index("ix_outbox_due", "outbox", ["portal", "status", "next_attempt_at"], unique=False)

    op.create_table(
        "partners",
        sa.Column("portal", sa.String(length=200), nullable=False),
        sa.Column("crm_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=True),
        sa.Column("tier", sa.String(length=64), nullable=True),
        sa.Column("curator_key", sa.String(length=64), nullable=True),
        sa.Column("acquisition_stage", sa.String(length=64), nullable=True),
        sa.Column("region", sa.String(length=200), nullable=False),
        sa.Column("competencies", sa.Text(), nullable=False),
        sa.Column("qualification", sa.Text(), nullable=False),
        sa.Column("partner_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("training_completed", sa.Boolean(), nullable=False),
        sa.Column("modified_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("portal", "crm_id"),
    )
    op.create_table(
        "rate_buckets",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("level", sa.Float(), nullable=False),
        sa.Column("updated", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "strategy_state",
        sa.Column("portal", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("portal", "name"),
    )
    op.create_table(
        "sync_cursors",
        sa.Column("portal", sa.String(length=200), nullable=False),
        sa.Column("entity", sa.String(length=32), nullable=False),
        sa.Column("modified_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_id", sa.String(length=64), nullable=False),
        sa.Column("resume", sa.String(length=200), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("portal", "entity"),
    )
    op.create_table(
        "tier_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("portal", sa.String(length=200), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("from_tier", sa.String(length=64), nullable=True),
        sa.Column("to_tier", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_tier_changes_partner", "tier_changes", ["portal", "partner_id", "at"], unique=False)

    op.create_table(
        "engine_intake_api_keys",
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("portal", sa.String(length=200), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("salt", sa.String(length=64), nullable=False),
        sa.Column("secret_hash", sa.String(length=128), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key_id"),
    )
    op.create_table(
        "engine_intake_registrations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("portal", sa.String(length=200), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("customer_name", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("tax_id", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("conflict", sa.Boolean(), nullable=False),
        sa.Column("owner_partner_id", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("lead_crm_id", sa.String(length=64), nullable=True),
        sa.Column("lead_stage", sa.String(length=64), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("progress_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expired_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("portal", "external_id", name="uq_engine_intake_ext"),
    )
    op.create_index(
        "ix_engine_intake_email", "engine_intake_registrations", ["portal", "email"], unique=False
    )
    op.create_index(
        "ix_engine_intake_lead", "engine_intake_registrations", ["portal", "lead_crm_id"], unique=False
    )
    op.create_index(
        "ix_engine_intake_phone", "engine_intake_registrations", ["portal", "phone"], unique=False
    )
    op.create_index("ix_engine_intake_tax", "engine_intake_registrations", ["portal", "tax_id"], unique=False)

    op.create_table(
        "engine_lead_assignments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("portal", sa.String(length=200), nullable=False),
        sa.Column("lead_crm_id", sa.String(length=64), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=True),
        sa.Column("manager_key", sa.String(length=64), nullable=True),
        sa.Column("manager_user_id", sa.String(length=64), nullable=True),
        sa.Column("strategy", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("stage", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("task_external_id", sa.String(length=200), nullable=True),
        sa.Column("task_crm_id", sa.String(length=64), nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalated_to", sa.String(length=64), nullable=True),
        sa.Column("touched_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("portal", "lead_crm_id", name="uq_engine_assignment_lead"),
    )
    op.create_index(
        "ix_engine_assignment_status", "engine_lead_assignments", ["portal", "status"], unique=False
    )

    op.create_table(
        "engine_tier_pending",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("portal", sa.String(length=200), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("from_tier", sa.String(length=64), nullable=True),
        sa.Column("to_tier", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("effective_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_engine_tier_pending", "engine_tier_pending", ["portal", "partner_id", "status"], unique=False
    )
    op.create_index(
        "ux_engine_tier_pending_open",
        "engine_tier_pending",
        ["portal", "partner_id"],
        unique=True,
        sqlite_where=sa.text("status IN ('grace', 'awaiting_approval')"),
        postgresql_where=sa.text("status IN ('grace', 'awaiting_approval')"),
    )


def downgrade() -> None:
    op.drop_index(
        "ux_engine_tier_pending_open",
        table_name="engine_tier_pending",
        sqlite_where=sa.text("status IN ('grace', 'awaiting_approval')"),
        postgresql_where=sa.text("status IN ('grace', 'awaiting_approval')"),
    )
    op.drop_index("ix_engine_tier_pending", table_name="engine_tier_pending")

    op.drop_table("engine_tier_pending")
    op.drop_index("ix_engine_assignment_status", table_name="engine_lead_assignments")

    op.drop_table("engine_lead_assignments")
    op.drop_index("ix_engine_intake_tax", table_name="engine_intake_registrations")
    op.drop_index("ix_engine_intake_phone", table_name="engine_intake_registrations")
    op.drop_index("ix_engine_intake_lead", table_name="engine_intake_registrations")
    op.drop_index("ix_engine_intake_email", table_name="engine_intake_registrations")

    op.drop_table("engine_intake_registrations")
    op.drop_table("engine_intake_api_keys")
    op.drop_index("ix_tier_changes_partner", table_name="tier_changes")

    op.drop_table("tier_changes")
    op.drop_table("sync_cursors")
    op.drop_table("strategy_state")
    op.drop_table("rate_buckets")
    op.drop_table("partners")
    op.drop_index("ix_outbox_due", table_name="outbox")

    op.drop_table("outbox")
    op.drop_table("named_locks")
    op.drop_index("ix_leads_partner", table_name="leads")
    op.drop_index("ix_leads_created", table_name="leads")

    op.drop_table("leads")
    op.drop_table("kv_entries")
    op.drop_index("ix_deals_partner", table_name="deals")
    op.drop_index("ix_deals_created", table_name="deals")

    op.drop_table("deals")
    op.drop_index("ix_budget_spend_key_at", table_name="budget_spend")

    op.drop_table("budget_spend")
    op.drop_table("bindings")
    op.drop_index("ix_audit_portal_at", table_name="audit_log")

    op.drop_table("audit_log")
