"""The HubSpot CRM v3 emulator: objects, batch, search, properties, pipelines, owners, associations v4,
OAuth tokens and webhooks v3, behind Bearer auth and HubSpot's rate limits.

``create_emulator(**options)`` is what the sandbox server calls; options are the keyword arguments of
``HubSpotEmulator``. ``seed()`` takes the API's own request shapes (see ``HubSpotEmulator.seed``).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from crm_bridge.sandbox.core import SandboxRequest, SandboxResponse
from crm_bridge.sandbox.delivery import Deliver, WebhookSender
from crm_bridge_hubspot.sandbox import webhooks as hooks
from crm_bridge_hubspot.sandbox.auth import HsAuth, HsLimits, rate_limited
from crm_bridge_hubspot.sandbox.defaults import new_state
from crm_bridge_hubspot.sandbox.routes import CRM_ROUTES, HOOK_PREFIX, HOOK_ROUTES
from crm_bridge_hubspot.sandbox.seed import seed_state
from crm_bridge_hubspot.sandbox.store import HsState, iso
from crm_bridge_hubspot.sandbox.wire import HsCall, HsError, error, ok


class HubSpotEmulator:
    """One HubSpot portal. Credentials: a private-app token (``access_token``), an OAuth app
    (``client_id``/``client_secret``/``redirect_uri``) and a developer API key for webhook settings."""

    kind = "hubspot"
    title = "HubSpot"

    def __init__(
        self,
        *,
        portal_id: int = 24681357,
        access_token: str = "pat-na1-sandbox-private-app-token",
        client_id: str = "sandbox-hubspot-client-id",
        client_secret: str = "sandbox-hubspot-client-secret",
        redirect_uri: str = "https://example.com/hubspot/oauth",
        developer_api_key: str = "sandbox-developer-hapikey",
        app_id: int = 1234567,
        access_ttl: int = 1800,
        rate_limit: bool = True,
        per_ten_seconds: int = 100,
        daily_limit: int = 250_000,
        search_per_second: int = 5,
        search_delay: float = 0.0,
        clock: Callable[[], float] | None = None,
        deliver: Deliver | None = None,
        spec_dir: str | None = None,
        time_zone: str = "US/Eastern",
    ) -> None:
        self._clock = clock or time.time
        # The account's time zone setting (GET /account-info/v3/details ``timeZone``): HubSpot resets the
        # daily quota at midnight in it. US/Eastern is the value of HubSpot's own spec example.
        self.time_zone = time_zone
        self._lock = threading.RLock()
        self.portal_id = portal_id
        self.search_delay = search_delay
        # HubSpot retries a failed delivery up to 10 times (over 24 h; the sandbox compresses the delays)
        self.deliver: Deliver = deliver or WebhookSender(retries=10, retry_delay=0.5)
        self.auth = HsAuth(
            access_token, client_id, client_secret, redirect_uri, developer_api_key, access_ttl
        )
        self.limits = HsLimits(
            enabled=rate_limit,
            per_window=per_ten_seconds,
            daily=daily_limit,
            search_per_second=search_per_second,
            zone=ZoneInfo(time_zone),
        )
        self.webhooks = hooks.HsWebhooks(app_id=app_id)
        self.state: HsState = new_state(self._clock(), portal_id)
        self.state.search_delay = search_delay
        self.authorization_code = self.auth.issue_code(self._clock())
        self._faults: Any = None
        self._armed_plan: Any = None
        # Tests: every CRM request is checked against HubSpot's OpenAPI specs in this directory; one
        # outside them is answered 400 and kept here (see spec_check).
        self.spec_dir = spec_dir
        self.spec_violations: list[str] = []

    # -- the Emulator protocol ------------------------------------------------------------------
    def handle(self, request: SandboxRequest) -> SandboxResponse:
        # HubSpot counts a request against its limits when it arrives, not when an earlier one is done
        # (requests queued behind a slow search here would otherwise be counted bunched together)
        arrived = self._clock()
        with self._lock:
            self._arm_batch_failure()
            now = self._clock()
            path = request.path.rstrip("/") or "/"
            if path == "/oauth/v1/token":
                return (
                    self.auth.token_endpoint(request, now)
                    if request.method == "POST"
                    else self._unknown(path)
                )
            if path.startswith("/oauth/v1/access-tokens/") and request.method == "GET":
                return self.auth.introspect(path.rsplit("/", 1)[1], now, self.portal_id)
            hook = HOOK_PREFIX.match(path)
            if hook:
                return self.auth.check_developer(request) or self._hooks(
                    request, hook.group(1), hook.group(2), now
                )
            if not path.startswith(("/crm/", "/account-info/")):
                return self._unknown(path)
            refused = self._against_spec(request)
            if refused is not None:
                return refused
            policy, headers = self.limits.admit(arrived, search=path.endswith("/search"))
            if policy is not None:
                return rate_limited(policy, self.portal_id, headers)
            denied = self.auth.check(request, now)
            if denied is None and path.startswith("/account-info/"):
                return self._account(request, path, now, headers)
            response = denied or self._crm(request, path, now)
            response.headers = {**headers, **response.headers}
            return response

    def _against_spec(self, request: SandboxRequest) -> SandboxResponse | None:
        if self.spec_dir is None:
            return None
        from crm_bridge_hubspot.sandbox.spec_check import refuse_outside_spec

        return refuse_outside_spec(self.spec_dir, request, self.spec_violations)

    def _call(self, request: SandboxRequest, now: float) -> HsCall:
        body = None
        if request.body.strip():
            try:
                body = request.json()
            except ValueError as exc:
                raise HsError(error(400, "VALIDATION_ERROR", f"Invalid input JSON: {exc}")) from exc
        host = request.headers.get("host")
        base = f"http://{host}" if host else "https://api.hubapi.com"
        return HsCall(self.state, request.method, request.query, body, now, base)

    def _crm(self, request: SandboxRequest, path: str, now: float) -> SandboxResponse:
        for pattern, methods in CRM_ROUTES:
            match = pattern.fullmatch(path)
            if not match:
                continue
            handler = methods.get(request.method)
            if handler is None:
                return error(405, "VALIDATION_ERROR", f"Method {request.method} is not allowed on {path}")
            try:
                call = self._call(request, now)
                response = handler(call, *match.groups())
            except HsError as failure:
                return failure.response
            if call.events:
                hooks.deliver_events(
                    self.webhooks,
                    call.events,
                    portal_id=self.portal_id,
                    secret=self.auth.client_secret,
                    now=now,
                    deliver=self.deliver,
                )
            return response
        return self._unknown(path)

    def _account(
        self, request: SandboxRequest, path: str, now: float, headers: dict[str, str]
    ) -> SandboxResponse:
        """``GET /account-info/v3/details``: the spec's ``PortalInformationResponse`` (every field it
        requires), with the time zone set for this account and its offset at ``now``."""
        if path != "/account-info/v3/details":
            return self._unknown(path)
        if request.method != "GET":
            return error(405, "VALIDATION_ERROR", f"Method {request.method} is not allowed on {path}")
        offset = datetime.fromtimestamp(now, ZoneInfo(self.time_zone)).utcoffset()
        seconds = int(offset.total_seconds()) if offset is not None else 0
        sign, minutes = ("-" if seconds < 0 else "+"), abs(seconds) // 60
        response = ok(
            {
                "portalId": self.portal_id,
                "accountType": "STANDARD",
                "timeZone": self.time_zone,
                "companyCurrency": "USD",
                "additionalCurrencies": [],
                "utcOffset": f"{sign}{minutes // 60:02d}:{minutes % 60:02d}",
                "utcOffsetMilliseconds": seconds * 1000,
                "uiDomain": "app.hubspot.com",
                "dataHostingLocation": "na1",
            }
        )
        response.headers = {**headers, **response.headers}
        return response

    def _hooks(self, request: SandboxRequest, app_id: str, rest: str, now: float) -> SandboxResponse:
        for pattern, methods in HOOK_ROUTES:
            match = pattern.fullmatch(rest)
            if match:
                handler = methods.get(request.method)
                if handler is None:
                    return error(405, "VALIDATION_ERROR", f"Method {request.method} is not allowed")
                try:
                    answer: SandboxResponse = handler(
                        self._call(request, now), self.webhooks, app_id, *match.groups()
                    )
                    return answer
                except HsError as failure:
                    return failure.response
        return self._unknown(rest)

    def _unknown(self, path: str) -> SandboxResponse:
        return error(404, "OBJECT_NOT_FOUND", f"No endpoint at {path}")

    def error_response(self, status: int) -> SandboxResponse:
        if status == 401:
            return error(
                401,
                "EXPIRED_AUTHENTICATION",
                "The OAuth token used to make this call expired 0 second(s) ago.",
            )
        if status == 429:
            return rate_limited(
                "TEN_SECONDLY_ROLLING",
                self.portal_id,
                {**self.limits.headers(), "X-HubSpot-RateLimit-Remaining": "0"},
            )
        if status == 404:
            return error(404, "OBJECT_NOT_FOUND", "resource not found")
        if status == 400:
            return error(400, "VALIDATION_ERROR", "Invalid input")
        text = {500: "internal error", 502: "bad gateway", 503: "service unavailable", 504: "gateway timeout"}
        return error(status, "INTERNAL_ERROR" if status >= 500 else "ERROR", text.get(status, "error"))

    def seed(self, data: dict[str, Any]) -> dict[str, Any]:
        """Load ``{"owners": [{firstName, lastName, email}], "properties": {type: [PropertyCreate]},
        "pipelines": [PipelineInput], "companies"|"contacts"|"deals"|"tasks": [{"properties": {...},
        "associate": {type: [index in this seed]}}]}``; deals may name ``pipeline``/``dealstage`` by
        label. Returns the ids created. Raises ValueError carrying HubSpot's error body."""
        with self._lock:
            call = HsCall(self.state, "POST", {}, None, self._clock(), "https://api.hubapi.com")
            try:
                return seed_state(call, data)
            except HsError as failure:
                raise ValueError(failure.response.body) from failure

    def dump(self) -> dict[str, Any]:
        with self._lock:
            data = self.state.dump()
            data["webhooks"] = self.webhooks.dump()
            data["webhook_deliveries"] = list(getattr(self.deliver, "log", []))
            return dict(json.loads(json.dumps(data)))

    def restore(self, data: dict[str, Any]) -> None:
        """Load a state saved with ``dump()`` (objects, schema, pipelines, owners, associations,
        webhook settings). Issued OAuth tokens and limit counters are not part of it."""
        with self._lock:
            self.state = HsState.restore(data)
            saved = data.get("webhooks") or {}
            self.webhooks = hooks.HsWebhooks(
                app_id=saved.get("app_id", self.webhooks.app_id), settings=saved.get("settings")
            )
            for sub in saved.get("subscriptions", []):
                self.webhooks.subscriptions[sub["id"]] = sub
                self.webhooks.next_subscription_id = max(self.webhooks.next_subscription_id, int(sub["id"]))

    def reset(self) -> None:
        with self._lock:
            now = self._clock()
            self.state = new_state(now, self.portal_id)
            self.state.search_delay = self.search_delay
            self.auth.access.clear()
            self.auth.refresh.clear()
            self.auth.codes.clear()
            self.authorization_code = self.auth.issue_code(now)
            self.webhooks = hooks.HsWebhooks(app_id=self.webhooks.app_id)
            self.limits.reset()

    def config_snippet(self, base_url: str) -> dict[str, Any]:
        return {
            "crm": {
                "kind": "hubspot",
                "hubspot": {"base_url": base_url, "access_token": "${HUBSPOT_ACCESS_TOKEN}"},
            },
            "env": {"HUBSPOT_ACCESS_TOKEN": self.auth.private_app_token},
            "oauth": {
                "client_id": self.auth.client_id,
                "client_secret": self.auth.client_secret,
                "redirect_uri": self.auth.redirect_uri,
                "authorization_code": self.authorization_code,
                "token_url": f"{base_url}/oauth/v1/token",
            },
            "webhooks": {
                "app_id": self.webhooks.app_id,
                "developer_api_key": self.auth.developer_api_key,
                "signing_secret": self.auth.client_secret,
            },
        }

    def set_clock(self, clock: Callable[[], float]) -> None:
        self._clock = clock

    def set_rate_limit(self, enabled: bool) -> None:
        with self._lock:
            self.limits.enabled = enabled
            self.limits.reset()

    # -- hooks the sandbox server looks for ------------------------------------------------------
    def set_fault_injector(self, injector: Any) -> None:
        """The server's FaultInjector; its plan's ``batch_fail`` {"inputs": N} makes the next batch
        create/update/upsert report its last N inputs as failed (HTTP 207)."""
        self._faults = injector

    def _arm_batch_failure(self) -> None:
        plan = getattr(self._faults, "plan", None)
        if plan is not None and plan is not self._armed_plan:
            self._armed_plan = plan
            self.state.pending_batch_failures = int((plan.batch_fail or {}).get("inputs", 0))

    def register_webhook(self, url: str, **options: Any) -> dict[str, Any]:
        """Point the app's webhook settings at ``url`` (control API ``POST /_sandbox/webhooks``) and
        subscribe to ``options["subscriptions"]``, by default creation/deletion of contacts, companies
        and deals and changes of the properties crm-bridge syncs."""
        subscriptions = options.get("subscriptions") or hooks.DEFAULT_SUBSCRIPTIONS
        with self._lock:
            now = self._clock()
            self.webhooks.settings = {
                "targetUrl": url,
                "throttling": {"maxConcurrentRequests": 10},
                "createdAt": iso(now),
                "updatedAt": iso(now),
            }
            self.webhooks.subscriptions.clear()
            for spec in subscriptions:
                self.webhooks.next_subscription_id += 1
                sid = str(self.webhooks.next_subscription_id)
                self.webhooks.subscriptions[sid] = {
                    "id": sid,
                    "active": True,
                    "createdAt": iso(now),
                    "updatedAt": iso(now),
                    **spec,
                }
            return {
                "settings": self.webhooks.settings,
                "subscriptions": list(self.webhooks.subscriptions.values()),
            }

    # -- extras for tests and the control API ------------------------------------------------------
    def issue_authorization_code(self) -> str:
        with self._lock:
            self.authorization_code = self.auth.issue_code(self._clock())
            return self.authorization_code

    def inject_batch_failure(self, inputs: int) -> None:
        """The next batch create/update/upsert reports its last ``inputs`` inputs as failed (HTTP 207)."""
        with self._lock:
            self.state.pending_batch_failures = inputs


def create_emulator(**options: Any) -> HubSpotEmulator:
    """Build the emulator from sandbox options (see ``HubSpotEmulator.__init__``); unknown options
    raise TypeError so a typo in a sandbox config is not silently ignored."""
    return HubSpotEmulator(**options)
