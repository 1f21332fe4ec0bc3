"""HubSpot authentication and rate limits.

Auth: a private-app token (never expires) or OAuth access tokens from ``POST /oauth/v1/token``
that expire after ``expires_in`` = 1800 s; a stale one gets 401 EXPIRED_AUTHENTICATION ("The OAuth
token used to make this call expired N second(s) ago.", as quoted in airbytehq/airbyte#74726).
Limits: 100 requests per rolling 10 s (private app, configurable) and a daily cap, reported in the
X-HubSpot-RateLimit-* headers; search endpoints also allow only 5 requests per second. Over a limit
the answer is 429 with ``policyName`` TEN_SECONDLY_ROLLING / SECONDLY / DAILY.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from bisect import bisect_right, insort
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from crm_bridge.sandbox.core import SandboxRequest, SandboxResponse
from crm_bridge_hubspot.sandbox.store import iso
from crm_bridge_hubspot.sandbox.wire import JSON, error

ACCESS_TTL = 1800
_NOT_FOUND = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can "
    "find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)


def _human(seconds: float) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit}(s)"
    return f"{int(seconds)} second(s)"


@dataclass
class HsAuth:
    private_app_token: str
    client_id: str
    client_secret: str
    redirect_uri: str
    developer_api_key: str
    access_ttl: int = ACCESS_TTL
    access: dict[str, float] = field(default_factory=dict)
    refresh: set[str] = field(default_factory=set)
    codes: dict[str, float] = field(default_factory=dict)

    def check(self, request: SandboxRequest, now: float) -> SandboxResponse | None:
        """None when the Bearer token is good, else HubSpot's 401 answer."""
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        if token and token == self.private_app_token:
            return None
        if token in self.access:
            expired_for = now - self.access[token]
            if expired_for < 0:
                return None
            message = f"The OAuth token used to make this call expired {_human(expired_for)} ago."
            return error(
                401, "EXPIRED_AUTHENTICATION", message, context={"expire time": [iso(self.access[token])]}
            )
        return error(401, "INVALID_AUTHENTICATION", _NOT_FOUND)

    def check_developer(self, request: SandboxRequest) -> SandboxResponse | None:
        """Webhook settings take the developer account's ``hapikey`` (OpenAPI ``developer_hapikey``)."""
        key = request.query.get("hapikey", [""])[0]
        if key and hmac.compare_digest(key, self.developer_api_key):
            return None
        return error(401, "INVALID_AUTHENTICATION", _NOT_FOUND)

    def issue_code(self, now: float) -> str:
        code = str(uuid.uuid4())
        self.codes[code] = now + 600
        return code

    def token_endpoint(self, request: SandboxRequest, now: float) -> SandboxResponse:
        form = {k: v[0] for k, v in request.form().items()} if request.body else {}
        grant = form.get("grant_type")
        if form.get("client_id") != self.client_id:
            return _oauth_error("BAD_CLIENT_ID", "missing or invalid client_id")
        if not hmac.compare_digest(form.get("client_secret", ""), self.client_secret):
            return _oauth_error("BAD_CLIENT_SECRET", "missing or invalid client secret")
        if grant == "authorization_code":
            if form.get("redirect_uri") != self.redirect_uri:
                return _oauth_error("BAD_REDIRECT_URI", "redirect_uri does not match the app's")
            expires_at = self.codes.pop(form.get("code", ""), None)
            if expires_at is None or now >= expires_at:
                return _oauth_error("BAD_AUTH_CODE", "missing or unknown auth code")
            refresh = str(uuid.uuid4())
            self.refresh.add(refresh)
        elif grant == "refresh_token":
            refresh = form.get("refresh_token", "")
            if refresh not in self.refresh:
                return _oauth_error("BAD_REFRESH_TOKEN", "missing or unknown refresh token")
        else:
            return _oauth_error("BAD_GRANT_TYPE", "grant_type must be authorization_code or refresh_token")
        access = "CJ" + secrets.token_urlsafe(96)
        self.access[access] = now + self.access_ttl
        body = {
            "token_type": "bearer",
            "refresh_token": refresh,
            "access_token": access,
            "expires_in": self.access_ttl,
        }
        return SandboxResponse(status=200, body=body, headers=dict(JSON))

    def introspect(self, token: str, now: float, portal_id: int) -> SandboxResponse:
        if token not in self.access or now >= self.access[token]:
            return _oauth_error("BAD_ACCESS_TOKEN", "missing or unknown access token", status=404)
        body = {
            "token": token,
            "user": "sandbox@example.com",
            "hub_domain": "sandbox.hubspot.com",
            "scopes": [
                "crm.objects.contacts.read",
                "crm.objects.contacts.write",
                "crm.objects.companies.read",
                "crm.objects.companies.write",
                "crm.objects.deals.read",
                "crm.objects.deals.write",
                "crm.schemas.deals.read",
                "crm.objects.owners.read",
            ],
            "hub_id": portal_id,
            "app_id": 1234567,
            "expires_in": int(self.access[token] - now),
            "user_id": 9000001,
            "token_type": "access",
        }
        return SandboxResponse(status=200, body=body, headers=dict(JSON))


