"""The intake queue: ``engine_intake_registrations.payload`` (the lead as submitted: the daemon's intake
writer builds the CRM draft from it) and ``.sent_at`` (a create carrying the lead was sent: until it
is created, its write is uncertain and is looked up before sending again), and an index by status.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 00:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("engine_intake_registrations") as batch:
        batch.add_column(sa.Column("payload", sa.Text(), nullable=True))
        batch.add_column(sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_engine_intake_status", "engine_intake_registrations", ["portal", "status"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_engine_intake_status", table_name="engine_intake_registrations")
    with op.batch_alter_table("engine_intake_registrations") as batch:
        batch.drop_column("sent_at")
        batch.drop_column("payload")
