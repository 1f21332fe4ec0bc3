"""Wiring ``crm-bridge run``: the engine's jobs as contained runners on the configured schedule, and
the web application (``crm_bridge.web``: intake API, /healthz, /readyz, /metrics, /openapi.json, /docs,
the partner portal /portal and the head's dashboard /admin, and any further routers) served by uvicorn
over the same application."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import APIRouter

from crm_bridge.bootstrap import App
from crm_bridge.daemon.engine import Engine
from crm_bridge.daemon.intake_writer import IntakeWriter
from crm_bridge.daemon.jobs import JobRunner
from crm_bridge.daemon.replica import job_leases
from crm_bridge.daemon.scheduler import Daemon
from crm_bridge.errors import CrmBridgeError
from crm_bridge.ports import EventReceiver
from crm_bridge.redaction import install_redaction, redact
from crm_bridge.services.events import EventIntake
from crm_bridge.services.intake.api import FloodLimit, IntakeApi
from crm_bridge.services.intake.keys import ApiKeys
from crm_bridge.services.intake.throttle import AuthLimits, AuthThrottle
from crm_bridge.services.metrics import BridgeMetrics
from crm_bridge.services.sla import zone
from crm_bridge.store.leases import LeaseRepository
from crm_bridge.web.app import create_app
from crm_bridge.web.context import WebContext
from crm_bridge.web.server import WebServer

CRM_READY_TTL = 60.0  # seconds a CRM readiness answer is reused: a probe must not spend the CRM's budget


def store_check(app: App) -> Callable[[], str | None]:
    def check() -> str | None:
        try:
            app.store.get_state(app.portal, "health")
        except CrmBridgeError as exc:
            return redact(str(exc))
        return None

    return check


def crm_check(app: App, ttl: float = CRM_READY_TTL) -> Callable[[], str | None]:
    """The CRM answers: the adapter's ``connection`` diagnostic, remembered for ``ttl`` seconds."""
    lock = threading.Lock()
    cached: list[tuple[float, str | None]] = []

    def check() -> str | None:
        with lock:
            if cached and time.monotonic() - cached[0][0] < ttl:
                return cached[0][1]
            try:
                checks = app.adapter.check()
                failed = [c for c in checks if c.name == "connection" and not c.ok]
                reason = redact(f"{app.adapter.name}: {failed[0].detail}") if failed else None
            except CrmBridgeError as exc:
                reason = redact(f"{app.adapter.name}: {exc}")
            cached[:] = [(time.monotonic(), reason)]
            return reason

    return check


def build_web_context(
    app: App,
    metrics: BridgeMetrics,
    engine: Engine,
    health: Callable[[], tuple[bool, dict[str, Any]]],
    writer: IntakeWriter | None = None,
) -> WebContext:
    settings = app.settings
    api = IntakeApi(
        ApiKeys(app.store.intake, app.portal),
        engine.intake_service(),
        app.clock,
        throttle=AuthThrottle(app.store.bucket, app.clock, AuthLimits.from_settings(settings)),
        flood=FloodLimit(app.store.bucket, settings.intake.requests_per_minute),
        on_auth_refused=metrics.intake_auth_refused,
    )
    services: dict[str, Any] = {
        "engine": engine,
        "intake_writer": writer,
        "training_webhook": _training_webhook(engine),
    }
    intake = event_intake(app, metrics)
    if intake is not None:
        services["events"] = intake
    return WebContext(
        metrics=metrics,
        bridge=app,
        intake=api,
        health=health,
        ready_checks={"store": store_check(app), "crm": crm_check(app)},
        max_body=settings.intake.max_body_kb * 1024,
        services=services,
        max_event_body=settings.events.max_body_kb * 1024,
    )


def event_intake(app: App, metrics: BridgeMetrics) -> EventIntake | None:
    """The CRM event receiver when ``events.enabled`` and the CRM pushes events (None otherwise)."""
    cfg = app.settings.events
    if not cfg.enabled or cfg.path_token is None or not isinstance(app.adapter, EventReceiver):
        return None
    return EventIntake(
        app.adapter,
        app.store.events,
        app.portal,
        app.adapter.name,
        cfg.path_token.get_secret_value(),
        app.clock,
        metrics,
        public_url=str(cfg.public_url) if cfg.public_url else None,
    )


