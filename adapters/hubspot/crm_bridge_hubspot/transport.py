"""The adapter's glue to ``crm_bridge.http``: one ``HttpClient`` per account with HubSpot's budgets.

Budgets, all kept in the state store when there is one (so the daemon and every CLI process share
them):

* the 10-second window (100 or 190 by tier): a rolling window, as HubSpot counts it — up to N at once,
  then a request waits only until the oldest of the last N is 10.1 s old (1% margin for arrival
  jitter). (A leaky bucket safe for the window, burst N/20 draining (N - N/20)/10 a second, took
  20.5 s for 200 requests the window allows in 10.1.)
* the search endpoints' per-second limit: a leaky bucket taken before every ``…/search`` call, one at
  a time, 0.95 × the limit a second;
* the daily quota: read from ``X-HubSpot-RateLimit-Daily``/``-Daily-Remaining`` on every answer; when
  no more than ``daily_reserve`` requests are left, requests fail at once with ``RateLimited`` (retry
  after the next midnight in the account's time zone, read from ``GET /account-info/v3/details``) so
  scheduled work pauses, says so in the log and in ``on_quota`` (/metrics), instead of spending the
  last of the quota.

Error answers become crm-bridge errors naming HubSpot's ``category``, ``message`` and ``correlationId``;
a 429 is waited out by its ``policyName`` (TEN_SECONDLY_ROLLING, SECONDLY) and a DAILY one is not.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta, timezone, tzinfo
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests

from crm_bridge.errors import (
    AuthError,
    ConfigError,
    CrmError,
    CrmFatalError,
    CrmRetriableError,
    CrmValidationError,
    NotFound,
    PermissionDenied,
    RateLimited,
    TransientError,
)
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
from crm_bridge_hubspot.config import Budgets, HubSpotConfig

CRM = "hubspot"
TOKEN_KEY = "crm.hubspot.access_token"  # noqa: S105 (a name, not a secret)
OAUTH_KEY = "crm.hubspot.oauth.refresh_token"
TOKENS_KV_KEY = "hubspot.oauth_tokens"
SEARCH_SHARE = 0.95
WINDOW, WINDOW_MARGIN = 10.0, 0.01
ACCOUNT_DETAILS = "/account-info/v3/details"
log = logging.getLogger("crm_bridge_hubspot")


def error_body(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def describe(body: dict[str, Any]) -> str:
    """``CATEGORY: message (correlationId …)`` from HubSpot's error body."""
    category = body.get("category") or body.get("errorType") or "ERROR"
    text = f"{category}: {body.get('message', 'no message')}"
    if body.get("correlationId"):
        text += f" (correlationId {body['correlationId']})"
    return text


def seconds_to_midnight(now: float, zone: tzinfo = UTC) -> float:
    """Seconds from ``now`` to the next midnight in ``zone`` (HubSpot resets the daily quota then)."""
    moment = datetime.fromtimestamp(now, zone)
    next_day = moment.date() + timedelta(days=1)
    midnight = datetime.combine(next_day, time(0), zone).astimezone(UTC)  # a DST day is 23 or 25 h
    return max(1.0, midnight.timestamp() - now)


def zone_of(details: dict[str, Any]) -> tzinfo:
    """The account's time zone from ``GET /account-info/v3/details``: its ``timeZone`` name, else the
    fixed ``utcOffsetMilliseconds``, else UTC."""
    name = details.get("timeZone")
    if isinstance(name, str) and name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            log.warning("hubspot: unknown account time zone %r; using its UTC offset", name)
    offset = details.get("utcOffsetMilliseconds")
    if isinstance(offset, int) and abs(offset) < 86_400_000:
        return timezone(timedelta(milliseconds=offset))
    return UTC


def _when(moment: float, zone: tzinfo) -> str:
    """``2026-12-07 00:00 US/Eastern (05:00 UTC)``, or ``… UTC`` alone for UTC."""
    local = datetime.fromtimestamp(moment, zone)
    text = local.strftime("%Y-%m-%d %H:%M ") + str(zone)
    if local.utcoffset():
        text += datetime.fromtimestamp(moment, UTC).strftime(" (%H:%M UTC)")
    return text


