"""One-time codes that link a Telegram chat to a partner: ``<id>-<secret>`` (8 + 20 characters of
[a-z0-9], ~103 random bits, fits Telegram's ``/start`` deep-link parameter), issued with a portal
invitation or by ``crm-bridge partners invite --telegram``. Only a salted SHA-256 of the secret is
stored; a code works once (the store's conditional update) and until it expires."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from crm_bridge.store.bot import BotRepository, LinkCode

_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
_CODE = re.compile(r"^([a-z0-9]{8})-([a-z0-9]{20})$")


def _hash(secret: str, salt: str) -> str:
    return hashlib.sha256(f"{salt}:{secret}".encode()).hexdigest()


def _random(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


@dataclass(frozen=True, slots=True)
class IssuedCode:
    """``code`` is the only copy of the secret: show it once."""

    code_id: str
    partner_id: str
    code: str
    expires_at: datetime

    def deep_link(self, username: str) -> str:
        return f"https://t.me/{username}?start={self.code}" if username else ""


class LinkCodes:
    def __init__(self, repo: BotRepository, *, clock: Callable[[], datetime], hours: int = 72) -> None:
        self._repo = repo
        self._clock = clock
        self._life = timedelta(hours=hours)
        self._decoy_salt = secrets.token_hex(16)
        self._decoy = _hash(_random(20), self._decoy_salt)

    def issue(self, partner_id: str) -> IssuedCode:
        now = self._clock()
        code_id, secret, salt = _random(8), _random(20), secrets.token_hex(16)
        expires = now + self._life
        self._repo.add_code(LinkCode(code_id, partner_id, salt, _hash(secret, salt), now, expires))
        return IssuedCode(code_id, partner_id, f"{code_id}-{secret}", expires)

    def redeem(self, code: str, chat_id: str, lang: str, now: datetime) -> str | None:
        """The partner the chat is now linked to, or None (malformed, unknown, used, expired, wrong);
        every refusal of a well-formed code costs one lookup and one constant-time compare."""
        match = _CODE.match(code.strip().lower())
        if not match:
            return None
        rec = self._repo.code(match.group(1))
        live = rec if rec is not None and rec.used_at is None and rec.expires_at > now else None
        salt, expected = (live.salt, live.code_hash) if live else (self._decoy_salt, self._decoy)
        if not hmac.compare_digest(expected, _hash(match.group(2), salt)) or live is None:
            return None
        return self._repo.redeem(live.code_id, chat_id, lang, now)
