"""``create_app(ctx, routers=...)``: the daemon's FastAPI application.

FastAPI rather than Litestar: the request/response models are the pydantic v2 models the rest of
crm-bridge already uses, ``/openapi.json`` and ``/docs`` come from them with no extra plugin, its
TestClient/ASGI interface is what schemathesis and openapi-core drive, and it is the framework the
project's conventions name; Litestar would give the same features with a second validation layer
(msgspec/attrs DTOs) and a smaller ecosystem of users and answers.

    app = create_app(WebContext(metrics=..., store=..., intake=...), routers=[portal.router])
    app.include_router(more_router)          # later, before serving, works too
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from crm_bridge.redaction import redact
from crm_bridge.web import events, intake, ops, training
from crm_bridge.web.context import WebContext
from crm_bridge.web.limits import BodyLimit, RequestLog
from crm_bridge.web.models import problem_body

log = logging.getLogger("crm_bridge.daemon.http")

API_VERSION = "1.1.0"

_ERRORS = {404: "not_found", 405: "method_not_allowed", 413: "too_large", 401: "unauthorized"}


def create_app(ctx: WebContext, *, routers: Sequence[APIRouter] = ()) -> FastAPI:
    """The web application over ``ctx``: intake, health, readiness, metrics, OpenAPI and docs, plus
    ``routers`` (each mounted as given; they reach the context with the ``Context`` dependency)."""
    app = FastAPI(
        title=f"{ctx.title} partner API",
        version=API_VERSION,
        description=(
            "The crm-bridge daemon's HTTP port: partners register leads (deal registrations) with their "
            "API key; an LMS reports partners' course completions (training webhooks); operations read "
            "liveness, readiness and Prometheus metrics."
        ),
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.ctx = ctx
    app.include_router(intake.router)
    app.include_router(training.router)
    app.include_router(ops.router)
    app.include_router(events.router)
    for router in routers:
        app.include_router(router)

    def on_refused(path: str, error: str) -> None:
        if path == "/v1/leads":
            ctx.metrics.intake_answered(error)
        elif path.startswith("/v1/training/"):
            ctx.metrics.event_answered(training.SOURCE, error)
        elif path.startswith("/v1/events/") and "events" in ctx.services:
            ctx.metrics.crm_events_refused(ctx.services["events"].crm, error)

    app.add_middleware(
        BodyLimit, max_body=ctx.max_body, on_refused=on_refused, limits={"/v1/events/": ctx.max_event_body}
    )
    app.add_middleware(RequestLog)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        error = _ERRORS.get(exc.status_code, "invalid_request" if exc.status_code < 500 else "internal_error")
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404:
            detail = f"no such endpoint: {request.method} {request.url.path}"
        return JSONResponse(
            problem_body(error, detail), status_code=exc.status_code, headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> JSONResponse:
        # the client gets the error shape, never a traceback; the log gets the type and redacted text
        log.error(
            "%s %s failed: %s", request.method, request.url.path, redact(f"{type(exc).__name__}: {exc}")
        )
        return JSONResponse(
            problem_body("internal_error", "the server failed; try again later"), status_code=500
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {
                "field": ".".join(str(p) for p in err.get("loc", ())[1:]) or "body",
                "message": err.get("msg", ""),
            }
            for err in exc.errors()
        ]
        body = problem_body("invalid_request", f"{len(problems)} problem(s) in the request", problems)
        return JSONResponse(body, status_code=422)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                servers=[{"url": "/"}],
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components["LeadSubmission"] = intake.lead_submission_schema()
            components.update(training.component_schemas())
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