class DailyQuota:
    """The daily budget as HubSpot reports it on every answer (``X-HubSpot-RateLimit-Daily`` and
    ``-Daily-Remaining``). When no more than the reserve is left, requests stop before they are sent
    (``RateLimited``, retry after the next midnight) and stay stopped until then: scheduled work
    pauses and says so once in the log, and ``on_quota`` (the daemon's /metrics) shows it. HubSpot
    resets the quota at midnight in the account's time zone: ``zone()`` reads it (``GET
    /account-info/v3/details``, once, when the quota first pauses; UTC when it cannot be read). After
    that midnight requests go again and the next answer tells the new figure."""

    def __init__(
        self,
        budgets: Budgets,
        clock: Any,
        on_quota: Callable[[str, int, int, str], None] | None,
        account_zone: Callable[[], tzinfo],
    ) -> None:
        self.limit = budgets.daily
        self.share = budgets.daily_reserve / budgets.daily if budgets.daily else 0.0
        self.remaining: int | None = None
        self.paused_until: float | None = None
        self._clock = clock
        self._on_quota = on_quota
        self._account_zone = account_zone
        self._zone: tzinfo | None = None
        self._lock = threading.Lock()

    def zone(self) -> tzinfo:
        """The account's time zone (read once)."""
        if self._zone is None:
            self._zone = self._account_zone()
        return self._zone

    def known_zone(self) -> tzinfo:
        """The zone if already read, else UTC (for hooks that must not send a request)."""
        return self._zone or UTC

    def observe(self, response: requests.Response) -> None:
        value = response.headers.get("X-HubSpot-RateLimit-Daily-Remaining")
        if value is None or not value.isdigit():
            return
        daily = response.headers.get("X-HubSpot-RateLimit-Daily")
        with self._lock:
            self.remaining = int(value)
            if daily is not None and daily.isdigit():
                self.limit = int(daily)
            pausing = self.remaining <= self.reserve and self.paused_until is None
        if pausing:
            zone = self.zone()  # outside the lock: may send the account-info request
            with self._lock:
                pausing = self.paused_until is None
                if pausing:
                    now = self._clock()
                    self.paused_until = now + seconds_to_midnight(now, zone)
        with self._lock:
            remaining, limit, until = self.remaining, self.limit, self.paused_until
        if pausing:
            log.warning(
                "hubspot: the daily API quota is nearly used up (%d of %d left, %d kept in reserve); "
                "scheduled work pauses until %s (midnight in the account's time zone)",
                remaining,
                limit,
                self.reserve,
                _when(until or 0, self.known_zone()),
            )
        if self._on_quota is not None:
            self._on_quota(CRM, remaining or 0, limit, "daily_quota" if until is not None else "")

    @property
    def reserve(self) -> int:
        return int(self.limit * self.share)

    def check(self) -> None:
        """Raise ``RateLimited`` while paused; a pause ends at the midnight it waits for."""
        with self._lock:
            until = self.paused_until
            if until is None:
                return
            now = self._clock()
            if now >= until:
                self.paused_until, self.remaining = None, None
                resumed = True
            else:
                resumed = False
        if resumed:
            log.info("hubspot: the daily quota has reset; scheduled work goes on")
            if self._on_quota is not None:
                self._on_quota(CRM, self.limit, self.limit, "")
            return
        message = (
            f"hubspot: paused: the daily API quota is nearly used up ({self.remaining} of {self.limit} "
            f"left, {self.reserve} kept in reserve); work goes on after {_when(until, self.known_zone())}"
        )
        raise RateLimited(message, crm=CRM, retry_after=until - now)


