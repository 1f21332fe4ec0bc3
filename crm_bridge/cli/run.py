"""``crm-bridge run``: the daemon — the jobs of the ``schedule`` config section, and one HTTP port
(FastAPI under uvicorn) for the partner intake endpoint, /healthz, /readyz, /metrics, /openapi.json and
/docs; stops gracefully on SIGTERM/SIGINT (requests in flight finish, then the jobs stop)."""

from __future__ import annotations

import logging

import click

from crm_bridge.cli.output import CliContext

log = logging.getLogger("crm_bridge.daemon")


@click.command("run")
@click.option("--host", default=None, help="Listen address (default: intake.listen_host).")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=None, help="Listen port (default: intake.listen_port)."
)
@click.option("--no-http", is_flag=True, help="Run the jobs only, without the HTTP port.")
@click.option(
    "--stop-timeout",
    type=click.FloatRange(0.1, 3600),
    default=30.0,
    show_default=True,
    help="Seconds a stop waits for requests in flight, then for running jobs to finish their batch.",
)
@click.pass_obj
def command(obj: CliContext, host: str | None, port: int | None, no_http: bool, stop_timeout: float) -> None:
    """Run the sync daemon until SIGTERM or SIGINT (Ctrl+C), then stop within --stop-timeout and exit 0."""
    from crm_bridge.bootstrap import bootstrap
    from crm_bridge.daemon.app import build_daemon
    from crm_bridge.daemon.cycle import make_notifier
    from crm_bridge.services.metrics import BridgeMetrics

    settings = obj.settings()
    metrics = BridgeMetrics()
    with bootstrap(settings, on_request=metrics.http_observer) as app:
        daemon = build_daemon(
            app,
            metrics=metrics,
            notifier=make_notifier(app, metrics),
            host=host,
            port=port,
            http=not no_http,
            stop_timeout=stop_timeout,
        )
        where = f" on {daemon.http.url}" if daemon.http is not None else " (no HTTP port)"
        obj.console.print(
            f"crm-bridge daemon running{where}; jobs: {', '.join(daemon.runners)}. Stop with Ctrl+C."
        )
        log.info(
            "daemon listening%s (POST /v1/leads, GET /healthz, /readyz, /metrics, /openapi.json, /docs)",
            where,
        )
        clean = daemon.run_until_signal()
        obj.console.print("stopped" if clean else f"stopped after {stop_timeout:g}s with a job still running")
