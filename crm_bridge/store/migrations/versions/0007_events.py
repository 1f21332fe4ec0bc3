"""The CRM event queue (``crm_bridge.store.events_schema``): events the receivers stored durably
before answering, for the event worker.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 01:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "crm_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("portal", sa.String(length=200), nullable=False),
        sa.Column("dedup_key", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=100), nullable=False),
        sa.Column("entity", sa.String(length=32), nullable=False),
        sa.Column("crm_id", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("portal", "dedup_key", name="uq_crm_events_dedup"),
    )
    op.create_index("ix_crm_events_pending", "crm_events", ["portal", "processed_at", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_crm_events_pending", table_name="crm_events")
    op.drop_table("crm_events")
