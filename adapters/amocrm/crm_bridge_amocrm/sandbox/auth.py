"""amoCRM authentication and limits: Bearer tokens, ``POST /oauth2/access_token`` with single-use
rotating refresh tokens, the 7 requests/second limit (429) and the account block (403) that follows
repeated violations.

Sources: amoCRM OAuth docs as quoted in amocrm/amocrm-api-php issues #123, #269, #475 (a refresh
token works once: 3 months lifetime, access token 24 h) and developers.kommo.com/docs/limitations.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from crm_bridge.sandbox.core import SandboxRequest, SandboxResponse
from crm_bridge_amocrm.sandbox.wire import oauth_problem, problem

ACCESS_TTL = 86400
REFRESH_TTL = 90 * 86400
CODE_TTL = 20 * 60
_INVALID = "В запросе отсутствует ряд параметров или параметры невалидны"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass
class AmoAuth:
    """Issued credentials. Times are Unix seconds from the emulator's clock."""

    client_id: str
    client_secret: str
    redirect_uri: str
    long_lived_token: str
    long_lived_expires_at: float | None = None
    access_ttl: int = ACCESS_TTL
    refresh_ttl: int = REFRESH_TTL
    access: dict[str, tuple[int, float]] = field(default_factory=dict)
    refresh: dict[str, tuple[int, float]] = field(default_factory=dict)
    spent_refresh: set[str] = field(default_factory=set)
    codes: dict[str, tuple[int, float]] = field(default_factory=dict)
    spent_codes: set[str] = field(default_factory=set)
    _key: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    def issue_code(self, user_id: int, now: float) -> str:
        """An authorization code as the admin would copy it from the integration's settings."""
        code = "def50200" + secrets.token_hex(48)
        self.codes[code] = (user_id, now + CODE_TTL)
        return code

    def user_for(self, request: SandboxRequest, now: float) -> int | SandboxResponse:
        """The calling user's id, or amoCRM's 401 answer."""
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        if token and token == self.long_lived_token:
            if self.long_lived_expires_at is None or now < self.long_lived_expires_at:
                return 0
        elif token in self.access:
            user_id, expires_at = self.access[token]
            if now < expires_at:
                return user_id
        return unauthorized()

    def token_endpoint(
        self, request: SandboxRequest, now: float, *, account_id: int, domain: str
    ) -> SandboxResponse:
        try:
            data = request.json() if request.content_type != "application/x-www-form-urlencoded" else None
        except ValueError:
            data = None
        if data is None and request.body:
            data = {k: v[0] for k, v in request.form().items()}
        if not isinstance(data, dict):
            return oauth_problem(400, "Check the `grant_type` parameter", _INVALID)
        for key in ("client_id", "client_secret", "grant_type", "redirect_uri"):
            if not data.get(key):
                return oauth_problem(400, f"Check the `{key}` parameter", _INVALID)
        if data["client_id"] != self.client_id or not hmac.compare_digest(
            str(data["client_secret"]), self.client_secret
        ):
            return oauth_problem(401, "Client authentication failed", _INVALID)
        if data["redirect_uri"] != self.redirect_uri:
            return oauth_problem(400, "Redirect URI mismatch", _INVALID)
        if data["grant_type"] == "authorization_code":
            return self._by_code(str(data.get("code", "")), now, account_id, domain)
        if data["grant_type"] == "refresh_token":
            return self._by_refresh(str(data.get("refresh_token", "")), now, account_id, domain)
        return oauth_problem(400, "The authorization grant type is not supported", _INVALID)

    def _by_code(self, code: str, now: float, account_id: int, domain: str) -> SandboxResponse:
        if code in self.spent_codes:
            return oauth_problem(400, "Authorization code has been revoked", _INVALID)
        if code not in self.codes:
            return oauth_problem(400, "Cannot decrypt the authorization code", _INVALID)
        user_id, expires_at = self.codes.pop(code)
        self.spent_codes.add(code)
        if now >= expires_at:
            return oauth_problem(400, "Authorization code has expired", _INVALID)
        return self._pair(user_id, now, account_id, domain)

    def _by_refresh(self, token: str, now: float, account_id: int, domain: str) -> SandboxResponse:
        if token in self.spent_refresh:
            return oauth_problem(401, "Token has been revoked", _INVALID)
        if token not in self.refresh:
            return oauth_problem(400, "Cannot decrypt the refresh token", _INVALID)
        user_id, expires_at = self.refresh.pop(token)
        self.spent_refresh.add(token)
        if now >= expires_at:
            return oauth_problem(401, "Token has expired", _INVALID)
        return self._pair(user_id, now, account_id, domain)

    def _pair(self, user_id: int, now: float, account_id: int, domain: str) -> SandboxResponse:
        access = self._jwt(user_id, now, account_id, domain)
        refresh = "def50200" + secrets.token_hex(64)
        self.access[access] = (user_id, now + self.access_ttl)
        self.refresh[refresh] = (user_id, now + self.refresh_ttl)
        body = {
            "token_type": "Bearer",
            "expires_in": self.access_ttl,
            "access_token": access,
            "refresh_token": refresh,
        }
        return SandboxResponse(status=200, body=body, headers={"Content-Type": "application/json"})

    def _jwt(self, user_id: int, now: float, account_id: int, domain: str) -> str:
        """An access token shaped like amoCRM's (a JWT carrying ``api_domain``), signed HS256 here."""
        header = {"typ": "JWT", "alg": "HS256"}
        claims = {
            "aud": self.client_id,
            "jti": uuid.uuid4().hex,
            "iat": int(now),
            "nbf": int(now),
            "exp": int(now) + self.access_ttl,
            "sub": str(user_id),
            "grant_type": "",
            "account_id": account_id,
            "base_domain": "amocrm.ru",
            "version": 2,
            "scopes": ["crm", "notifications"],
            "api_domain": domain,
        }
        signing = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        signature = hmac.new(self._key, signing.encode(), hashlib.sha256).digest()
        return f"{signing}.{_b64(signature)}"

    def describe(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "live_refresh_tokens": len(self.refresh),
            "spent_refresh_tokens": len(self.spent_refresh),
            "live_access_tokens": len(self.access),
        }


