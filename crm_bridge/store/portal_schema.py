"""Tables of the partner portal and the head's dashboard: partner invitations (salted hashes of the
secret only) and server-side web sessions (hashes of the cookie's token only), so a copy of the
database signs nobody in. Created by the Alembic revision ``0002_portal``."""

from __future__ import annotations

from sqlalchemy import Column, Index, MetaData, String, Table

from crm_bridge.store.types import UtcDateTime

metadata = MetaData()

# A partner's personal sign-in key (``cbp_<id>_<secret>``), issued by `crm-bridge partners invite`.
portal_invitations = Table(
    "portal_invitations",
    metadata,
    Column("invitation_id", String(32), primary_key=True),
    Column("portal", String(200), nullable=False),
    Column("partner_id", String(64), nullable=False),
    Column("salt", String(64), nullable=False),
    Column("secret_hash", String(128), nullable=False),
    Column("label", String(200), nullable=False, default=""),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
    Column("last_used_at", UtcDateTime, nullable=True),
)
Index("ix_portal_invitations_partner", portal_invitations.c.portal, portal_invitations.c.partner_id)

# A signed-in browser: the cookie holds a random token, the row its SHA-256 (``session_hash``).
# ``kind`` partner (``partner_id`` and the ``invitation_id`` it came from) or admin (the head).
portal_sessions = Table(
    "portal_sessions",
    metadata,
    Column("session_hash", String(64), primary_key=True),
    Column("portal", String(200), nullable=False),
    Column("kind", String(16), nullable=False),  # partner | admin
    Column("partner_id", String(64), nullable=True),
    Column("invitation_id", String(32), nullable=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
)
Index("ix_portal_sessions_invitation", portal_sessions.c.portal, portal_sessions.c.invitation_id)
