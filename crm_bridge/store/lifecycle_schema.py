"""Tables of the partner lifecycle (issue 14): the scorecard verdict, onboarding and shown access per
partner, individual cooperation plans, training completions. Created by the Alembic revision
``0004_lifecycle``."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Index, Integer, MetaData, String, Table, Text, UniqueConstraint

from crm_bridge.store.schema import CRM_ID, KEY, PORTAL
from crm_bridge.store.types import JsonText, UtcDateTime

metadata = MetaData()

# The partner lifecycle (issue 14): the last scorecard verdict (``score_hash`` of the scores it was made
# from, so a re-scored card is decided again), the onboarding recorded then applied (``onboarding``:
# the plan to apply while ``onboarding_status`` is "recorded"; "done" once the CRM has it), and the
# tier whose exclusive access the CRM card shows.
partner_lifecycle = Table(
    "partner_lifecycle",
    metadata,
    Column("portal", String(PORTAL), primary_key=True),
    Column("partner_id", String(CRM_ID), primary_key=True),
    Column("score_hash", String(128), nullable=False, default="", server_default=""),
    Column("score", String(16), nullable=True),
    Column("verdict", String(16), nullable=True),
    Column("reason", Text, nullable=False, default="", server_default=""),
    Column("scored_at", UtcDateTime, nullable=True),
    Column("score_applied", Boolean, nullable=False, default=False, server_default="0"),
    Column("onboarding_status", String(16), nullable=False, default="", server_default=""),
    Column("onboarding", JsonText, nullable=True),
    Column("onboarded_at", UtcDateTime, nullable=True),
    Column("access_tier", String(64), nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
)

# Individual cooperation plans per partner and period (``2026-Q4``): targets as JSON (target -> number).
partner_plans = Table(
    "partner_plans",
    metadata,
    Column("portal", String(PORTAL), primary_key=True),
    Column("partner_id", String(CRM_ID), primary_key=True),
    Column("period", String(16), primary_key=True),
    Column("targets", JsonText, nullable=False),
    Column("source", String(200), nullable=False, default=""),
    Column("updated_at", UtcDateTime, nullable=False),
)

# Training completions, one per (partner, person, course): ``completion_key`` de-duplicates CSV rows
# and LMS webhooks that report the same completion.
training_completions = Table(
    "training_completions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("portal", String(PORTAL), nullable=False),
    Column("completion_key", String(KEY * 2), nullable=False),
    Column("partner_id", String(CRM_ID), nullable=False),
    Column("person_email", String(254), nullable=False),
    Column("person_name", Text, nullable=False, default=""),
    Column("course_id", String(KEY), nullable=False),
    Column("course_name", Text, nullable=False, default=""),
    Column("completed_at", UtcDateTime, nullable=False),
    Column("certified", Boolean, nullable=False, default=True),
    Column("source", String(32), nullable=False, default="csv"),
    Column("received_at", UtcDateTime, nullable=False),
    UniqueConstraint("portal", "completion_key", name="uq_training_completion"),
)
Index("ix_training_partner", training_completions.c.portal, training_completions.c.partner_id)
