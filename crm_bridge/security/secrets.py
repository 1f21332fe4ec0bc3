"""Secrets at rest: values the state store keeps for a secret key (OAuth token pairs, client
secrets) are encrypted with Fernet (AES-128-CBC + HMAC-SHA256, ``cryptography``) under the key(s) in
``CRM_BRIDGE_SECRET_KEY``.

``CRM_BRIDGE_SECRET_KEY`` holds one Fernet key, or several separated by commas: the first encrypts,
every one decrypts (``MultiFernet``), which is how a key is rotated without downtime. A missing,
malformed or wrong key is a ``SecretKeyError`` naming the variable -- never a silent fallback to
plain text. Stored form: ``{"$fernet": "<token>"}`` in the JSON value column (SQLite and PostgreSQL).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from crm_bridge.errors import SecretKeyError

ENV = "CRM_BRIDGE_SECRET_KEY"
ENVELOPE = "$fernet"
_SECRET_NAME = re.compile(r"(?i)(token|secret|password|credential|api_key)")
_HOW = f"generate one with `crm-bridge secrets generate-key` and set {ENV} in the environment or .env"


def is_secret_key(key: str) -> bool:
    """The store encrypts the value of every key named like a secret (``bitrix24.oauth_tokens``,
    ``oauth_tokens``, ``client_secret``...): one rule for every adapter, no opt-in to forget."""
    return bool(_SECRET_NAME.search(key))


def is_sealed(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {ENVELOPE} and isinstance(value[ENVELOPE], str)


def generate_key() -> str:
    return Fernet.generate_key().decode("ascii")


class Keyring:
    """The Fernet keys from ``CRM_BRIDGE_SECRET_KEY`` (read through ``lookup`` on first use, so a
    store without secrets never needs the variable)."""

    def __init__(self, lookup: Callable[[], str | None]) -> None:
        self._lookup = lookup
        self._fernet: MultiFernet | None = None

    @classmethod
    def from_mapping(cls, env: Mapping[str, str]) -> Keyring:
        return cls(lambda: env.get(ENV))

    def _keys(self) -> MultiFernet:
        if self._fernet is None:
            raw = (self._lookup() or "").strip()
            if not raw:
                raise SecretKeyError(f"{ENV} is not set: the state store keeps secrets encrypted; {_HOW}")
            try:
                self._fernet = MultiFernet([Fernet(part.strip()) for part in raw.split(",") if part.strip()])
            except (ValueError, TypeError) as exc:
                raise SecretKeyError(
                    f"{ENV}: not a Fernet key (32 url-safe base64-encoded bytes; several are comma-separated)"
                    f"; {_HOW}"
                ) from exc
        return self._fernet

    def check(self) -> None:
        """Raise SecretKeyError unless the variable holds usable keys."""
        self._keys()

    def seal(self, value: Any) -> dict[str, str]:
        """``value`` (JSON-serialisable) encrypted under the first key."""
        token = self._keys().encrypt(json.dumps(value, separators=(",", ":")).encode("utf-8"))
        return {ENVELOPE: token.decode("ascii")}

    def open(self, sealed: Mapping[str, str], where: str) -> Any:
        """The value inside ``sealed``; SecretKeyError naming ``where`` when no key decrypts it."""
        try:
            plain = self._keys().decrypt(sealed[ENVELOPE].encode("ascii"))
        except InvalidToken as exc:
            raise SecretKeyError(
                f"{ENV} cannot decrypt the stored secret {where}: the key is wrong, or the key it was "
                f"encrypted with was removed (during a rotation keep the old key after the new one: NEW,OLD)"
            ) from exc
        return json.loads(plain)

    def rotate(self, sealed: Mapping[str, str], where: str) -> dict[str, str]:
        """``sealed`` re-encrypted under the first key (SecretKeyError naming ``where`` as ``open``)."""
        try:
            token = self._keys().rotate(sealed[ENVELOPE].encode("ascii"))
        except InvalidToken as exc:
            raise SecretKeyError(
                f"{ENV} cannot decrypt the stored secret {where}: none of its keys is the one it was "
                "encrypted with; nothing was changed"
            ) from exc
        return {ENVELOPE: token.decode("ascii")}
