"""``POST /v1/events/<token>``: the CRM event receiver (``services.events.EventIntake``). The raw body is
read after ``BodyLimit`` (413 over ``events.max_body_kb``), checked and stored before the answer; the
route is absent from the OpenAPI document (it is the CRMs' door, not the partners')."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from crm_bridge.web.context import Context

router = APIRouter()


@router.post("/v1/events/{token}", include_in_schema=False)
async def receive_events(token: str, request: Request, ctx: Context) -> JSONResponse:
    intake = ctx.services.get("events")
    if intake is None:
        raise HTTPException(404)
    body = await request.body()
    headers = {k.lower(): v for k, v in request.headers.items()}
    headers["x-crm-bridge-url"] = str(request.url)  # what the CRM posted to, when no public_url is set
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    answer = await run_in_threadpool(intake.receive, token, request.method, path, headers, body)
    return JSONResponse(answer.body, status_code=answer.status)
