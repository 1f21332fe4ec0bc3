"""Wiring ``crm-bridge run``: the engine's jobs as contained runners on the configured schedule, and
the HTTP port (intake endpoint, /healthz, /metrics, /openapi.json) over the same application."""

from __future__ import annotations

import threading
from importlib.resources import files
from typing import Any

from crm_bridge.bootstrap import App
from crm_bridge.daemon.engine import Engine
from crm_bridge.daemon.jobs import JobRunner
from crm_bridge.daemon.replica import job_leases
from crm_bridge.daemon.scheduler import Daemon
from crm_bridge.daemon.server import DaemonHttpServer, HttpApp, Reply
from crm_bridge.errors import CrmBridgeError
from crm_bridge.redaction import redact
from crm_bridge.services.intake_api import IntakeApi
from crm_bridge.services.intake_keys import ApiKeys
from crm_bridge.services.intake_throttle import AuthLimits, AuthThrottle
from crm_bridge.services.metrics import BridgeMetrics
from crm_bridge.services.sla import zone
from crm_bridge.store.leases import LeaseRepository

_STATUS = {
    "created": 201,
    "existing": 200,
    "invalid": 400,
    "unauthorized": 401,
    "throttled": 429,
    "refused": 422,
    "unavailable": 503,
}


def openapi_document() -> bytes:
    """The published OpenAPI schema of the intake endpoint (package data)."""
    return files("crm_bridge").joinpath("openapi/intake.json").read_bytes()


def intake_endpoint(api: IntakeApi) -> Any:
    def endpoint(
        api_key: str | None, payload: Any, idempotency_key: str | None, client: str | None = None
    ) -> Reply:
        answer = api.submit(api_key, payload, idempotency_key, client)
        headers = {"Retry-After": str(answer.retry_after)} if answer.retry_after else {}
        return Reply(_STATUS[answer.kind], answer.body, headers)

    return endpoint


def build_daemon(
    app: App,
    *,
    metrics: BridgeMetrics,
    notifier: Any | None = None,
    host: str | None = None,
    port: int | None = None,
    http: bool = True,
    stop_timeout: float = 30.0,
) -> Daemon:
    """The daemon for ``app``; ``host``/``port`` override ``intake.listen_host``/``listen_port``."""
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
    server: DaemonHttpServer | None = None
    daemon_ref: list[Daemon] = []

    def health() -> tuple[bool, dict[str, Any]]:
        ok, body = daemon_ref[0].health()
        try:
            app.store.get_state(app.portal, "health")
        except CrmBridgeError as exc:
            return False, {**body, "status": "degraded", "store": redact(str(exc))}
        return ok, body

    if http:
        api = IntakeApi(
            ApiKeys(app.store.intake, app.portal),
            engine.intake_service(),
            app.clock,
            throttle=AuthThrottle(app.store.bucket, app.clock, AuthLimits.from_settings(settings)),
            on_auth_refused=metrics.intake_auth_refused,
        )
        http_app = HttpApp(
            health=health,
            metrics=metrics.render,
            openapi=openapi_document(),
            intake=intake_endpoint(api),
            max_body=settings.intake.max_body_kb * 1024,
        )
        listen_host = host or settings.intake.listen_host
        listen_port = settings.intake.listen_port if port is None else port
        server = DaemonHttpServer(listen_host, listen_port, http_app)
    daemon = Daemon(
        runners,
        {name: schedules[name] for name in runners},
        zone(settings.schedule_timezone()),
        http=server,
        stop_timeout=stop_timeout,
        stopping=stopping,
        leases=leases,
    )
    daemon_ref.append(daemon)
    return daemon
