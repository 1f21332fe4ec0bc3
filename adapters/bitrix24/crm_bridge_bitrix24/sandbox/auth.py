"""Who is calling: inbound webhooks (``/rest/<user_id>/<secret>/<method>``) and OAuth 2.0 access tokens
(``auth`` parameter), with the local application's token endpoint that rotates refresh tokens.

References: b24restdocs settings/how-to-call-rest-api/authorization.md, settings/oauth/index.md,
auto-renewal.md (access 1 h, refresh 180 days, a new pair on every refresh), error-codes.md,
_includes/system-errors.md (401 NO_AUTH_FOUND, 401 expired_token, 403 insufficient_scope).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from crm_bridge_bitrix24.sandbox.params import pick
from crm_bridge_bitrix24.sandbox.state import B24Error

REFRESH_TTL = 180 * 86400
MEMBER_ID = "5a9d2c0e7b1f4a3c8e6d0b2a4c6e8f01"
NO_AUTH = B24Error(401, "NO_AUTH_FOUND", "Wrong authorization data")
EXPIRED = B24Error(401, "expired_token", "The access token provided has expired")
# Which webhook/app scope opens which methods (api-reference/scopes/permissions.md).
_SCOPE_OF = {
    "crm.": ("crm",),
    "tasks.": ("task",),
    "im.": ("im",),
    "user.": ("user", "user_basic", "user_brief"),
    "department.": ("department",),
}


def scopes_for(method: str) -> tuple[str, ...]:
    """The scopes any of which allows ``method``; empty for ``basic`` methods (batch, scope, ...)."""
    for prefix, scopes in _SCOPE_OF.items():
        if method.startswith(prefix):
            return scopes
    return ()


@dataclass
class Caller:
    user_id: int
    via: str  # "webhook" | "oauth"


@dataclass
class Credentials:
    """The portal's inbound webhook(s) and one local application (``client_id``/``client_secret``)."""

    webhooks: dict[int, str]
    scopes: tuple[str, ...]
    client_id: str
    client_secret: str
    access_ttl: int = 3600
    access: dict[str, tuple[int, float]] = field(default_factory=dict)  # token -> (user, expires at)
    refresh: dict[str, tuple[int, float]] = field(default_factory=dict)

    def authenticate(self, parts: list[str], params: dict[str, Any], now: float) -> Caller:
        """``parts`` is the path after /rest/ split on "/": [user, secret, method] for a webhook."""
        if len(parts) >= 3:
            try:
                user = int(parts[0])
            except ValueError:
                raise NO_AUTH from None
            if not secrets.compare_digest(self.webhooks.get(user, ""), parts[1]):
                raise NO_AUTH
            return Caller(user, "webhook")
        token = str(pick(params, "auth", default="") or "")
        found = self.access.get(token) if token else None
        if found is None:
            raise NO_AUTH
        if found[1] <= now:
            raise EXPIRED
        return Caller(found[0], "oauth")

    def check_scope(self, method: str) -> None:
        needed = scopes_for(method)
        if needed and not any(s in self.scopes for s in needed):
            raise B24Error(
                403,
                "insufficient_scope",
                "The request requires higher privileges than provided by the webhook token",
            )

    def issue_refresh(self, user: int, now: float) -> str:
        token = secrets.token_hex(16)
        self.refresh[token] = (user, now + REFRESH_TTL)
        return token

    def issue_access(self, user: int, now: float) -> str:
        token = secrets.token_hex(16)
        self.access[token] = (user, now + self.access_ttl)
        return token

    def token_endpoint(
        self, params: dict[str, Any], now: float, client_endpoint: str
    ) -> tuple[int, dict[str, Any]]:
        """``GET|POST /oauth/token/?grant_type=refresh_token&client_id&client_secret&refresh_token``:
        a new pair; the refresh token used stops working (auto-renewal.md: "Retain it instead of the
        previous one")."""
        grant = str(pick(params, "grant_type", default="") or "")
        if not grant or not pick(params, "client_id"):
            return 400, {"error": "invalid_request", "error_description": "Invalid request"}
        if pick(params, "client_id") != self.client_id or pick(params, "client_secret") != self.client_secret:
            return 401, {"error": "invalid_client", "error_description": "Invalid client"}
        if grant != "refresh_token":
            return 400, {"error": "invalid_grant", "error_description": "Invalid grant"}
        found = self.refresh.pop(str(pick(params, "refresh_token", default="")), None)
        if found is None or found[1] <= now:
            return 400, {"error": "invalid_grant", "error_description": "Invalid grant"}
        user = found[0]
        access = self.issue_access(user, now)
        return 200, {
            "access_token": access,
            "client_endpoint": client_endpoint,
            "domain": "oauth.bitrix.info",
            "expires": int(now + self.access_ttl),
            "expires_in": self.access_ttl,
            "member_id": MEMBER_ID,
            "refresh_token": self.issue_refresh(user, now),
            "scope": ",".join(self.scopes),
            "server_endpoint": "https://oauth.bitrix.info/rest/",
            "status": "L",
            "user_id": user,
        }

    def reset(self) -> None:
        self.access.clear()
        self.refresh.clear()
