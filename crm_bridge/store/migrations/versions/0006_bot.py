"""The partners' Telegram bot: link codes, chats, questions to curators, survey answers
(``crm_bridge.store.bot_schema``). Column types are written out so this revision stays what it is.

Revision ID: 0006
Revises: 0005 (renumbered from 0007/0002 when merged after 0005 leases)
Create Date: 2026-12-07 01:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "bot_link_codes",
        sa.Column("code_id", sa.String(length=16), nullable=False),
        sa.Column("portal", sa.String(length=200), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("salt", sa.String(length=64), nullable=False),
        sa.Column("code_hash", sa.String(length=128), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("used_at", _TS, nullable=True),
        sa.Column("used_by_chat", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("code_id"),
    )
    op.create_table(
        "bot_chats",
        sa.Column("portal", sa.String(length=200), nullable=False),
        sa.Column("chat_id", sa.String(length=32), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=True),
        sa.Column("lang", sa.String(length=8), nullable=False),
        sa.Column("code_id", sa.String(length=16), nullable=True),
        sa.Column("linked_at", _TS, nullable=True),
        sa.Column("optouts", sa.String(length=200), nullable=False),
        sa.Column("dialogue", sa.JSON(), nullable=True),
        sa.Column("last_update", sa.Integer(), nullable=True),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("portal", "chat_id"),
    )
    op.create_index("ix_bot_chats_partner", "bot_chats", ["portal", "partner_id"], unique=False)
    op.create_table(
        "bot_questions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("portal", sa.String(length=200), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("chat_id", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("asked_at", _TS, nullable=False),
        sa.Column("task_crm_id", sa.String(length=64), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "bot_feedback",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("portal", sa.String(length=200), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("chat_id", sa.String(length=32), nullable=False),
        sa.Column("round", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("portal", "chat_id", "round", name="uq_bot_feedback_round"),
    )


def downgrade() -> None:
    op.drop_table("bot_feedback")
    op.drop_table("bot_questions")
    op.drop_index("ix_bot_chats_partner", table_name="bot_chats")
    op.drop_table("bot_chats")
    op.drop_table("bot_link_codes")
