"""The Bitrix24 REST emulator: inbound-webhook URLs (``/rest/<user_id>/<secret>/<method>[.json]``)
and OAuth (``/rest/<method>?auth=…`` with tokens from ``/oauth/token/``), JSON, form and query
parameters, ``batch``, the leaky bucket and per-method operating budget, and outbound events.

``create_emulator(**options)`` is what the sandbox server calls (options: see ``Bitrix24Emulator``).
References: b24restdocs settings/how-to-call-rest-api/*, settings/oauth/*, settings/performance/limits.md,
_includes/system-errors.md.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from crm_bridge.sandbox import bitrix24_crm as crm
from crm_bridge.sandbox import bitrix24_layout as layout
from crm_bridge.sandbox import bitrix24_work as work
from crm_bridge.sandbox.amocrm_webhooks import Deliver, WebhookSender
from crm_bridge.sandbox.bitrix24_batch import run_batch
from crm_bridge.sandbox.bitrix24_crm import Ctx
from crm_bridge.sandbox.bitrix24_limits import PLANS, LeakyBucket, OperatingBudget, cost_of
from crm_bridge.sandbox.bitrix24_params import parse_pairs, parse_php_query, pick
from crm_bridge.sandbox.bitrix24_query import Answer
from crm_bridge.sandbox.bitrix24_seed import seed_portal
from crm_bridge.sandbox.bitrix24_state import B24Error, PortalState, fmt_time, new_portal
from crm_bridge.sandbox.core import SandboxRequest, SandboxResponse

Method = Callable[[Ctx, dict[str, Any]], Answer]
SCOPES = ("crm", "task", "tasks", "user", "user_basic", "im", "basic", "placement", "entity")


def _methods() -> dict[str, Method]:
    table: dict[str, Method] = {}
    for entity in ("lead", "deal", "company", "contact"):
        for verb, fn in (
            ("add", crm.add),
            ("update", crm.update),
            ("get", crm.get),
            ("list", crm.list_),
            ("delete", crm.delete),
            ("fields", crm.fields_),
        ):
            table[f"crm.{entity}.{verb}"] = (lambda f, e: lambda ctx, p: f(e, ctx, p))(fn, entity)
        for verb, fn in (
            ("add", layout.userfield_add),
            ("get", layout.userfield_get),
            ("list", layout.userfield_list),
            ("update", layout.userfield_update),
            ("delete", layout.userfield_delete),
        ):
            table[f"crm.{entity}.userfield.{verb}"] = (lambda f, e: lambda ctx, p: f(e, ctx, p))(fn, entity)
    table.update(
        {
            "crm.category.list": layout.category_list,
            "crm.category.get": layout.category_get,
            "crm.category.add": layout.category_add,
            "crm.category.update": layout.category_update,
            "crm.category.delete": layout.category_delete,
            "crm.status.list": layout.status_list,
            "crm.status.get": layout.status_get,
            "crm.status.add": layout.status_add,
            "crm.status.update": layout.status_update,
            "crm.status.delete": layout.status_delete,
            "crm.status.entity.types": layout.status_entity_types,
            "crm.duplicate.findbycomm": crm.find_by_comm,
            "crm.item.list": work.item_list,
            "crm.item.get": work.item_get,
            "crm.item.update": work.item_update,
            "user.get": work.user_get,
            "user.current": work.user_current,
            "tasks.task.add": work.task_add,
            "tasks.task.update": work.task_update,
            "tasks.task.get": work.task_get,
            "tasks.task.list": work.task_list,
            "im.notify.system.add": lambda ctx, p: work.notify("system", ctx, p),
            "im.notify.personal.add": lambda ctx, p: work.notify("personal", ctx, p),
            "im.notify": lambda ctx, p: work.notify("personal", ctx, p),
        }
    )
    return table


METHODS = _methods()


def scope_of(method: str) -> str:
    if method.startswith("crm."):
        return "crm"
    if method.startswith("tasks."):
        return "task"
    if method.startswith("im."):
        return "im"
    if method.startswith("user."):
        return "user"
    return "basic"


class Bitrix24Emulator:
    """One Bitrix24 cloud portal. Credentials: the inbound webhook of user ``webhook_user`` with
    secret ``webhook_secret``, and a local application (``client_id``/``client_secret``) whose first
    refresh token is in ``config_snippet``."""

    kind = "bitrix24"

    def __init__(
        self,
        *,
        domain: str = "sandbox.bitrix24.ru",
        webhook_user: int = 1,
        webhook_secret: str = "s4ndb0xw3bh00k01",
        scopes: tuple[str, ...] = ("crm", "task", "user", "im", "basic"),
        client_id: str = "local.sandbox0000001",
        client_secret: str = "sandbox-bitrix24-client-secret",
        plan: str = "standard",
        rate_limit: bool = True,
        operating_limit: float = 480.0,
        access_ttl: int = 3600,
        application_token: str = "sandbox-application-token",
        clock: Callable[[], float] | None = None,
        deliver: Deliver | None = None,
    ) -> None:
        if plan not in PLANS:
            raise TypeError(f"plan must be one of {', '.join(PLANS)}")
        self._clock = clock or time.time
        self._lock = threading.RLock()
        self.domain = domain
        self.webhooks = {webhook_user: webhook_secret}
        self.scopes = tuple(scopes)
        self.client_id, self.client_secret = client_id, client_secret
        self.access_ttl = access_ttl
        self.application_token = application_token
        burst, rate = PLANS[plan]
        self.bucket = LeakyBucket(burst, rate, rate_limit)
        self.budget = OperatingBudget(operating_limit, rate_limit)
        self.state: PortalState = new_portal(self._clock())
        self.access_tokens: dict[str, tuple[int, float]] = {}  # token -> (user, expires_at)
        self.refresh_tokens: dict[str, int] = {}
        self.first_refresh_token = self._issue_refresh(webhook_user)
        self.deliver: Deliver = deliver or WebhookSender()
        self.event_targets: list[dict[str, Any]] = []
        self.faults: Any = None

    # -- the Emulator protocol --------------------------------------------------------------------
    def handle(self, request: SandboxRequest) -> SandboxResponse:
        path = request.path
        if path.rstrip("/") == "/oauth/token":
            return self._oauth(request)
        if not path.startswith("/rest/"):
            return self._error(B24Error(404, "ERROR_METHOD_NOT_FOUND", "Method not found!"))
        parts = [p for p in path[len("/rest/") :].split("/") if p]
        method_part = parts[-1] if parts else ""
        method = (method_part[:-5] if method_part.endswith(".json") else method_part).lower()
        with self._lock:
            now = self._clock()
            try:
                params = self._params(request)
                user = self._authenticate(parts, params, now)
                if not self.bucket.admit(now):
                    raise B24Error(503, "QUERY_LIMIT_EXCEEDED", "Too many requests")
                if method == "batch":
                    ctx = Ctx(self.state, now, user)
                    result, records = run_batch(self, ctx, params)
                    self._emit(ctx)
                    body = {"result": result, "time": self._time(now, "batch", 0.0)}
                    return SandboxResponse(200, body, records=records)
                answer, ctx = self.call(method, params, user, now)
                self._emit(ctx)
            except B24Error as err:
                return self._error(err)
        body = {"result": answer.result}
        if answer.next is not None:
            body["next"] = answer.next
        if answer.total is not None:
            body["total"] = answer.total
        body["time"] = self._time(now, method, answer.cost)
        return SandboxResponse(200, body, records=answer.records)

    def call(self, method: str, params: dict[str, Any], user: int, now: float) -> tuple[Answer, Ctx]:
        """Run one REST method (also used for each command of a batch). Raises B24Error."""
        fn = METHODS.get(method)
        if method in ("event.bind", "event.unbind", "event.get"):
            raise B24Error(400, "WRONG_AUTH_TYPE", "Current authorization type is denied for this method")
        if method == "scope":
            return Answer(list(self.scopes)), Ctx(self.state, now, user)
        if method == "batch":
            raise B24Error(405, "ERROR_BATCH_METHOD_NOT_ALLOWED", "Method is not allowed for batch usage")
        if fn is None:
            raise B24Error(404, "ERROR_METHOD_NOT_FOUND", "Method not found!")
        if scope_of(method) not in self.scopes and scope_of(method) != "basic":
            raise B24Error(
                401,
                "insufficient_scope",
                "The request requires higher privileges than provided by the webhook token",
            )
        if self.budget.exhausted(method, now):
            raise B24Error(429, "OPERATION_TIME_LIMIT", "Method is blocked due to operation time limit.")
        ctx = Ctx(self.state, now, user)
        answer = fn(ctx, params)
        scanned = len(self.state.records.get(method.split(".")[1], {})) if answer.total is not None else 0
        cost = cost_of(method, answer.records, scanned)
        self.budget.charge(method, now, cost)
        answer.cost = cost
        return answer, ctx

    def error_response(self, status: int) -> SandboxResponse:
        errors = {
            401: B24Error(401, "expired_token", "The access token provided has expired."),
            403: B24Error(403, "ACCESS_DENIED", "REST API is available only on commercial plans"),
            429: B24Error(429, "OPERATION_TIME_LIMIT", "Method is blocked due to operation time limit."),
            503: B24Error(503, "QUERY_LIMIT_EXCEEDED", "Too many requests"),
            500: B24Error(500, "INTERNAL_SERVER_ERROR", "Internal server error"),
        }
        return self._error(errors.get(status, B24Error(status, "ERROR_UNEXPECTED_ANSWER", "Server error")))

    def seed(self, data: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            return seed_portal(self, data)

    def dump(self) -> dict[str, Any]:
        with self._lock:
            s = self.state
            return {
                "records": {e: list(rows.values()) for e, rows in s.records.items()},
                "categories": [c.render() for c in s.categories.values()],
                "statuses": [st.render() for st in s.statuses.values()],
                "userfields": [uf.render() for uf in s.userfields.values()],
                "users": list(s.users.values()),
                "tasks": list(s.tasks.values()),
                "notifications": list(s.notifications),
                "event_targets": [{"url": t["url"], "events": t["events"]} for t in self.event_targets],
                "webhook_deliveries": list(getattr(self.deliver, "log", [])),
            }

    def reset(self) -> None:
        with self._lock:
            self.state = new_portal(self._clock())
            self.bucket.reset()
            self.budget.reset()
            self.access_tokens.clear()
            self.refresh_tokens.clear()
            self.first_refresh_token = self._issue_refresh(next(iter(self.webhooks)))
            self.event_targets.clear()

    def config_snippet(self, base_url: str) -> dict[str, Any]:
        user, secret = next(iter(self.webhooks.items()))
        return {
            "crm": {"kind": "bitrix24", "bitrix24": {"webhook_url": "${B24_WEBHOOK_URL}"}},
            "env": {"B24_WEBHOOK_URL": f"{base_url}/rest/{user}/{secret}/"},
            "oauth": {
                "portal_url": f"{base_url}/",
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "refresh_token": self.first_refresh_token,
                "token_url": f"{base_url}/oauth/token/",
            },
        }

    def set_clock(self, clock: Callable[[], float]) -> None:
        self._clock = clock

    def set_rate_limit(self, enabled: bool) -> None:
        self.bucket.enabled = enabled
        self.budget.enabled = enabled
        self.bucket.reset()
        self.budget.reset()

    def set_fault_injector(self, injector: Any) -> None:
        self.faults = injector

    def register_webhook(self, url: str, events: list[str] | None = None, **_: Any) -> dict[str, Any]:
        """Send outbound events (ONCRMDEALUPDATE…, form-encoded as Bitrix24 does) to ``url``."""
        target = {"url": url, "events": [e.upper() for e in events] if events else ["*"]}
        self.event_targets.append(target)
        return {**target, "application_token": self.application_token}

    # -- internals --------------------------------------------------------------------------------
    def _params(self, request: SandboxRequest) -> dict[str, Any]:
        params: dict[str, Any] = parse_pairs([(k, v) for k, vs in request.query.items() for v in vs])
        if request.body.strip():
            if request.content_type == "application/json" or request.body.lstrip()[:1] in (b"{", b"["):
                try:
                    body = request.json()
                except ValueError:
                    raise B24Error(400, "INVALID_REQUEST", "Invalid JSON in the request body") from None
                if isinstance(body, dict):
                    params.update(body)
            else:
                params.update(parse_php_query(request.body.decode("utf-8")))
        return params

    def _authenticate(self, parts: list[str], params: dict[str, Any], now: float) -> int:
        if len(parts) >= 3:
            try:
                user = int(parts[0])
            except ValueError:
                raise B24Error(401, "NO_AUTH_FOUND", "Wrong authorization data") from None
            if self.webhooks.get(user) != parts[1]:
                raise B24Error(401, "NO_AUTH_FOUND", "Wrong authorization data")
            return user
        token = pick(params, "auth")
        if not token:
            raise B24Error(401, "NO_AUTH_FOUND", "Wrong authorization data")
        found = self.access_tokens.get(str(token))
        if found is None:
            raise B24Error(401, "invalid_token", "The access token provided is invalid.")
        if found[1] <= now:
            raise B24Error(401, "expired_token", "The access token provided has expired.")
        return found[0]

    def _issue_refresh(self, user: int) -> str:
        token = secrets.token_hex(16)
        self.refresh_tokens[token] = user
        return token

    def _oauth(self, request: SandboxRequest) -> SandboxResponse:
        params = self._params(request)
        with self._lock:
            if (
                pick(params, "client_id") != self.client_id
                or pick(params, "client_secret") != self.client_secret
            ):
                return SandboxResponse(
                    401, {"error": "invalid_client", "error_description": "Invalid client"}
                )
            if pick(params, "grant_type") != "refresh_token":
                return SandboxResponse(
                    400, {"error": "invalid_request", "error_description": "Unsupported grant"}
                )
            user = self.refresh_tokens.pop(str(pick(params, "refresh_token", default="")), None)
            if user is None:
                return SandboxResponse(
                    400, {"error": "invalid_grant", "error_description": "Invalid refresh token"}
                )
            access = secrets.token_hex(16)
            self.access_tokens[access] = (user, self._clock() + self.access_ttl)
            refresh = self._issue_refresh(user)
        return SandboxResponse(
            200,
            {
                "access_token": access,
                "expires": int(self._clock() + self.access_ttl),
                "expires_in": self.access_ttl,
                "scope": "app",
                "domain": "oauth.bitrix.info",
                "server_endpoint": "https://oauth.bitrix.info/rest/",
                "status": "L",
                "client_endpoint": f"https://{self.domain}/rest/",
                "member_id": "sandbox0member0id",
                "user_id": user,
                "refresh_token": refresh,
            },
        )

    def _time(self, now: float, method: str, cost: float) -> dict[str, Any]:
        operating, reset_at = self.budget.charge(method, now, 0.0)
        return {
            "start": now,
            "finish": now + cost,
            "duration": cost,
            "processing": cost,
            "date_start": fmt_time(now),
            "date_finish": fmt_time(now + cost),
            "operating_reset_at": int(reset_at),
            "operating": round(operating, 4),
        }

    def _error(self, err: B24Error) -> SandboxResponse:
        return SandboxResponse(err.status, err.body())

    def _emit(self, ctx: Ctx) -> None:
        if not self.event_targets or not ctx.events:
            return
        for event, record_id in ctx.events:
            for target in self.event_targets:
                if "*" not in target["events"] and event not in target["events"]:
                    continue
                form = {
                    "event": event,
                    "event_handler_id": "1",
                    "data[FIELDS][ID]": str(record_id),
                    "ts": str(int(ctx.now)),
                    "auth[domain]": self.domain,
                    "auth[client_endpoint]": f"https://{self.domain}/rest/",
                    "auth[server_endpoint]": "https://oauth.bitrix.info/rest/",
                    "auth[member_id]": "sandbox0member0id",
                    "auth[application_token]": self.application_token,
                }
                self.deliver(
                    target["url"],
                    urlencode(form).encode(),
                    {
                        "Content-Type": "application/x-www-form-urlencoded",
                        "User-Agent": "Bitrix24 Webhook Engine",
                    },
                )


def create_emulator(**options: Any) -> Bitrix24Emulator:
    """Build the emulator from sandbox options; unknown options raise TypeError."""
    return Bitrix24Emulator(**options)