def _training_webhook(engine: Engine) -> Any:
    """The LMS webhook (``POST /v1/training/...``) over the engine's partner lifecycle."""
    from crm_bridge.services.partners.training import TrainingService
    from crm_bridge.services.partners.training_webhook import TrainingWebhook

    return TrainingWebhook(TrainingService(engine.partner_lifecycle()))


def build_daemon(
    app: App,
    *,
    metrics: BridgeMetrics,
    notifier: Any | None = None,
    host: str | None = None,
    port: int | None = None,
    http: bool = True,
    stop_timeout: float = 30.0,
    routers: Sequence[APIRouter] = (),
) -> Daemon:
    """The daemon for ``app``; ``host``/``port`` override ``intake.listen_host``/``listen_port``;
    ``routers`` are mounted on the web application beside the intake API. Every log record of the
    process is redacted from here on (``install_redaction``; the CLI's entry has done so already)."""
    install_redaction()
    settings = app.settings
    stopping = threading.Event()
    engine = Engine(app, metrics=metrics, notifier=notifier, stopping=stopping)
    runners = {
        name: JobRunner(name, job, observer=metrics, redact=redact) for name, job in engine.jobs().items()
    }
    schedules = settings.schedule.jobs()
    engine_url = app.store.engine.url
    leases = job_leases(  # first: a second daemon on one SQLite file is refused before anything starts
        engine_url.database,
        engine_url.get_backend_name(),
        LeaseRepository(app.store.engine, app.portal),
        [name for name in runners if schedules[name].enabled],
        lease=settings.schedule.lease,
    )
    server: WebServer | None = None
    daemon_ref: list[Daemon] = []

    def health() -> tuple[bool, dict[str, Any]]:
        ok, body = daemon_ref[0].health()
        try:
            app.store.get_state(app.portal, "health")
        except CrmBridgeError as exc:
            return False, {**body, "status": "degraded", "store": redact(str(exc))}
        return ok, body

    writer: IntakeWriter | None = None
    if http:
        drain_service = engine.intake_service()
        writer = IntakeWriter(
            lambda: engine.drain_intake(drain_service), stopping=stopping, observer=metrics, redact=redact
        )
        ctx = build_web_context(app, metrics, engine, health, writer)
        web = create_app(ctx, routers=routers)
        from crm_bridge.web.portal import mount_portal, portal_context

        mount_portal(
            web, portal_context(app, engine, jobs=lambda: {n: r.status.as_json() for n, r in runners.items()})
        )
        bot_cfg = settings.bot
        if bot_cfg.enabled and bot_cfg.mode == "webhook" and bot_cfg.webhook_secret is not None:
            from crm_bridge.web.bot import PATH, bot_router

            partner_bot = engine.partner_bot()
            web.include_router(bot_router(partner_bot, bot_cfg.webhook_secret.get_secret_value()))
            if settings.portal.public_url:
                try:  # Telegram calls the public address; the proxy forwards /telegram/webhook here
                    partner_bot.set_webhook(settings.portal.public_url.rstrip("/") + PATH)
                except CrmBridgeError as exc:
                    logging.getLogger("crm_bridge.bot").error("bot setWebhook failed: %s", redact(str(exc)))
        listen_host = host or settings.intake.listen_host
        listen_port = settings.intake.listen_port if port is None else port
        server = WebServer(
            web,
            listen_host,
            listen_port,
            graceful_timeout=stop_timeout,
            trusted_proxies=settings.intake.trusted_proxies,
        )
    daemon = Daemon(
        runners,
        {name: schedules[name] for name in runners},
        zone(settings.schedule_timezone()),
        http=server,
        stop_timeout=stop_timeout,
        stopping=stopping,
        background=[writer] if writer is not None else [],
        leases=leases,
    )
    daemon_ref.append(daemon)
    return daemon
