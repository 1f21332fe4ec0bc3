"""Tables of the partners' Telegram bot: one-time link codes (salted hashes only), linked chats (the
partner a chat speaks for, its language, push opt-outs and the dialogue in progress), questions handed
to curators, and survey answers. Created by the Alembic revision ``0006_bot``."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index, Integer, MetaData, String, Table, Text, UniqueConstraint

from crm_bridge.store.types import UtcDateTime

metadata = MetaData()

# A one-time code (``<id>-<secret>``) that links one Telegram chat to a partner; single use.
bot_link_codes = Table(
    "bot_link_codes",
    metadata,
    Column("code_id", String(16), primary_key=True),
    Column("portal", String(200), nullable=False),
    Column("partner_id", String(64), nullable=False),
    Column("salt", String(64), nullable=False),
    Column("code_hash", String(128), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime, nullable=True),
    Column("used_by_chat", String(32), nullable=True),
)

# A Telegram chat that talked to the bot. ``partner_id`` None: not linked (or unlinked).
bot_chats = Table(
    "bot_chats",
    metadata,
    Column("portal", String(200), primary_key=True),
    Column("chat_id", String(32), primary_key=True),
    Column("partner_id", String(64), nullable=True),
    Column("lang", String(8), nullable=False, default="ru"),
    Column("code_id", String(16), nullable=True),
    Column("linked_at", UtcDateTime, nullable=True),
    Column("optouts", String(200), nullable=False, default=""),  # comma-separated push kinds
    Column("dialogue", JSON, nullable=True),  # {"flow": "lead", "step": ..., "values": {...}}
    Column("last_update", Integer, nullable=True),  # the newest update handled (a replay is skipped)
    Column("updated_at", UtcDateTime, nullable=False),
)
Index("ix_bot_chats_partner", bot_chats.c.portal, bot_chats.c.partner_id)

# A question the FAQ could not answer: a CRM task for the partner's curator; the answer goes back.
bot_questions = Table(
    "bot_questions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("portal", String(200), nullable=False),
    Column("partner_id", String(64), nullable=False),
    Column("chat_id", String(32), nullable=False),
    Column("text", Text, nullable=False),
    Column("asked_at", UtcDateTime, nullable=False),
    Column("task_crm_id", String(64), nullable=True),
    Column("answer", Text, nullable=True),
    Column("answered_at", UtcDateTime, nullable=True),
)

# A partner's answer to the periodic survey: 0-10 and a comment, once per round (e.g. 2026-Q4).
bot_feedback = Table(
    "bot_feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("portal", String(200), nullable=False),
    Column("partner_id", String(64), nullable=False),
    Column("chat_id", String(32), nullable=False),
    Column("round", String(16), nullable=False),
    Column("score", Integer, nullable=False),
    Column("comment", Text, nullable=False, default=""),
    Column("at", UtcDateTime, nullable=False),
    UniqueConstraint("portal", "chat_id", "round", name="uq_bot_feedback_round"),
)
