"""The amoCRM (Kommo) API v4 emulator: routes ``/api/v4/...`` and ``/oauth2/access_token`` to handlers,
enforces Bearer auth and the per-second limit, and sends webhooks for changed records.

``create_emulator(**options)`` is what the sandbox server calls; options are keyword arguments of
``AmoCrmEmulator``. Seed data (``seed()``) uses the API's own request shapes, see ``AmoCrmEmulator.seed``.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import Any

from crm_bridge.sandbox.core import SandboxRequest, SandboxResponse
from crm_bridge_amocrm.sandbox import account as account
from crm_bridge_amocrm.sandbox import complex as complex_add
from crm_bridge_amocrm.sandbox import entities as entities
from crm_bridge_amocrm.sandbox import events as events
from crm_bridge_amocrm.sandbox import fields as fields
from crm_bridge_amocrm.sandbox import pipelines as pipelines
from crm_bridge_amocrm.sandbox import webhooks as webhooks
from crm_bridge_amocrm.sandbox.auth import AmoAuth, AmoLimits, unauthorized
from crm_bridge_amocrm.sandbox.seed import seed_state
from crm_bridge_amocrm.sandbox.store import AmoState, Call, new_state
from crm_bridge_amocrm.sandbox.wire import (
    AmoError,
    blocked,
    http_date,
    no_content,
    parse_php_query,
    problem,
    validation_failed,
)
from crm_bridge_amocrm.sandbox.wire import base_url as link_base

_E = "(leads|contacts|companies)"
Handler = Callable[..., SandboxResponse]
_ROUTES: list[tuple[re.Pattern[str], dict[str, Handler]]] = [
    (re.compile(p), m)
    for p, m in (
        (r"/api/v4/account", {"GET": account.get_account}),
        (r"/api/v4/users", {"GET": account.list_users}),
        (r"/api/v4/users/(\d+)", {"GET": account.get_user}),
        (r"/api/v4/leads/pipelines", {"GET": pipelines.list_pipelines, "POST": pipelines.add_pipelines}),
        (
            r"/api/v4/leads/pipelines/(\d+)",
            {
                "GET": pipelines.get_pipeline,
                "PATCH": pipelines.update_pipeline,
                "DELETE": pipelines.delete_pipeline,
            },
        ),
        (
            r"/api/v4/leads/pipelines/(\d+)/statuses",
            {"GET": pipelines.list_statuses, "POST": pipelines.add_statuses},
        ),
        (
            r"/api/v4/leads/pipelines/(\d+)/statuses/(\d+)",
            {
                "GET": pipelines.get_status,
                "PATCH": pipelines.update_status,
                "DELETE": pipelines.delete_status,
            },
        ),
        (
            rf"/api/v4/{_E}/custom_fields",
            {"GET": fields.list_fields, "POST": fields.add_fields, "PATCH": fields.update_fields},
        ),
        (
            rf"/api/v4/{_E}/custom_fields/(\d+)",
            {"GET": fields.get_field, "PATCH": fields.update_fields, "DELETE": fields.delete_field},
        ),
        (r"/api/v4/leads/complex", {"POST": complex_add.add_complex}),
        (r"/api/v4/events", {"GET": events.list_events}),
        (rf"/api/v4/{_E}/notes", {"GET": events.list_notes, "POST": events.add_notes}),
        (
            rf"/api/v4/{_E}",
            {"GET": entities.list_records, "POST": entities.add_records, "PATCH": entities.update_records},
        ),
        (rf"/api/v4/{_E}/(\d+)", {"GET": entities.get_record, "PATCH": entities.update_records}),
        (
            r"/api/v4/tasks",
            {"GET": account.list_tasks, "POST": account.add_tasks, "PATCH": account.update_tasks},
        ),
        (r"/api/v4/tasks/(\d+)", {"GET": account.get_task, "PATCH": account.update_tasks}),
        (
            r"/api/v4/webhooks",
            {"GET": webhooks.list_webhooks, "POST": webhooks.add_webhook, "DELETE": webhooks.delete_webhook},
        ),
    )
]


class AmoCrmEmulator:
    """One amoCRM account. Credentials: a long-lived token (``access_token``) and an OAuth integration
    (``client_id``/``client_secret``/``redirect_uri``) whose authorization code is in ``config_snippet``."""

    kind = "amocrm"
    title = "amoCRM"

    def __init__(
        self,
        *,
        subdomain: str = "sandbox",
        account_id: int = 31000001,
        access_token: str = "sandbox-amocrm-long-lived-token",
        client_id: str = "0c7b9a63-sandbox-integration",
        client_secret: str = "sandbox-amocrm-client-secret",
        redirect_uri: str = "https://example.com/amocrm/oauth",
        access_ttl: int = 86400,
        rate_limit: bool = True,
        per_second: int = 7,
        block_after: int | None = 30,
        block_seconds: float = 3600.0,
        payment_required: bool = False,
        clock: Callable[[], float] | None = None,
        deliver: webhooks.Deliver | None = None,
    ) -> None:
        self._clock = clock or time.time
        self._lock = threading.RLock()
        self._limit_lock = threading.Lock()
        self.subdomain = subdomain
        self.account_id = account_id
        self.payment_required = payment_required
        # amoCRM waits 2 seconds for the answer to a hook
        self.deliver: webhooks.Deliver = deliver or webhooks.WebhookSender(timeout=2.0)
        self.auth = AmoAuth(client_id, client_secret, redirect_uri, access_token, access_ttl=access_ttl)
        self.limits = AmoLimits(
            enabled=rate_limit, per_second=per_second, block_after=block_after, block_seconds=block_seconds
        )
        self.state: AmoState = new_state(int(self._clock()), subdomain=subdomain, account_id=account_id)
        self.authorization_code = self.auth.issue_code(self.state.admin_user_id, self._clock())
        self._faults: Any = None
        self._armed_plan: Any = None

    # -- the Emulator protocol ------------------------------------------------------------------
    def handle(self, request: SandboxRequest) -> SandboxResponse:
        with self._limit_lock:  # counted when the request arrives, not when the account is free
            verdict = self.limits.check(self._clock())
        if verdict == "blocked":
            return blocked()
        if verdict == "limited":
            return self.error_response(429)
        with self._lock:
            now = self._clock()
            self._arm_batch_failure()
            path = request.path.rstrip("/") or "/"
            if path == "/oauth2/access_token":
                if request.method != "POST":
                    return problem(405, "Method not allowed")
                return self.auth.token_endpoint(
                    request, now, account_id=self.account_id, domain=f"{self.subdomain}.amocrm.ru"
                )
            user = self.auth.user_for(request, now)
            if isinstance(user, SandboxResponse):
                return user
            if self.payment_required:
                return self.error_response(402)
            call = Call(
                state=self.state,
                method=request.method,
                query=parse_php_query(request.query),
                body=None,
                base=link_base(request, self.subdomain),
                now=int(now),
                user_id=user or self.state.admin_user_id,
                raw_query=request.query,
                modified_since=http_date(request.headers.get("if-modified-since")),
            )
            response = self._dispatch(request, path, call)
            if response.body is not None and "Content-Type" not in response.headers:
                response.headers["Content-Type"] = "application/hal+json"
            if call.events and response.status < 300:
                webhooks.deliver_events(self.state, call.events, self.deliver)
            return response

    def _dispatch(self, request: SandboxRequest, path: str, call: Call) -> SandboxResponse:
        for pattern, methods in _ROUTES:
            match = pattern.fullmatch(path)
            if not match:
                continue
            handler = methods.get(request.method)
            if handler is None:
                return problem(405, f"Method {request.method} is not allowed for {path}")
            try:
                call.body = request.json() if request.method in ("POST", "PATCH", "DELETE") else None
            except ValueError:
                return validation_failed([{"request_id": "0", "errors": []}]).response
            args = [int(g) if g.isdigit() else g for g in match.groups()]
            try:
                return handler(call, *args)
            except AmoError as error:
                return error.response
        return problem(404, f"Unknown method {path}")

    def error_response(self, status: int) -> SandboxResponse:
        if status == 401:
            return unauthorized()
        if status == 403:
            return blocked()
        if status == 204:
            return no_content()
        if status == 400:
            return validation_failed([{"request_id": "0", "errors": []}]).response
        if status == 402:
            return problem(402, "Аккаунт не оплачен")
        if status == 429:
            return problem(429, "Too many requests")
        return problem(status, _TEXT.get(status, "Error"))

    def seed(self, data: dict[str, Any]) -> dict[str, Any]:
        """Load records written in the API's request shapes; see ``amocrm_seed.seed_state``."""
        with self._lock:
            base = f"https://{self.subdomain}.amocrm.ru"
            call = Call(self.state, "POST", {}, None, base, int(self._clock()), self.state.admin_user_id)
            return seed_state(call, data)

    def dump(self) -> dict[str, Any]:
        with self._lock:
            data = self.state.dump()
            data["auth"] = self.auth.describe()
            data["limits"] = {"enabled": self.limits.enabled, "blocked_until": self.limits.blocked_until}
            data["webhook_deliveries"] = list(getattr(self.deliver, "log", []))
            return data

    def restore(self, data: dict[str, Any]) -> None:
        """Load a state saved with ``dump()`` (records, pipelines, fields, users, webhooks, id sequences).
        Issued OAuth tokens and limit counters are not part of it."""
        with self._lock:
            self.state = AmoState.restore(data)

    def reset(self) -> None:
        with self._lock:
            now = self._clock()
            self.state = new_state(int(now), subdomain=self.subdomain, account_id=self.account_id)
            self.auth.access.clear()
            self.auth.refresh.clear()
            self.auth.spent_refresh.clear()
            self.auth.codes.clear()
            self.authorization_code = self.auth.issue_code(self.state.admin_user_id, now)
            self.limits.reset()

    def config_snippet(self, base_url: str) -> dict[str, Any]:
        return {
            "crm": {
                "kind": "amocrm",
                "amocrm": {"base_url": base_url, "access_token": "${AMOCRM_ACCESS_TOKEN}"},
            },
            "env": {"AMOCRM_ACCESS_TOKEN": self.auth.long_lived_token},
            "oauth": {
                "client_id": self.auth.client_id,
                "client_secret": self.auth.client_secret,
                "redirect_uri": self.auth.redirect_uri,
                "authorization_code": self.authorization_code,
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
        """The server's FaultInjector; its plan's ``batch_fail`` {"items": N} makes the next bulk
        add/update refuse its last N items (amoCRM rejects the whole request with validation-errors)."""
        self._faults = injector

    def _arm_batch_failure(self) -> None:
        plan = getattr(self._faults, "plan", None)
        if plan is not None and plan is not self._armed_plan:
            self._armed_plan = plan
            self.state.pending_item_failures = int((plan.batch_fail or {}).get("items", 0))

    def register_webhook(self, url: str, **options: Any) -> dict[str, Any]:
        """Subscribe ``url`` (control API ``POST /_sandbox/webhooks``) to ``options["settings"]``, by
        default every lead/contact/company add, update, delete and status event."""
        settings = options.get("settings") or [
            s
            for s in webhooks.SETTINGS
            if s.endswith(("_lead", "_contact", "_company")) and not s.startswith("note")
        ]
        with self._lock:
            call = Call(
                self.state,
                "POST",
                {},
                {"destination": url, "settings": settings},
                f"https://{self.subdomain}.amocrm.ru",
                int(self._clock()),
                self.state.admin_user_id,
            )
            try:
                answer = webhooks.add_webhook(call)
            except AmoError as error:
                raise ValueError(error.response.body) from error
            return dict(answer.body)

    # -- extras for tests and the control API ------------------------------------------------------
    def issue_authorization_code(self) -> str:
        with self._lock:
            self.authorization_code = self.auth.issue_code(self.state.admin_user_id, self._clock())
            return self.authorization_code


_TEXT = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


def create_emulator(**options: Any) -> AmoCrmEmulator:
    """Build the emulator from sandbox options (see ``AmoCrmEmulator.__init__``); unknown options
    raise TypeError so a typo in a sandbox config is not silently ignored."""
    return AmoCrmEmulator(**options)