def unauthorized() -> SandboxResponse:
    """amoCRM's 401 body, as returned to the SDK in amocrm/amocrm-api-php issue #333."""
    return problem(401, "Неверный логин или пароль")


@dataclass
class AmoLimits:
    """At most ``per_second`` requests in any 1-second window; ``block_after`` refused requests within
    ``block_window`` seconds block the account (HTTP 403) for ``block_seconds``. ``block_after`` None
    disables the block. The threshold is ours: amoCRM does not publish one."""

    enabled: bool = True
    per_second: int = 7
    block_after: int | None = 30
    block_window: float = 60.0
    block_seconds: float = 3600.0
    _hits: deque[float] = field(default_factory=deque)
    _refusals: deque[float] = field(default_factory=deque)
    blocked_until: float | None = None

    def check(self, now: float) -> str:
        """'ok', 'limited' (answer 429) or 'blocked' (answer 403)."""
        if self.blocked_until is not None:
            if now < self.blocked_until:
                return "blocked"
            self.blocked_until = None
            self._refusals.clear()
        if not self.enabled:
            return "ok"
        while self._hits and self._hits[0] <= now - 1.0:
            self._hits.popleft()
        if len(self._hits) < self.per_second:
            self._hits.append(now)
            return "ok"
        while self._refusals and self._refusals[0] <= now - self.block_window:
            self._refusals.popleft()
        self._refusals.append(now)
        if self.block_after is not None and len(self._refusals) >= self.block_after:
            self.blocked_until = now + self.block_seconds
        return "limited"

    def reset(self) -> None:
        self._hits.clear()
        self._refusals.clear()
        self.blocked_until = None
