"""The partner lifecycle's tables (issue 14; ``crm_bridge.store.lifecycle_schema``): scorecard verdict,
onboarding and shown access per partner, individual plans, training completions. Replaces the
hand-written "core schema 4" step of the issue 14 branch. Column types are written out so this revision
stays what it is when the store's types change.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 01:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "partner_lifecycle",
        sa.Column("portal", sa.String(length=200), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("score_hash", sa.String(length=128), server_default="", nullable=False),
        sa.Column("score", sa.String(length=16), nullable=True),
        sa.Column("verdict", sa.String(length=16), nullable=True),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("score_applied", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("onboarding_status", sa.String(length=16), server_default="", nullable=False),
        sa.Column("onboarding", sa.Text(), nullable=True),
        sa.Column("onboarded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("access_tier", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("portal", "partner_id"),
    )
    op.create_table(
        "partner_plans",
        sa.Column("portal", sa.String(length=200), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("targets", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("portal", "partner_id", "period"),
    )
    op.create_table(
        "training_completions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("portal", sa.String(length=200), nullable=False),
        sa.Column("completion_key", sa.String(length=400), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("person_email", sa.String(length=254), nullable=False),
        sa.Column("person_name", sa.Text(), nullable=False),
        sa.Column("course_id", sa.String(length=200), nullable=False),
        sa.Column("course_name", sa.Text(), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("certified", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("portal", "completion_key", name="uq_training_completion"),
    )
    op.create_index("ix_training_partner", "training_completions", ["portal", "partner_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_training_partner", table_name="training_completions")
    op.drop_table("training_completions")
    op.drop_table("partner_plans")
    op.drop_table("partner_lifecycle")
