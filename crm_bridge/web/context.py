"""``WebContext``: what the web routes need, handed to ``create_app`` once and reachable from every
request (``context_of(request)``, or ``ctx: Context`` as a FastAPI dependency)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Protocol

from fastapi import Depends, Request

from crm_bridge.services.metrics import BridgeMetrics

if TYPE_CHECKING:
    from crm_bridge.bootstrap import App
    from crm_bridge.config import Settings
    from crm_bridge.services.intake.api import ApiAnswer
    from crm_bridge.store import Store

MAX_BODY = 256 * 1024  # default of intake.max_body_kb

Health = Callable[[], tuple[bool, dict[str, Any]]]
ReadyCheck = Callable[[], str | None]  # None = ready, else the reason (one line, no secrets)


class IntakeEndpoint(Protocol):
    """What ``POST /v1/leads`` calls (``services.intake.api.IntakeApi``)."""

    def submit(
        self, api_key: str | None, payload: Any, idempotency_key: str | None, client: str | None = None
    ) -> ApiAnswer: ...


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _alive() -> tuple[bool, dict[str, Any]]:
    return True, {"status": "ok", "jobs": {}}


@dataclass
class WebContext:
    """The application behind the web routes.

    ``bridge``: the bootstrapped application (settings, store, CRM adapter, portal, clock) when the
    routes run inside ``crm-bridge run``; tests may leave it None and give ``store``/``settings`` only.
    ``intake``: the partner intake use case (None: ``POST /v1/leads`` answers 404). ``health``: the
    daemon's liveness and job states (``/healthz``). ``ready_checks``: name -> check, each returning
    None when ready or the reason (``/readyz`` answers 503 naming every failing one).
    ``services``: anything further routers need (looked up by name), so mounting a router never
    needs a change here."""

    metrics: BridgeMetrics = field(default_factory=BridgeMetrics)
    bridge: App | None = None
    settings: Settings | None = None
    store: Store | None = None
    portal: str = ""
    clock: Callable[[], datetime] = _utc_now
    intake: IntakeEndpoint | None = None
    health: Health = _alive
    ready_checks: Mapping[str, ReadyCheck] = field(default_factory=dict)
    max_body: int = MAX_BODY  # bytes (intake.max_body_kb)
    max_event_body: int = 1024 * 1024  # bytes (events.max_body_kb) for POST /v1/events/<token>
    title: str = "crm-bridge"
    services: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.bridge is not None:
            self.settings = self.settings or self.bridge.settings
            self.store = self.store or self.bridge.store
            self.portal = self.portal or self.bridge.portal
            if self.clock is _utc_now:
                self.clock = self.bridge.clock


def context_of(request: Request) -> WebContext:
    """The ``WebContext`` the application was created with."""
    ctx: WebContext = request.app.state.ctx
    return ctx


Context = Annotated[WebContext, Depends(context_of)]