class HubSpotTransport:
    """``call(method, path, …)`` -> parsed JSON. ``http.counter`` counts requests."""

    def __init__(self, config: HubSpotConfig, ctx: AdapterContext, key: str) -> None:
        self.config = config
        self.clock = ctx.clock
        budgets = config.budgets()
        self.budgets = budgets
        self.config_key = TOKEN_KEY if config.access_token is not None else OAUTH_KEY
        base = str(config.base_url).rstrip("/")
        policy = HttpPolicy(
            name=CRM,
            base_url=base,
            connect_timeout=config.http.connect_timeout,
            read_timeout=config.http.read_timeout,
            max_retries=config.http.max_retries,
            backoff_cap=config.http.max_backoff,
            budgets=(
                # HubSpot's rolling 10-second window: up to the limit at once, then each request
                # waits for the oldest of the window to age out (plus a 1% margin for arrival jitter)
                RateBudget.rolling_window(
                    "window", budgets.per_ten_seconds, WINDOW * (1 + WINDOW_MARGIN), key=f"{key}:rolling"
                ),
                # One search at a time, spaced 1/(0.95 * limit) s: never more than ``limit`` in any
                # second (a 5% margin against arrival jitter). Budgets of the policy, so a retried
                # request waits for its turn again.
                RateBudget.leaky(
                    "search",
                    1,
                    budgets.search_per_second * SEARCH_SHARE,
                    paths=(r"/search$",),
                    key=f"{key}:search",
                ),
            ),
            concurrency=config.max_concurrency,
            retry_after_from=self._retry_after,
            # a 429 is answered before anything runs: resent even for a write without an idempotency
            # key (a search is a POST; without this a 429 ended it)
            refused_before_running=lambda response: response.status_code == 429,
            translate_error=self._translate,
            default_headers={"Accept": "application/json", "Content-Type": "application/json"},
        )
        if config.access_token is not None:
            source: Any = StaticToken(config.access_token.get_secret_value())
        else:
            source = self._oauth(config, ctx, base)
        self.http = HttpClient(
            policy,
            auth=BearerAuth(source),
            bucket=ctx.bucket,
            clock=ctx.clock,
            sleep=ctx.sleep,
            on_request=ctx.on_request,
        )
        self.daily = DailyQuota(budgets, ctx.clock, getattr(ctx, "on_quota", None), self.account_zone)

    def account_zone(self) -> tzinfo:
        """The account's time zone setting (``GET /account-info/v3/details``), sent past the daily quota's
        bookkeeping (it is asked while pausing); UTC, with a warning, when it cannot be read."""
        try:
            response = self.http.request("GET", ACCOUNT_DETAILS)
            details = response.json()
        except (CrmError, ValueError) as exc:
            log.warning(
                "hubspot: could not read the account's time zone (%s); the daily quota is "
                "taken to reset at midnight UTC",
                exc,
            )
            return UTC
        return zone_of(details if isinstance(details, dict) else {})

    def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        idempotent: bool = False,
    ) -> Any:
        self.daily.check()
        idempotent = idempotent or path.endswith("/search")  # a search reads: safe to resend
        response = self.http.request(method, path, params=params, json=json, idempotent=idempotent)
        self.daily.observe(response)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise TransientError(f"hubspot: {method} {path} answered with no JSON", crm=CRM) from exc

    def close(self) -> None:
        self.http.close()

    # -- hooks of the HTTP layer --------------------------------------------------------------------
    def _retry_after(self, response: requests.Response, now: float) -> float | None:
        if response.status_code != 429:
            return None
        policy = error_body(response).get("policyName")
        if policy == "DAILY":
            return seconds_to_midnight(now, self.daily.known_zone())
        if response.headers.get("Retry-After"):
            return None  # the HTTP layer reads it
        if policy == "SECONDLY":
            return 1.0
        # the rolling window frees a slot when its oldest request ages out: a quarter of the window a
        # try, so the retries span a whole window
        interval = response.headers.get("X-HubSpot-RateLimit-Interval-Milliseconds", "10000")
        return (int(interval) if interval.isdigit() else 10_000) / 4000.0

    def _translate(self, response: requests.Response) -> CrmError | None:
        body = error_body(response)
        request = response.request
        path = urlsplit(str(request.url or "")).path if request is not None else ""
        method = request.method if request is not None else ""
        status = response.status_code
        message = f"hubspot: {method} {path} answered HTTP {status} {describe(body)}"
        fields: dict[str, Any] = {"crm": CRM, "status": status, "code": str(body.get("category", ""))}
        if status == 429:
            return RateLimited(message, **fields)
        if status >= 500:
            return TransientError(message, **fields)
        if status == 401:
            return AuthError(message + f"; check {self.config_key}", config_key=self.config_key, **fields)
        if status == 403:
            return PermissionDenied(message, **fields)
        if status == 404:
            return NotFound(message, **fields)
        if status in (400, 409, 422):
            return CrmValidationError(message, **fields)
        return CrmFatalError(message, **fields)

    # -- OAuth --------------------------------------------------------------------------------------
    def _oauth(self, config: HubSpotConfig, ctx: AdapterContext, base: str) -> RefreshingToken:
        oauth = config.oauth
        if oauth is None:
            raise ConfigError("crm.hubspot.oauth: the section is missing")
        store = KvTokenStore(ctx.kv, TOKENS_KV_KEY)
        token_url = str(oauth.token_url) if oauth.token_url else f"{base}/oauth/v1/token"
        token_http = HttpClient(
            HttpPolicy(name=f"{CRM}-oauth", base_url=token_url, max_retries=2),
            clock=ctx.clock,
            sleep=ctx.sleep,
            on_request=ctx.on_request,
        )

        def load() -> StoredPair | None:
            stored = store.load()
            if stored is not None:
                return stored
            return StoredPair("", oauth.refresh_token.get_secret_value(), 0.0)  # refresh on first use

        def refresh(pair: StoredPair) -> StoredPair:
            form = {
                "grant_type": "refresh_token",
                "client_id": oauth.client_id.get_secret_value(),
                "client_secret": oauth.client_secret.get_secret_value(),
                "refresh_token": pair.refresh_token,
            }
            try:  # a dict as ``data`` goes form-encoded, Content-Type application/x-www-form-urlencoded
                response = token_http.post(token_url, data=form)
            except CrmRetriableError as exc:  # the endpoint is down or busy: the credentials may be fine
                raise type(exc)(
                    f"HubSpot's OAuth token endpoint could not refresh the token now: {exc}",
                    crm=CRM,
                    retry_after=exc.retry_after,
                ) from exc
            except CrmError as exc:
                raise AuthError(
                    f"HubSpot refused to refresh the OAuth token: {exc}; check {OAUTH_KEY} and "
                    "crm.hubspot.oauth.client_id/client_secret (install the app again if it was revoked)",
                    crm=CRM,
                    config_key=OAUTH_KEY,
                ) from exc
            data = response.json()
            expires = ctx.clock() + float(data.get("expires_in") or 1800)
            # a grant without a new refresh token leaves the old one in force (RFC 6749, section 6)
            kept = data.get("refresh_token") or pair.refresh_token
            return StoredPair(str(data["access_token"]), str(kept), expires)

        return RefreshingToken(
            load=load,
            save=store.save,
            refresh=refresh,
            locks=ctx.locks,
            lock_name="hubspot-oauth-refresh",
            clock=ctx.clock,
            config_key=OAUTH_KEY,
        )
