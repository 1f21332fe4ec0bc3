"""The partner portal's tables: partner invitations and web sessions (``crm_bridge.store.portal_schema``).
Column types are written out so this revision stays what it is when the store's types change.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07 00:15:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "portal_invitations",
        sa.Column("invitation_id", sa.String(length=32), nullable=False),
        sa.Column("portal", sa.String(length=200), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("salt", sa.String(length=64), nullable=False),
        sa.Column("secret_hash", sa.String(length=128), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("invitation_id"),
    )
    op.create_index(
        "ix_portal_invitations_partner", "portal_invitations", ["portal", "partner_id"], unique=False
    )
    op.create_table(
        "portal_sessions",
        sa.Column("session_hash", sa.String(length=64), nullable=False),
        sa.Column("portal", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=True),
        sa.Column("invitation_id", sa.String(length=32), nullable=True),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("session_hash"),
    )
    op.create_index(
        "ix_portal_sessions_invitation", "portal_sessions", ["portal", "invitation_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_portal_sessions_invitation", table_name="portal_sessions")
    op.drop_table("portal_sessions")
    op.drop_index("ix_portal_invitations_partner", table_name="portal_invitations")
    op.drop_table("portal_invitations")
