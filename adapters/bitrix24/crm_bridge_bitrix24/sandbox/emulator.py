"""The Bitrix24 REST emulator: inbound-webhook URLs (``/rest/<user_id>/<secret>/<method>[.json]``) and
OAuth (``/rest/<method>?auth=…`` with tokens from ``/oauth/token/``), JSON, form and query parameters,
``batch``, the leaky bucket and per-method operating budget, and outbound events.

``create_emulator(**options)`` is what the sandbox server calls (options: see ``Bitrix24Emulator``).
References: b24restdocs settings/how-to-call-rest-api/*, settings/oauth/*, settings/performance/limits.md,
_includes/system-errors.md.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from crm_bridge.sandbox.core import SandboxRequest, SandboxResponse
from crm_bridge.sandbox.delivery import Deliver, WebhookSender
from crm_bridge_bitrix24.sandbox import crm as crm
from crm_bridge_bitrix24.sandbox import funnels as funnels
from crm_bridge_bitrix24.sandbox import items as items
from crm_bridge_bitrix24.sandbox import people as people
from crm_bridge_bitrix24.sandbox import tasks as tasks
from crm_bridge_bitrix24.sandbox import userfields as userfields
from crm_bridge_bitrix24.sandbox.auth import Caller, Credentials
from crm_bridge_bitrix24.sandbox.batch import run_batch
from crm_bridge_bitrix24.sandbox.crm import Ctx
from crm_bridge_bitrix24.sandbox.duplicates import find_by_comm
from crm_bridge_bitrix24.sandbox.events import EventHub
from crm_bridge_bitrix24.sandbox.history import stagehistory_list
from crm_bridge_bitrix24.sandbox.limits import PLANS, LeakyBucket, OperatingBudget, cost_of
from crm_bridge_bitrix24.sandbox.params import parse_pairs, parse_php_query
from crm_bridge_bitrix24.sandbox.portal import new_portal
from crm_bridge_bitrix24.sandbox.query import Answer
from crm_bridge_bitrix24.sandbox.seed import seed_portal
from crm_bridge_bitrix24.sandbox.state import B24Error, PortalState, fmt_time

Method = Callable[[Ctx, dict[str, Any]], Answer]


def _per_entity(fn: Callable[[str, Ctx, dict[str, Any]], Answer], entity: str) -> Method:
    return lambda ctx, params: fn(entity, ctx, params)


def _methods() -> dict[str, Method]:
    table: dict[str, Method] = {}
    for entity in ("lead", "deal", "company", "contact"):
        for verb in ("add", "update", "get", "delete", "fields"):
            table[f"crm.{entity}.{verb}"] = _per_entity(getattr(crm, verb), entity)
        table[f"crm.{entity}.list"] = _per_entity(crm.list_, entity)
        for verb in ("add", "get", "list", "update", "delete"):
            table[f"crm.{entity}.userfield.{verb}"] = _per_entity(
                getattr(userfields, f"userfield_{verb}"), entity
            )
    for verb in ("list", "get", "add", "update", "delete"):
        table[f"crm.category.{verb}"] = getattr(funnels, f"category_{verb}")
        table[f"crm.status.{verb}"] = getattr(funnels, f"status_{verb}")
        if verb != "delete":
            table[f"crm.item.{verb}"] = getattr(items, f"item_{verb}")
    for verb in ("add", "update", "get", "list"):
        table[f"tasks.task.{verb}"] = getattr(tasks, f"task_{verb}")
    table.update(
        {
            "crm.status.entity.types": funnels.status_entity_types,
            "crm.duplicate.findbycomm": find_by_comm,
            "crm.stagehistory.list": stagehistory_list,
            "user.get": people.user_get,
            "user.current": people.user_current,
            "department.get": people.department_get,
            "im.notify.system.add": lambda ctx, p: people.notify("system", ctx, p),
            "im.notify.personal.add": lambda ctx, p: people.notify("personal", ctx, p),
            "im.notify": lambda ctx, p: people.notify("auto", ctx, p),
        }
    )
    return table


METHODS = _methods()
_EVENT_METHODS = ("event.bind", "event.get", "event.unbind", "event.offline.get", "event.offline.clear")


class Bitrix24Emulator:
    """One Bitrix24 cloud portal. Credentials: the inbound webhook of user ``webhook_user`` with
    secret ``webhook_secret``, and a local application (``client_id``/``client_secret``) whose first
    refresh token is in ``config_snippet``."""

    kind = "bitrix24"
    title = "Bitrix24"
    plans = PLANS

    @staticmethod
    def endpoint_of(path: str) -> str:
        """The REST method name for the request log: ``/rest/1/secret/crm.deal.list.json`` ->
        ``crm.deal.list``."""
        if not path.startswith("/rest/"):
            return ""
        last = path.rstrip("/").rsplit("/", 1)[-1]
        return last[:-5] if last.endswith(".json") else last

    def __init__(
        self,
        *,
        domain: str = "sandbox.bitrix24.ru",
        webhook_user: int = 1,
        webhook_secret: str = "s4ndb0xw3bh00k01",
        scopes: tuple[str, ...] | list[str] = ("crm", "task", "user", "im", "department"),
        client_id: str = "local.sandbox0000000001.00000001",
        client_secret: str = "sandbox-bitrix24-client-secret",
        plan: str = "standard",
        rate_limit: bool = True,
        operating_limit: float = 480.0,
        access_ttl: int = 3600,
        application_token: str = "sandbox-application-token",
        language: str = "ru",
        clock: Callable[[], float] | None = None,
        deliver: Deliver | None = None,
    ) -> None:
        if plan not in PLANS:
            raise TypeError(f"plan must be one of {', '.join(PLANS)}")
        self._clock = clock or time.time
        self._lock = threading.RLock()
        self.domain = domain
        self.owner = webhook_user
        self.language = language
        self.credentials = Credentials(
            {webhook_user: webhook_secret}, tuple(scopes), client_id, client_secret, access_ttl
        )
        burst, rate = PLANS[plan]
        self.bucket = LeakyBucket(burst, rate, rate_limit)
        self.budget = OperatingBudget(operating_limit, rate_limit)
        self.state: PortalState = new_portal(self.now(), language)
        self.first_refresh_token = self.credentials.issue_refresh(webhook_user, self.now())
        self.deliver: Deliver = deliver or WebhookSender()
        self.events = EventHub(domain, application_token, self.deliver)
        self.client_endpoint = f"https://{domain}/rest/"
        self.faults: Any = None

    def now(self) -> float:
        return self._clock()

    # -- the Emulator protocol --------------------------------------------------------------------
    def handle(self, request: SandboxRequest) -> SandboxResponse:
        host = request.headers.get("host")
        if host:
            self.client_endpoint = f"http://{host}/rest/"
        path = request.path.rstrip("/")
        if path == "/oauth/token":
            with self._lock:
                status, body = self.credentials.token_endpoint(
                    self._params(request), self.now(), self.client_endpoint
                )
            return SandboxResponse(status, body)
        if not path.startswith("/rest/"):
            return self._error(B24Error(404, "ERROR_METHOD_NOT_FOUND", "Method not found!"))
        parts = [p for p in path[len("/rest/") :].split("/") if p]
        method = (parts[-1] if parts else "").lower()
        method = method[:-5] if method.endswith(".json") else method
        with self._lock:
            now = self.now()
            try:
                params = self._params(request)
                caller = self.credentials.authenticate(parts, params, now)
                if not self.bucket.admit(now):
                    raise B24Error(503, "QUERY_LIMIT_EXCEEDED", "Too many requests")
                if method == "batch":  # the outer batch is not charged to any operating budget
                    ctx = Ctx(self.state, now, caller.user_id)
                    result, records = run_batch(self, ctx, caller, params)
                    self._emit(ctx, now)
                    return SandboxResponse(
                        200, {"result": result, "time": self._time(now, 0.0)}, records=records
                    )
                answer, ctx = self.call(method, params, caller, now)
                self._emit(ctx, now)
            except B24Error as err:
                return self._error(err)
            reply: dict[str, Any] = {"result": answer.result}
            if answer.next is not None:
                reply["next"] = answer.next
            if answer.total is not None:
                reply["total"] = answer.total
            reply["time"] = self._time(now, answer.cost, method)
        return SandboxResponse(200, reply, records=answer.records)

    def call(self, method: str, params: dict[str, Any], caller: Caller, now: float) -> tuple[Answer, Ctx]:
        """Run one REST method (also each command of a batch). Raises B24Error."""
        ctx = Ctx(self.state, now, caller.user_id)
        if method == "batch":
            raise B24Error(405, "ERROR_BATCH_METHOD_NOT_ALLOWED", "Method is not allowed for batch usage")
        if method == "scope":
            return Answer(list(self.credentials.scopes)), ctx
        if method in _EVENT_METHODS:
            name = method.removeprefix("event.").replace(".", "_")
            return getattr(self.events, name)(caller, params), ctx
        fn = METHODS.get(method)
        if fn is None:
            raise B24Error(404, "ERROR_METHOD_NOT_FOUND", "Method not found!")
        self.credentials.check_scope(method)
        if self.budget.exhausted(method, now):
            raise B24Error(429, "OPERATION_TIME_LIMIT", "Method is blocked due to operation time limit.")
        answer = fn(ctx, params)
        entity = method.split(".")[1] if method.count(".") == 2 else ""
        scanned = len(self.state.records.get(entity, {})) if answer.total else 0
        answer.cost = cost_of(method, answer.records, scanned)
        self.budget.charge(method, now, answer.cost)
        return answer, ctx

    def error_response(self, status: int) -> SandboxResponse:
        """The body Bitrix24 sends with ``status`` (fault injection answers with these)."""
        errors = {
            401: B24Error(401, "expired_token", "The access token provided has expired"),
            403: B24Error(403, "ACCESS_DENIED", "REST API is available only on commercial plans"),
            429: B24Error(429, "OPERATION_TIME_LIMIT", "Method is blocked due to operation time limit."),
            500: B24Error(500, "INTERNAL_SERVER_ERROR", "Internal server error"),
            503: B24Error(503, "QUERY_LIMIT_EXCEEDED", "Too many requests"),
        }
        return self._error(
            errors.get(
                status, B24Error(status, "ERROR_UNEXPECTED_ANSWER", "Server returned an unexpected response")
            )
        )

    def seed(self, data: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            return seed_portal(self, data)

    def dump(self) -> dict[str, Any]:
        """The whole portal (lossless, see ``restore``) plus the event targets and delivery log."""
        with self._lock:
            return {
                **self.state.to_dict(),
                "event_targets": [dict(t) for t in self.events.targets],
                "webhook_deliveries": list(getattr(self.deliver, "log", [])),
            }

    def restore(self, data: dict[str, Any]) -> None:
        """Load a state saved with ``dump()``; issued tokens and limit counters are not part of it."""
        with self._lock:
            self.state = PortalState.from_dict(data)
            targets = data.get("event_targets") or []
            self.events.targets = [dict(t) for t in targets]
            self.events.next_id = max((int(t.get("id", 0)) for t in targets), default=0) + 1

    def reset(self) -> None:
        with self._lock:
            self.state = new_portal(self.now(), self.language)
            self.bucket.reset()
            self.budget.reset()
            self.credentials.reset()
            self.first_refresh_token = self.credentials.issue_refresh(self.owner, self.now())
            self.events.targets.clear()

    def config_snippet(self, base_url: str) -> dict[str, Any]:
        secret = self.credentials.webhooks[self.owner]
        return {
            "crm": {"kind": "bitrix24", "bitrix24": {"webhook_url": "${B24_WEBHOOK_URL}"}},
            "env": {"B24_WEBHOOK_URL": f"{base_url}/rest/{self.owner}/{secret}/"},
            "oauth": {
                "portal_url": f"{base_url}/",
                "client_id": self.credentials.client_id,
                "client_secret": self.credentials.client_secret,
                "refresh_token": self.first_refresh_token,
                "token_url": f"{base_url}/oauth/token/",
            },
            "events": {"application_token": self.events.application_token},
        }

    def set_clock(self, clock: Callable[[], float]) -> None:
        self._clock = clock

    def set_rate_limit(self, enabled: bool) -> None:
        self.bucket.enabled = enabled
        self.budget.enabled = enabled
        self.bucket.reset()
        self.budget.reset()

    def set_fault_injector(self, injector: Any) -> None:
        """The server's FaultInjector: its plan's ``batch_fail`` ({"keys": [...]} or {"every": n})
        makes those batch commands fail with ``error``/``description`` (default ERROR_CORE)."""
        self.faults = injector

    def register_webhook(self, url: str, events: list[str] | None = None, **_: Any) -> dict[str, Any]:
        """An outgoing webhook: events (ONCRMDEALUPDATE…, ``*`` for all) POSTed form-encoded to ``url``."""
        with self._lock:
            return self.events.register_webhook(url, events)

    # -- internals --------------------------------------------------------------------------------
    def _params(self, request: SandboxRequest) -> dict[str, Any]:
        """Query string, then a JSON or form body on top (every method accepts all three)."""
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
                params.update(parse_php_query(request.body.decode("utf-8", "replace")))
        return params

    def _time(self, now: float, cost: float, method: str | None = None) -> dict[str, Any]:
        block: dict[str, Any] = {
            "start": now,
            "finish": now + cost,
            "duration": cost,
            "processing": cost,
            "date_start": fmt_time(now),
            "date_finish": fmt_time(now + cost),
        }
        if method is not None:
            operating, reset_at = self.budget.report(method, now)
            block.update(operating_reset_at=reset_at, operating=round(operating, 6))
        return block

    def _error(self, err: B24Error) -> SandboxResponse:
        return SandboxResponse(err.status, err.body())

    def _emit(self, ctx: Ctx, now: float) -> None:
        if self.events.targets and ctx.events:
            self.events.emit(ctx.events, now, self.credentials, self.client_endpoint)


def create_emulator(**options: Any) -> Bitrix24Emulator:
    """Build the emulator from sandbox options; unknown options raise TypeError."""
    return Bitrix24Emulator(**options)
