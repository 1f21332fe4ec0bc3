"""The adapter's glue to ``crm_bridge.http``: the amoCRM ``HttpPolicy`` (7 requests/s as a shared
rolling window, 429 waited out and resent — amoCRM ran nothing — and its errors translated), Bearer auth
with a long-lived token or OAuth 2.0 (authorization code exchanged once, single-use refresh tokens
rotated single-flight across processes, the new pair persisted before it is used).

Errors (amoCRM API v4 "Ошибки" / Kommo "Limitations"): 400 ``validation-errors`` (per request_id),
401 token refused, 402 account not paid, 403 with an HTML page = the integration is blocked for
breaking the limits (never retried: retries prolong the block), 429 too many requests, 204 = an
empty list.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests

from crm_bridge.errors import AuthError, CrmError, CrmValidationError, NotFound, PermissionDenied
from crm_bridge.http import (
    BearerAuth,
    HttpClient,
    HttpPolicy,
    KvTokenStore,
    RateBudget,
    RefreshingToken,
    StaticToken,
)
from crm_bridge.http import TokenPair as StoredPair
from crm_bridge.ports import AdapterContext
from crm_bridge_amocrm.config import AmoCrmConfig

CRM = "amocrm"
TOKEN_KEY = "crm.amocrm.access_token"  # noqa: S105 (a name, not a secret)
OAUTH_KEY = "crm.amocrm.oauth"
TOKENS_KV_KEY = "amocrm.oauth_tokens"
LOCK_NAME = "amocrm-oauth-refresh"
# amoCRM documents "not more than 7 requests per second" (Kommo "Limitations") and counts them when they
# arrive: the budget is a rolling window, at most ``rate_limit.burst`` requests in any
# ``burst / per_second`` seconds (shipped: 7 in any 7/6.7 = 1.045 s), kept in the state store so every
# process shares it. An idle client sends 7 at once; a busy one sends each request as the one 7 before
# it ages out of the window, so 8 requests are never less than 1.045 s apart when they leave: up to
# 45 ms of jitter between leaving here and arriving there stays under amoCRM's count. A request granted
# more than 25 ms after its place was booked (the state store's commit was slow, the process stalled)
# books a fresh place, so the next ones are counted from when it really leaves: a 0.2 s commit once
# bunched two requests 50 ms apart and drew a 429.
STALE_AFTER = 0.025


class AmoValidationError(CrmValidationError):
    """400 ``validation-errors``: ``problems`` maps each refused item's request_id to its reasons."""

    def __init__(self, message: str, problems: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.problems = dict(problems or {})


class AmoBlocked(PermissionDenied):
    """amoCRM answered 403 with its HTML block page: the integration (or IP) is blocked."""


def account_of(config: AmoCrmConfig) -> str:
    """The account's host (``example.amocrm.ru``): names the limiter budget and the state store."""
    parts = urlsplit(str(config.base_url))
    return (parts.hostname or "") + (f":{parts.port}" if parts.port else "")


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _problems(body: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in body.get("validation-errors") or [] if isinstance(body, dict) else []:
        if not isinstance(item, dict):
            continue
        reasons = "; ".join(
            f"{e.get('path') or 'item'}: {e.get('detail') or e.get('code')}"
            for e in item.get("errors") or []
            if isinstance(e, dict)
        )
        out[str(item.get("request_id", ""))] = reasons or "refused by amoCRM"
    return out


class AmoTransport:
    """``get``/``post``/``patch`` of JSON over one ``HttpClient``; its ``counter`` counts requests."""

    def __init__(self, config: AmoCrmConfig, ctx: AdapterContext) -> None:
        self.config = config
        self.account = account_of(config)
        self.config_key = TOKEN_KEY if config.access_token is not None else OAUTH_KEY
        self.token: RefreshingToken | StaticToken
        if config.access_token is not None:
            self.token = StaticToken(config.access_token.get_secret_value())
        else:
            from crm_bridge_amocrm.oauth import oauth_token

            self.token = oauth_token(config, ctx, self._oauth_http(ctx))
        rate = config.rate_limit
        policy = HttpPolicy(
            name=CRM,
            base_url=str(config.base_url).rstrip("/") + "/",
            connect_timeout=config.http.connect_timeout,
            read_timeout=config.http.read_timeout,
            max_retries=config.http.max_retries,
            backoff_cap=config.http.max_backoff,
            budgets=(
                RateBudget.rolling_window(
                    "window", rate.burst, rate.burst / rate.per_second, key=f"{CRM}:{self.account}:rolling"
                ),
            ),
            stale_after=STALE_AFTER,
            concurrency=config.max_concurrency,
            translate_error=self._translate,
            refused_before_running=lambda r: r.status_code == 429,
            retry_after_from=self._retry_after,
            default_headers={"Accept": "application/json"},
        )
        self.http = HttpClient(
            policy,
            auth=BearerAuth(self.token),
            bucket=ctx.bucket,
            clock=ctx.clock,
            sleep=ctx.sleep,
            on_request=ctx.on_request,
        )

    def _oauth_http(self, ctx: AdapterContext) -> HttpClient:
        return HttpClient(
            HttpPolicy(
                name=f"{CRM}-oauth",
                base_url=str(self.config.base_url).rstrip("/") + "/",
                max_retries=2,
                translate_error=self._translate_oauth,
                refused_before_running=lambda r: r.status_code == 429,
            ),
            bucket=ctx.bucket,
            clock=ctx.clock,
            sleep=ctx.sleep,
            on_request=ctx.on_request,
        )

    # -- requests ---------------------------------------------------------------------------------
    def get(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
        """The JSON body, or None for amoCRM's 204 (an empty list / no such record)."""
        response = self.http.get(path, params=dict(params or {}))
        if response.status_code == 204 or not response.content:
            return None
        return self._body(response)

    def post(self, path: str, payload: Any) -> dict[str, Any]:
        return self._body(self.http.post(path, json=payload))

    def post_array(self, path: str, payload: Any) -> list[Any]:
        """A POST answered with a bare JSON array (``/api/v4/leads/complex``)."""
        response = self.http.post(path, json=payload)
        body = _json(response)
        if not isinstance(body, list):
            raise CrmError(f"amoCRM answered HTTP {response.status_code} with no JSON array", crm=CRM)
        return body

    def patch(self, path: str, payload: Any) -> dict[str, Any]:
        # an update sets absolute values: sending it twice changes nothing more (safe to resend)
        return self._body(self.http.patch(path, json=payload, idempotent=True))

    def delete(self, path: str) -> None:
        self.http.delete(path, idempotent=True)

    def _body(self, response: requests.Response) -> dict[str, Any]:
        body = _json(response)
        if not isinstance(body, dict):
            raise CrmError(f"amoCRM answered HTTP {response.status_code} with no JSON object", crm=CRM)
        return body

    def close(self) -> None:
        self.http.close()

    def _retry_after(self, response: requests.Response, now: float) -> float | None:
        """A 429 without Retry-After (amoCRM sends none, and not always JSON): two request slots, so
        the shared limiter spaces the resend; a Retry-After header, when there is one, wins."""
        if response.status_code == 429 and not response.headers.get("Retry-After"):
            return 2.0 / self.config.rate_limit.per_second
        return None

    # -- errors -----------------------------------------------------------------------------------
    def _translate(self, response: requests.Response) -> CrmError | None:
        status = response.status_code
        body = _json(response)
        detail = str(body.get("detail") or body.get("title") or "") if isinstance(body, dict) else ""
        where = f"{response.request.method if response.request else ''} {urlsplit(response.url).path}"
        if status == 403 and not isinstance(body, dict):
            return AmoBlocked(
                f"amoCRM has blocked this integration (HTTP 403 block page on {where}): it stops now "
                f"and does not retry, since retries prolong the block. Contact amoCRM support with the "
                f"account subdomain {self.account} and this server's public IP address; lower "
                "crm.amocrm.rate_limit if it was raised above 7 requests/s",
                crm=CRM,
                status=403,
                code="blocked",
            )
        if status == 400 and isinstance(body, dict) and "validation-errors" in body:
            problems = _problems(body)
            text = "; ".join(f"#{k}: {v}" for k, v in problems.items())
            return AmoValidationError(
                f"amoCRM refused {where}: {text}"[:1000], problems, crm=CRM, status=400, code="validation"
            )
        if status == 401:
            return AuthError(
                f"amoCRM refused the token (HTTP 401 on {where}{': ' + detail if detail else ''}); "
                f"check {self.config_key}",
                crm=CRM,
                status=401,
                config_key=self.config_key,
            )
        if status == 402:
            return PermissionDenied(
                f"amoCRM: the account {self.account} is not paid (HTTP 402); renew it", crm=CRM, status=402
            )
        if status == 403:
            return PermissionDenied(
                f"amoCRM refused {where} (HTTP 403{': ' + detail if detail else ''}): the token's user "
                "lacks the right",
                crm=CRM,
                status=403,
            )
        if status == 404:
            return NotFound(f"amoCRM: {where} not found", crm=CRM, status=404)
        if status == 400:
            return CrmValidationError(
                f"amoCRM refused {where}: {detail or 'bad request'}", crm=CRM, status=400
            )
        return None

    def _translate_oauth(self, response: requests.Response) -> CrmError | None:
        if response.status_code in (400, 401):
            body = _json(response)
            hint = str(body.get("hint") or body.get("detail") or "") if isinstance(body, dict) else ""
            return AuthError(
                f"amoCRM refused the authorization grant ({hint or f'HTTP {response.status_code}'}); check "
                f"{OAUTH_KEY} (issue a new authorization_code in the integration's settings if the "
                "refresh token was spent or expired)",
                crm=CRM,
                status=response.status_code,
                config_key=OAUTH_KEY,
            )
        return self._translate(response)


def stored_pair(body: Mapping[str, Any], now: float) -> StoredPair:
    """A token answer -> the pair kept in the state store (expires_at from ``expires_in``)."""
    expires_in = body.get("expires_in")
    return StoredPair(
        str(body["access_token"]),
        str(body.get("refresh_token") or ""),
        now + float(expires_in) if isinstance(expires_in, int | float) else None,
    )


__all__ = ["AmoBlocked", "AmoTransport", "AmoValidationError", "KvTokenStore", "account_of", "stored_pair"]