def _oauth_error(status_code: str, message: str, status: int = 400) -> SandboxResponse:
    body = {
        "status": status_code,
        "message": message,
        "correlationId": str(uuid.uuid4()),
        "requestId": uuid.uuid4().hex,
    }
    return SandboxResponse(status=status, body=body, headers=dict(JSON))


@dataclass
class HsLimits:
    enabled: bool = True
    per_window: int = 100
    window: float = 10.0
    daily: int = 250_000
    search_per_second: int = 5
    zone: tzinfo = UTC  # the account's time zone: the daily quota resets at its midnight
    _hits: deque[float] = field(default_factory=deque)
    _search: deque[float] = field(default_factory=deque)
    _day: int = -1
    _day_count: int = 0

    def admit(self, now: float, *, search: bool) -> tuple[str | None, dict[str, str]]:
        """(None, headers) when admitted, else (policyName, headers) for the 429."""
        day = datetime.fromtimestamp(now, self.zone).toordinal()
        if day > self._day:
            self._day, self._day_count = day, 0
        # arrival times may come a little out of order (requests wait for the emulator's lock): the
        # windows count those in (now - window, now]
        while self._hits and self._hits[0] <= now - self.window:
            self._hits.popleft()
        while self._search and self._search[0] <= now - 1.0:
            self._search.popleft()
        policy = None
        if self.enabled:
            if self._day_count >= self.daily:
                policy = "DAILY"
            elif _within(self._hits, now, self.window) >= self.per_window:
                policy = "TEN_SECONDLY_ROLLING"
            elif search and _within(self._search, now, 1.0) >= self.search_per_second:
                policy = "SECONDLY"
        if policy is None:
            insort(self._hits, now)
            self._day_count += 1
            if search:
                insort(self._search, now)
        return policy, self.headers()

    def headers(self) -> dict[str, str]:
        return {
            "X-HubSpot-RateLimit-Daily": str(self.daily),
            "X-HubSpot-RateLimit-Daily-Remaining": str(max(self.daily - self._day_count, 0)),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(self.window * 1000)),
            "X-HubSpot-RateLimit-Max": str(self.per_window),
            "X-HubSpot-RateLimit-Remaining": str(max(self.per_window - len(self._hits), 0)),
        }

    def reset(self) -> None:
        self._hits.clear()
        self._search.clear()
        self._day_count = 0


def _within(times: deque[float], now: float, window: float) -> int:
    """How many of ``times`` (ascending) fall in the window ending at ``now``: (now - window, now]."""
    return bisect_right(times, now) - bisect_right(times, now - window)


def rate_limited(policy: str, portal_id: int, headers: dict[str, str] | None = None) -> SandboxResponse:
    """HubSpot's 429 (usage guidelines example, plus the ``category`` newer answers carry)."""
    name = {"TEN_SECONDLY_ROLLING": "ten_secondly_rolling", "SECONDLY": "secondly", "DAILY": "daily"}[policy]
    body: dict[str, Any] = {
        "status": "error",
        "message": f"You have reached your {name} limit.",
        "errorType": "RATE_LIMIT",
        "correlationId": str(uuid.uuid4()),
        "policyName": policy,
        "groupName": f"publicapi:private-app-{name.replace('_', '-')}:{portal_id}",
        "category": "RATE_LIMITS",
        "requestId": uuid.uuid4().hex,
    }
    return SandboxResponse(status=429, body=body, headers={**JSON, **(headers or {})})
