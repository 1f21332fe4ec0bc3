"""The adapter's glue to ``crm_bridge.http``: the Bitrix24 ``HttpPolicy`` (plan limits as the leaky
bucket, the error table as the translation hook, limit answers as refused-before-running), the inbound
webhook (secret in the base URL) or OAuth of a local application (``?auth=`` token refreshed once on
401 ``expired_token``, the new pair saved in the state store before it is used).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests

from crm_bridge.errors import AuthError, CrmError, CrmRetriableError
from crm_bridge.http import (
    HttpClient,
    HttpPolicy,
    KvTokenStore,
    NoAuth,
    QueryParamAuth,
    RateBudget,
    RefreshingToken,
)
from crm_bridge.http import TokenPair as StoredPair
from crm_bridge.ports import AdapterContext
from crm_bridge_bitrix24.budget import OperatingBudget
from crm_bridge_bitrix24.client import REFUSED_BEFORE_RUNNING
from crm_bridge_bitrix24.config import Bitrix24Config
from crm_bridge_bitrix24.failures import CRM, to_error
from crm_bridge_bitrix24.wire import ErrorBody, TokenPair

WEBHOOK_KEY = "crm.bitrix24.webhook_url"
OAUTH_KEY = "crm.bitrix24.oauth.refresh_token"
TOKENS_KV_KEY = "bitrix24.oauth_tokens"
# OPERATION_TIME_LIMIT can ask for up to the whole 10-minute window; waiting beats failing a sync.
MAX_RETRY_AFTER = 660.0


def _error_body(response: requests.Response) -> ErrorBody | None:
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, dict) and "error" in body:
        return ErrorBody.model_validate(body)
    return None


def _method_of(response: requests.Response) -> str:
    url = str(response.request.url or "") if response.request is not None else ""
    return urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]


class Bitrix24Transport:
    """``post(method, payload)`` over one ``HttpClient``; the client's counter holds request counts."""

    def __init__(
        self, config: Bitrix24Config, ctx: AdapterContext, budget: OperatingBudget, portal: str
    ) -> None:
        self.config = config
        self.budget = budget
        self.clock = ctx.clock
        rate = config.effective_rate_limit()
        self.rate = rate
        self.config_key = WEBHOOK_KEY if config.webhook_url is not None else OAUTH_KEY
        if config.webhook_url is not None:
            base = config.webhook_url.get_secret_value()
            auth: Any = NoAuth()
        else:
            if config.oauth is None:
                raise AssertionError("invariant broken: config.oauth is not None")
            base = str(config.oauth.portal_url).rstrip("/") + "/rest/"
            auth = QueryParamAuth(self._token_source(config, ctx))
        policy = HttpPolicy(
            name=CRM,
            base_url=base if base.endswith("/") else base + "/",
            connect_timeout=config.http.connect_timeout,
            read_timeout=config.http.read_timeout,
            max_retries=config.http.max_retries,
            backoff_cap=config.http.max_backoff,
            max_retry_after=MAX_RETRY_AFTER,
            # the plan's leaky bucket, kept in the state store under the portal's key (shared by processes)
            budgets=(RateBudget.leaky("requests", rate.burst, rate.per_second, key=portal),),
            concurrency=config.max_concurrency or rate.burst,
            retry_after_from=self._retry_after,
            translate_error=self._translate,
            refused_before_running=self._refused,
        )
        self.http = HttpClient(
            policy, auth=auth, bucket=ctx.bucket, clock=ctx.clock, sleep=ctx.sleep, on_request=ctx.on_request
        )
        # Parsing JSON holds the GIL anyway, so answers in flight together (a backfill keeps several
        # 2,500-row batches in flight) are parsed one after another: the same speed, and the
        # short-lived row objects of only one big answer exist at a time.
        self._decoding = threading.Lock()

    # -- the Transport protocol ---------------------------------------------------------------------
    def post(self, method: str, payload: Mapping[str, Any], *, idempotent: bool) -> Any:
        response = self.http.post(method, json=dict(payload), idempotent=idempotent)
        try:
            with self._decoding:  # one answer parsed at a time (see __init__)
                body = response.json()
        except ValueError as exc:
            kind = response.headers.get("Content-Type", "no content type").split(";")[0]
            raise to_error(
                "ERROR_UNEXPECTED_ANSWER",
                f"{method}: the answer is not valid JSON ({kind}: a proxy's error page or a cut connection?)",
                status=response.status_code,
            ) from exc
        if isinstance(body, dict) and "error" in body and "result" not in body:
            err = ErrorBody.model_validate(body)
            raise to_error(str(err.error), err.error_description, status=response.status_code)
        return body

    def close(self) -> None:
        self.http.close()

    # -- hooks of the HTTP layer --------------------------------------------------------------------
    def _translate(self, response: requests.Response) -> CrmError | None:
        body = _error_body(response)
        if body is None:
            return None
        return to_error(
            str(body.error),
            body.error_description,
            status=response.status_code,
            config_key=self.config_key,
            retry_after=self._retry_after(response, self.clock()),
        )

    def _refused(self, response: requests.Response) -> bool:
        body = _error_body(response)
        return body is not None and str(body.error) in REFUSED_BEFORE_RUNNING

    def _retry_after(self, response: requests.Response, now: float) -> float | None:
        body = _error_body(response)
        if body is None:
            return None
        if body.error == "QUERY_LIMIT_EXCEEDED":  # one request drains from the bucket
            return 1.0 / self.rate.per_second
        if body.error == "OPERATION_TIME_LIMIT":  # limits.md: wait for operating_reset_at
            reset_at = self.budget.reset_at(_method_of(response))
            return max(1.0, reset_at - now) if reset_at else 60.0
        return None

    # -- OAuth --------------------------------------------------------------------------------------
    def _token_source(self, config: Bitrix24Config, ctx: AdapterContext) -> RefreshingToken:
        oauth = config.oauth
        if oauth is None:
            raise AssertionError("invariant broken: oauth is not None")
        store = KvTokenStore(ctx.kv, TOKENS_KV_KEY)
        token_http = HttpClient(
            HttpPolicy(
                name=f"{CRM}-oauth",
                base_url=str(oauth.token_url),
                max_retries=2,
                # no config key here: the AuthError ``refresh`` raises around it names what to check
                translate_error=lambda r: (
                    to_error(str(b.error), b.error_description, status=r.status_code)
                    if (b := _error_body(r)) is not None
                    else None
                ),
            ),
            clock=ctx.clock,
            sleep=ctx.sleep,
            on_request=ctx.on_request,
        )

        def load() -> StoredPair | None:
            stored = store.load()
            if stored is not None:
                return stored
            if oauth.refresh_token is None:
                return None
            access = oauth.access_token.get_secret_value() if oauth.access_token else ""
            # no access token yet: expires_at 0 makes the first use refresh it
            return StoredPair(access, oauth.refresh_token.get_secret_value(), None if access else 0.0)

        def refresh(pair: StoredPair) -> StoredPair:
            params = {
                "grant_type": "refresh_token",
                "client_id": oauth.client_id.get_secret_value(),
                "client_secret": oauth.client_secret.get_secret_value(),
                "refresh_token": pair.refresh_token,
            }
            try:
                response = token_http.get(str(oauth.token_url), params=params)
            except CrmRetriableError as exc:  # the server is down or busy: the credentials may be fine
                raise type(exc)(
                    f"Bitrix24's OAuth server could not refresh the token now: {exc}",
                    crm=CRM,
                    retry_after=exc.retry_after,
                ) from exc
            except CrmError as exc:
                raise AuthError(
                    f"Bitrix24 refused to refresh the OAuth token: {exc}; check {OAUTH_KEY} and "
                    "crm.bitrix24.oauth.client_id/client_secret (authorise the application again if the "
                    "refresh token expired)",
                    crm=CRM,
                    config_key=OAUTH_KEY,
                ) from exc
            new = TokenPair.model_validate(response.json())
            # expires_at None: refresh only on a 401 expired_token, as the docs advise (settings/oauth)
            return StoredPair(new.access_token, new.refresh_token, None)

        return RefreshingToken(
            load=load,
            save=store.save,
            refresh=refresh,
            locks=ctx.locks,
            lock_name="bitrix24-oauth-refresh",
            is_expired=lambda r: (_error_body(r) or ErrorBody()).error == "expired_token",
            clock=ctx.clock,
            config_key=OAUTH_KEY,
        )
