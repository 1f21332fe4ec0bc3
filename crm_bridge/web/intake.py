"""``POST /v1/leads``: the partner intake API over ``services.intake.api.IntakeApi``. The body is read
raw (after ``BodyLimit``) so every answer keeps the one JSON error shape: 415 for another media type,
400 for a body that is not JSON, 422 naming each field with a problem, 401/429 for keys, 503 when the
CRM is busy."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from crm_bridge.web.context import Context
from crm_bridge.web.models import LeadAccepted, LeadSubmission, Problem, problem_body

STATUS = {
    "accepted": 202,
    "existing": 200,
    "found": 200,
    "not_found": 404,
    "invalid": 422,
    "unauthorized": 401,
    "throttled": 429,
    "rate_limited": 429,
    "refused": 422,
    "unavailable": 503,
}

bearer = HTTPBearer(
    auto_error=False, scheme_name="bearerKey", description="Authorization: Bearer <partner API key>"
)
api_key_header = APIKeyHeader(
    name="X-Api-Key", auto_error=False, scheme_name="apiKeyHeader", description="The partner API key"
)

_RETRY_AFTER = {
    "Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer", "minimum": 1}}
}


def _problem(description: str, *, retry: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"model": Problem, "description": description}
    if retry:
        out["headers"] = _RETRY_AFTER
    return out


RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "model": LeadAccepted,
        "description": "The same lead again (a retry): its registration as it stands (queued, or "
        "created with its CRM id); nothing new is registered or created.",
    },
    400: _problem("The body is not JSON (or not UTF-8)."),
    401: _problem("No API key, or the key is unknown or revoked."),
    413: _problem("The body is larger than intake.max_body_kb (256 KiB by default)."),
    415: _problem("The body is not application/json."),
    422: _problem(
        "The lead is not valid (error invalid_request: every problem is listed with the field or header "
        "it concerns), or the CRM refused it (error refused: sending it again will not help)."
    ),
    429: _problem(
        "Too many failed API key attempts from this address or for this key id (too_many_attempts), or "
        "too many leads from this key (too_many_requests, intake.requests_per_minute); retry after the "
        "given number of seconds.",
        retry=True,
    ),
    503: _problem(
        "The CRM or the state store is temporarily unavailable; retry after the given number of seconds "
        "with the same Idempotency-Key.",
        retry=True,
    ),
}

router = APIRouter(tags=["intake"])


@router.post(
    "/v1/leads",
    operation_id="submitLead",
    summary="Register a partner lead",
    description=(
        "Partners hand over leads (deal registrations) with their own API key (issued with "
        "`crm-bridge intake keys create --partner ID`). A lead is created in the partner-lead funnel with "
        "the partner reference; a customer already registered by another partner within the protection "
        "window is accepted but flagged as a channel conflict (the first registrant keeps it). Sending "
        "the same request again (same Idempotency-Key, or the same content without one) never creates a "
        "second lead. The answer comes at once (202 Accepted, with a `Location` header): the lead is "
        "registered and queued, and the daemon's intake writer creates it in the CRM in batches within the "
        "CRM's rate limit, usually within seconds; `GET /v1/leads/{registration_id}` tells its CRM id."
    ),
    status_code=202,
    response_model=LeadAccepted,
    responses=RESPONSES,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/LeadSubmission"}}},
        }
    },
)
async def submit_lead(
    request: Request,
    ctx: Context,
    bearer_key: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    header_key: Annotated[str | None, Depends(api_key_header)],
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="Any string of 1 to 200 characters that identifies this lead in the partner's "
            "system; a retry with the same key returns the lead created the first time.",
            json_schema_extra={"minLength": 1, "maxLength": 200},
        ),
    ] = None,
) -> JSONResponse:
    intake = ctx.intake
    if intake is None:
        return _answer(ctx, "not_found", 404, problem_body("not_found", "the intake API is not enabled"))
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json":
        body = problem_body("unsupported_media_type", "send the lead as Content-Type: application/json")
        return _answer(ctx, "unsupported_media_type", 415, body)
    raw = await request.body()
    try:
        payload = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        body = problem_body("invalid_request", f"the body is not valid UTF-8 JSON: {exc}")
        return _answer(ctx, "invalid", 400, body)
    api_key = bearer_key.credentials if bearer_key is not None else header_key
    client = request.client.host if request.client is not None else None
    answer = await run_in_threadpool(intake.submit, api_key or None, payload, idempotency_key, client)
    headers = {"Retry-After": str(answer.retry_after)} if answer.retry_after else {}
    if answer.kind == "accepted":
        headers["Location"] = str(answer.body.get("status_url", ""))
        writer = ctx.services.get("intake_writer")
        if writer is not None:
            writer.wake()  # the writer drains soon
    return _answer(ctx, answer.kind, STATUS[answer.kind], answer.body, headers or None)


@router.get(
    "/v1/leads/{registration_id}",
    operation_id="getLead",
    summary="What became of a lead registration",
    description=(
        "The partner's own registration (another partner's id answers 404): queued while the intake "
        "writer creates it in the CRM, created with the CRM's lead id, or failed with the CRM's reason."
    ),
    response_model=LeadAccepted,
    responses={
        401: _problem("No API key, or the key is unknown or revoked."),
        404: _problem("No such registration of this partner."),
        429: _problem("Too many failed API key attempts from this address or for this key id.", retry=True),
        503: _problem("The state store is temporarily unavailable.", retry=True),
    },
)
async def lead_status(
    registration_id: str,
    request: Request,
    ctx: Context,
    bearer_key: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    header_key: Annotated[str | None, Depends(api_key_header)],
) -> JSONResponse:
    intake = ctx.intake
    status = getattr(intake, "status", None)
    if status is None:
        return _answer(ctx, "not_found", 404, problem_body("not_found", "the intake API is not enabled"))
    api_key = bearer_key.credentials if bearer_key is not None else header_key
    client = request.client.host if request.client is not None else None
    answer = await run_in_threadpool(status, api_key or None, registration_id, client)
    headers = {"Retry-After": str(answer.retry_after)} if answer.retry_after else None
    return JSONResponse(answer.body, status_code=STATUS[answer.kind], headers=headers)


def _answer(
    ctx: Context, outcome: str, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> JSONResponse:
    ctx.metrics.intake_answered(outcome)
    return JSONResponse(body, status_code=status, headers=headers)


def lead_submission_schema() -> dict[str, Any]:
    """The JSON schema of a lead body, as published under components/schemas/LeadSubmission."""
    return LeadSubmission.model_json_schema(ref_template="#/components/schemas/{model}")
