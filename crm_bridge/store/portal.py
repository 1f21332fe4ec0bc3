"""Repository of the partner portal's state: invitations (``portal_invitations``) and web sessions
(``portal_sessions``), keyed by ``portal`` (which CRM instance)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, RowMapping, and_, delete, select, update

from crm_bridge.store.db import state_errors, write_transaction
from crm_bridge.store.portal_schema import portal_invitations, portal_sessions


@dataclass(frozen=True, slots=True)
class InvitationRecord:
    invitation_id: str
    partner_id: str
    salt: str
    secret_hash: str
    label: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SessionRecord:
    session_hash: str
    kind: str  # partner | admin
    partner_id: str | None
    invitation_id: str | None
    csrf_token: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None


_INV = tuple(InvitationRecord.__dataclass_fields__)
_SES = tuple(SessionRecord.__dataclass_fields__)


def _inv(m: Mapping[str, Any] | RowMapping) -> InvitationRecord:
    return InvitationRecord(**{name: m[name] for name in _INV})


def _ses(m: Mapping[str, Any] | RowMapping) -> SessionRecord:
    return SessionRecord(**{name: m[name] for name in _SES})


class PortalRepository:
    """Invitations and sessions of one state store."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # invitations
    def add_invitation(self, portal: str, rec: InvitationRecord) -> None:
        values = {name: getattr(rec, name) for name in _INV}
        with state_errors("saving a portal invitation"), write_transaction(self._engine) as conn:
            conn.execute(portal_invitations.insert().values(portal=portal, **values))

    def invitation(self, portal: str, invitation_id: str) -> InvitationRecord | None:
        t = portal_invitations
        with state_errors("reading a portal invitation"), self._engine.connect() as conn:
            row = conn.execute(
                select(t).where(t.c.portal == portal, t.c.invitation_id == invitation_id)
            ).first()
        return _inv(row._mapping) if row else None

    def invitations(self, portal: str, partner_id: str | None = None) -> list[InvitationRecord]:
        t = portal_invitations
        query = select(t).where(t.c.portal == portal).order_by(t.c.created_at, t.c.invitation_id)
        if partner_id is not None:
            query = query.where(t.c.partner_id == partner_id)
        with state_errors("reading portal invitations"), self._engine.connect() as conn:
            return [_inv(r._mapping) for r in conn.execute(query)]

    def touch_invitation(self, portal: str, invitation_id: str, at: datetime) -> None:
        t = portal_invitations
        cond = and_(t.c.portal == portal, t.c.invitation_id == invitation_id)
        with state_errors("updating a portal invitation"), write_transaction(self._engine) as conn:
            conn.execute(update(t).where(cond).values(last_used_at=at))

    def revoke_invitation(self, portal: str, invitation_id: str, at: datetime) -> bool:
        """Revoke the invitation and end every session signed in with it (one transaction)."""
        t, s = portal_invitations, portal_sessions
        cond = and_(t.c.portal == portal, t.c.invitation_id == invitation_id, t.c.revoked_at.is_(None))
        with state_errors("revoking a portal invitation"), write_transaction(self._engine) as conn:
            done = bool(conn.execute(update(t).where(cond).values(revoked_at=at)).rowcount)
            conn.execute(
                update(s)
                .where(s.c.portal == portal, s.c.invitation_id == invitation_id, s.c.revoked_at.is_(None))
                .values(revoked_at=at)
            )
        return done

    # sessions
    def add_session(self, portal: str, rec: SessionRecord) -> None:
        values = {name: getattr(rec, name) for name in _SES}
        with state_errors("saving a web session"), write_transaction(self._engine) as conn:
            conn.execute(portal_sessions.insert().values(portal=portal, **values))

    def session(self, portal: str, session_hash: str) -> SessionRecord | None:
        t = portal_sessions
        with state_errors("reading a web session"), self._engine.connect() as conn:
            row = conn.execute(
                select(t).where(t.c.portal == portal, t.c.session_hash == session_hash)
            ).first()
        return _ses(row._mapping) if row else None

    def end_session(self, portal: str, session_hash: str, at: datetime) -> None:
        t = portal_sessions
        cond = and_(t.c.portal == portal, t.c.session_hash == session_hash, t.c.revoked_at.is_(None))
        with state_errors("ending a web session"), write_transaction(self._engine) as conn:
            conn.execute(update(t).where(cond).values(revoked_at=at))

    def purge_sessions(self, portal: str, before: datetime) -> int:
        """Delete sessions that expired before ``before``."""
        t = portal_sessions
        with state_errors("purging web sessions"), write_transaction(self._engine) as conn:
            result = conn.execute(delete(t).where(t.c.portal == portal, t.c.expires_at < before))
        return int(result.rowcount or 0)
