"""Operations endpoints: ``/healthz`` (liveness), ``/readyz`` (the state store and the CRM answer) and
``/metrics`` (Prometheus text exposition from the app's own registry)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from crm_bridge.redaction import redact
from crm_bridge.services.metrics import CONTENT_TYPE
from crm_bridge.web.context import Context, WebContext
from crm_bridge.web.models import Health, Readiness

router = APIRouter(tags=["operations"])


@router.get(
    "/healthz",
    operation_id="health",
    summary="Liveness of the daemon and the state of its jobs",
    response_model=Health,
    responses={503: {"model": Health, "description": "The daemon is stopping, or the sync job fails."}},
)
async def healthz(ctx: Context) -> JSONResponse:
    ok, body = await run_in_threadpool(ctx.health)
    return JSONResponse(body, status_code=200 if ok else 503)


def readiness(ctx: WebContext) -> tuple[bool, dict[str, Any]]:
    """Run every ready check; (all ready, the ``Readiness`` body)."""
    checks: dict[str, str] = {}
    for name, check in ctx.ready_checks.items():
        try:
            reason = check()
        except Exception as exc:  # noqa: BLE001 (a probe answers; it never crashes)
            reason = redact(f"{type(exc).__name__}: {exc}")[:300]
        checks[name] = "ok" if reason is None else reason
    ready = all(v == "ok" for v in checks.values())
    return ready, {"status": "ready" if ready else "not_ready", "checks": checks}


@router.get(
    "/readyz",
    operation_id="ready",
    summary="Readiness: the state store and the CRM answer",
    response_model=Readiness,
    responses={
        503: {"model": Readiness, "description": "A dependency does not answer; the reason is given."}
    },
)
async def readyz(ctx: Context) -> JSONResponse:
    ready, body = await run_in_threadpool(readiness, ctx)
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get(
    "/metrics",
    operation_id="metrics",
    summary="Prometheus text exposition format",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "Metrics."}},
)
async def metrics(ctx: Context) -> Response:
    return Response(ctx.metrics.render(), media_type=CONTENT_TYPE)
