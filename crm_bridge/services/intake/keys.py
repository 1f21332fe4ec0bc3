"""Partner API keys for the HTTP intake: issue (shown once), verify, list, revoke.

A key reads ``cbk_<key id>_<secret>``. The key id finds the record; only a salted SHA-256 of the
secret is stored, compared in constant time. Secrets are 256 random bits, so a fast hash is enough:
there is nothing to brute-force that is cheaper than guessing the key itself.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from crm_bridge.errors import DataError, UsageError
from crm_bridge.store.api_keys import ApiKeyRecord, ApiKeyRows

PREFIX = "cbk"
TOUCH_EVERY = timedelta(minutes=1)  # last_used_at is shown to the minute: one write a minute per key
_KEY = re.compile(rf"^{PREFIX}_([a-z0-9]{{12}})_([A-Za-z0-9_-]{{43}})$")


def hash_secret(secret: str, salt: str) -> str:
    return hashlib.sha256(f"{salt}:{secret}".encode()).hexdigest()


def key_id_of(key: str) -> str:
    """The key id inside a well-formed key (``cbk_<id>_<secret>``); "" otherwise."""
    match = _KEY.match(key)
    return match.group(1) if match else ""


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A new key. ``key`` is the only copy of the secret: print it once, never store it."""

    key_id: str
    partner_id: str
    key: str


class ApiKeys:
    """API keys of one CRM instance (``portal``) in the state store."""

    def __init__(
        self, repo: ApiKeyRows, portal: str, *, hasher: Callable[[str, str], str] = hash_secret
    ) -> None:
        self._repo = repo
        self._portal = portal
        self._hash = hasher
        # compared against when the key id is unknown or revoked, so every refusal of a well-formed
        # key does the same work (one lookup, one hash, one constant-time compare)
        self._decoy_salt = secrets.token_hex(16)
        self._decoy_hash = hasher(secrets.token_urlsafe(32), self._decoy_salt)

    def create(self, partner_id: str, *, now: datetime, label: str = "") -> IssuedKey:
        key_id = "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(12))
        secret = secrets.token_urlsafe(32)  # 43 characters
        salt = secrets.token_hex(16)
        self._repo.add_key(
            self._portal,
            ApiKeyRecord(key_id, partner_id, salt, hash_secret(secret, salt), label, now, None, None),
        )
        return IssuedKey(key_id, partner_id, f"{PREFIX}_{key_id}_{secret}")

    def verify(self, key: str | None, *, now: datetime | None = None) -> str | None:
        """The partner id the key belongs to, or None (malformed, unknown or revoked key). An unknown
        key id and a wrong secret are refused after the same work, so timing does not tell them apart."""
        match = _KEY.match(key or "")
        if not match:
            return None
        rec = self._repo.key(self._portal, match.group(1))
        live = rec if rec is not None and rec.revoked_at is None else None
        salt, expected = (live.salt, live.secret_hash) if live else (self._decoy_salt, self._decoy_hash)
        matches = hmac.compare_digest(expected, self._hash(match.group(2), salt))
        if live is None or not matches:
            return None
        rec = live
        if now is not None and (rec.last_used_at is None or now - rec.last_used_at >= TOUCH_EVERY):
            # a partner's burst reads the key once per request but writes its last use once a minute
            self._repo.touch_key(self._portal, rec.key_id, now)
        return rec.partner_id

    def list(self, partner_id: str | None = None) -> list[ApiKeyRecord]:
        return self._repo.keys(self._portal, partner_id)

    def revoke(self, key_id: str, *, now: datetime) -> None:
        """Revoke by key id (the part after ``cbk_``; ``keys list`` shows it). UsageError when unknown."""
        key_id = key_id.removeprefix(f"{PREFIX}_").split("_", 1)[0]
        if not self._repo.revoke_key(self._portal, key_id, now):
            rec = self._repo.key(self._portal, key_id)
            if rec is None:
                raise UsageError(f"no API key with id {key_id!r} (see `crm-bridge intake keys list`)")
            raise DataError(f"API key {key_id} was already revoked", where=f"key {key_id}")
