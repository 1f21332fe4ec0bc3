"""Sign-in for the partner portal and the head's dashboard: partner invitations (issue, verify, list,
revoke), the head's secret from the environment, and server-side sessions.

An invitation key reads ``cbp_<invitation id>_<secret>``; only a salted SHA-256 of the secret is
stored and it is compared in constant time (256 random bits: a slow hash would add nothing). A
session cookie holds 256 random bits; the store keeps its SHA-256, the partner (taken from the
invitation, never from the request), a CSRF token and an expiry. Revoking an invitation ends every
session signed in with it in the same transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from crm_bridge.domain.model import Partner
from crm_bridge.errors import DataError, UsageError
from crm_bridge.store.portal import InvitationRecord, PortalRepository, SessionRecord

PREFIX = "cbp"
ADMIN_TOKEN_ENV = "CRM_BRIDGE_ADMIN_TOKEN"  # noqa: S105 (the variable's name, not a secret)
MIN_ADMIN_TOKEN = 16
_KEY = re.compile(rf"^{PREFIX}_([a-z0-9]{{12}})_([A-Za-z0-9_-]{{43}})$")
_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def _hash(secret: str, salt: str) -> str:
    return hashlib.sha256(f"{salt}:{secret}".encode()).hexdigest()


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def find_partner(partners: Iterable[Partner], wanted: str) -> Partner:
    """The partner ``wanted`` names: its CRM id, or its name (any case). UsageError naming the
    candidates when none or several match."""
    text = wanted.strip()
    listed = list(partners)
    by_id = [p for p in listed if p.crm_id == text]
    if by_id:
        return by_id[0]
    by_name = [p for p in listed if p.name.casefold() == text.casefold()]
    if len(by_name) == 1:
        return by_name[0]
    if by_name:
        ids = ", ".join(p.crm_id for p in by_name)
        raise UsageError(f"{len(by_name)} partners are called {text!r} (ids {ids}): give the CRM id")
    similar = [p for p in listed if text.casefold() in p.name.casefold()][:5]
    hint = "; did you mean " + ", ".join(f"{p.name} (id {p.crm_id})" for p in similar) if similar else ""
    raise UsageError(
        f"no partner {text!r} in the state store (a CRM id or the exact name; run `crm-bridge sync --once` "
        f"first){hint}"
    )


def invitation_id_of(key: str) -> str:
    """The invitation id inside a well-formed key; "" otherwise (the throttle's per-key scope)."""
    match = _KEY.match(key.strip())
    return match.group(1) if match else ""


@dataclass(frozen=True, slots=True)
class IssuedInvitation:
    """A new invitation. ``key`` is the only copy of the secret: show it once, never store it."""

    invitation_id: str
    partner_id: str
    key: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class NewSession:
    """``token`` goes into the cookie (and nowhere else); ``record`` is what the store keeps."""

    token: str
    record: SessionRecord


class PortalAccess:
    """Invitations and sessions of one CRM instance (``portal``). ``admin_token`` is the head's secret
    (``CRM_BRIDGE_ADMIN_TOKEN``); None disables the dashboard's sign-in."""

    def __init__(
        self,
        repo: PortalRepository,
        portal: str,
        *,
        clock: Callable[[], datetime],
        invitation_days: int = 30,
        session_hours: int = 12,
        admin_token: str | None = None,
    ) -> None:
        self._repo = repo
        self._portal = portal
        self._clock = clock
        self._invitation_life = timedelta(days=invitation_days)
        self._session_life = timedelta(hours=session_hours)
        if admin_token is not None and len(admin_token) < MIN_ADMIN_TOKEN:
            raise UsageError(
                f"{ADMIN_TOKEN_ENV}: at least {MIN_ADMIN_TOKEN} characters "
                "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
            )
        self._admin_digest = _digest(admin_token) if admin_token else None
        # compared against when the invitation is unknown, revoked or expired, so every refusal of a
        # well-formed key costs the same (one lookup, one hash, one constant-time compare)
        self._decoy_salt = secrets.token_hex(16)
        self._decoy_hash = _hash(secrets.token_urlsafe(32), self._decoy_salt)

    @classmethod
    def for_app(cls, app: Any, *, admin_token: str | None = None) -> PortalAccess:
        """Over ``app``'s state store (``crm_bridge.bootstrap.App``) with its ``portal`` config."""
        cfg = app.settings.portal
        return cls(
            PortalRepository(app.store.engine),
            app.portal,
            clock=app.clock,
            invitation_days=cfg.invitation_days,
            session_hours=cfg.session_hours,
            admin_token=admin_token,
        )

    @property
    def admin_enabled(self) -> bool:
        return self._admin_digest is not None

    # invitations
    def invite(self, partner_id: str, *, label: str = "") -> IssuedInvitation:
        now = self._clock()
        invitation_id = "".join(secrets.choice(_ALPHABET) for _ in range(12))
        secret = secrets.token_urlsafe(32)  # 43 characters
        salt = secrets.token_hex(16)
        expires = now + self._invitation_life
        record = InvitationRecord(
            invitation_id, partner_id, salt, _hash(secret, salt), label, now, expires, None, None
        )
        self._repo.add_invitation(self._portal, record)
        return IssuedInvitation(invitation_id, partner_id, f"{PREFIX}_{invitation_id}_{secret}", expires)

    def invitations(self, partner_id: str | None = None) -> list[InvitationRecord]:
        return self._repo.invitations(self._portal, partner_id)

    def revoke(self, invitation_id: str) -> InvitationRecord:
        """Revoke by invitation id (or the whole key); its sessions end now. UsageError when unknown,
        DataError when already revoked."""
        invitation_id = invitation_id.strip().removeprefix(f"{PREFIX}_").split("_", 1)[0]
        if not self._repo.revoke_invitation(self._portal, invitation_id, self._clock()):
            if self._repo.invitation(self._portal, invitation_id) is None:
                raise UsageError(
                    f"no portal invitation with id {invitation_id!r} (see `crm-bridge partners invitations`)"
                )
            raise DataError(
                f"invitation {invitation_id} was already revoked", where=f"invitation {invitation_id}"
            )
        record = self._repo.invitation(self._portal, invitation_id)
        if record is None:
            raise AssertionError("invariant broken: a revoked invitation is stored")
        return record

    def verify(self, key: str) -> InvitationRecord | None:
        """The live invitation ``key`` opens, or None (malformed, unknown, revoked, expired, wrong)."""
        match = _KEY.match(key.strip())
        if not match:
            return None
        now = self._clock()
        rec = self._repo.invitation(self._portal, match.group(1))
        live = rec if rec is not None and rec.revoked_at is None and rec.expires_at > now else None
        salt, expected = (live.salt, live.secret_hash) if live else (self._decoy_salt, self._decoy_hash)
        matches = hmac.compare_digest(expected, _hash(match.group(2), salt))
        if live is None or not matches:
            return None
        self._repo.touch_invitation(self._portal, live.invitation_id, now)
        return live

    # sessions
    def sign_in_partner(self, key: str) -> NewSession | None:
        """A session for the partner ``key`` invites, ending no later than the invitation."""
        invitation = self.verify(key)
        if invitation is None:
            return None
        return self._session(
            "partner", invitation.partner_id, invitation.invitation_id, invitation.expires_at
        )

    def sign_in_admin(self, token: str) -> NewSession | None:
        """A head's session when ``token`` is the configured secret (compared in constant time)."""
        expected = self._admin_digest
        given = _digest(token.strip())
        if expected is None or not hmac.compare_digest(expected, given):
            return None
        return self._session("admin", None, None, None)

    def _session(
        self, kind: str, partner_id: str | None, invitation_id: str | None, cap: datetime | None
    ) -> NewSession:
        now = self._clock()
        self._repo.purge_sessions(self._portal, now)  # expired rows go as new ones come
        expires = now + self._session_life
        if cap is not None:
            expires = min(expires, cap)
        token = secrets.token_urlsafe(32)
        record = SessionRecord(
            _digest(token), kind, partner_id, invitation_id, secrets.token_urlsafe(32), now, expires, None
        )
        self._repo.add_session(self._portal, record)
        return NewSession(token, record)

    def session(self, token: str | None, kind: str) -> SessionRecord | None:
        """The live session of ``kind`` the cookie value ``token`` names, else None."""
        if not token or len(token) > 100:
            return None
        rec = self._repo.session(self._portal, _digest(token))
        if rec is None or rec.kind != kind or rec.revoked_at is not None or rec.expires_at <= self._clock():
            return None
        return rec

    def sign_out(self, token: str | None) -> None:
        if token and len(token) <= 100:
            self._repo.end_session(self._portal, _digest(token), self._clock())
