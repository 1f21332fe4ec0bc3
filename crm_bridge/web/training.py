"""LMS webhooks of course completions: ``POST /v1/training/completions`` (the generic JSON shape) and
``POST /v1/training/talentlms`` (TalentLMS's course-completion webhook), over
``services.partners.training_webhook``. Like ``POST /v1/leads`` the body is read raw (after
``BodyLimit``) and parsed by the service, so every answer keeps the one JSON error shape; the pydantic
models below only publish the bodies in ``/openapi.json``. Each request counts in
``crm_bridge_events_received{source="training"}``, each refusal in ``crm_bridge_events_rejected``.

The webhook is there when the daemon's context has the service ``training_webhook`` (``crm-bridge run``
always adds it); it refuses every request (401) while ``training.webhook_secret`` is not configured."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

from crm_bridge.services.partners.training_webhook import TrainingWebhook, answer
from crm_bridge.web.context import Context, WebContext
from crm_bridge.web.models import Problem, problem_body

SOURCE = "training"  # the events metrics' source label


class TrainingCompletion(BaseModel):
    """One course completion of a partner's person."""

    email: Annotated[str, Field(description="The person's e-mail.", examples=["anna@romashka.ru"])]
    course_id: Annotated[str, Field(description="The LMS course id.", examples=["sales-basics"])]
    completed_at: Annotated[
        str,
        Field(
            description="ISO 8601 time or date, dd.mm.yyyy, or Unix seconds; a naive value is in the "
            "company's time zone.",
            examples=["2026-11-05T14:30:00+03:00"],
        ),
    ]
    name: Annotated[str | None, Field(description="The person's name.", examples=["Анна Петрова"])] = None
    partner_id: Annotated[
        str | None,
        Field(
            description="The partner company's CRM id; default: by the e-mail domain "
            "(training.partner_domains).",
            examples=["1042"],
        ),
    ] = None
    course_name: Annotated[str | None, Field(examples=["Основы продаж"])] = None
    certified: Annotated[
        bool | None,
        Field(
            description="Default: the course is in training.certifying_courses (every course when that "
            "list is empty)."
        ),
    ] = None


class TrainingCompletions(BaseModel):
    """Several completions in one request."""

    model_config = ConfigDict(extra="forbid")

    completions: Annotated[list[TrainingCompletion], Field(min_length=1)]


class TalentLmsUser(BaseModel):
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    custom_fields: dict[str, Any] | None = Field(
        default=None, description="``partner_id`` here names the partner company's CRM id."
    )


class TalentLmsCourse(BaseModel):
    id: str | int | None = None
    name: str | None = None


class TalentLmsData(BaseModel):
    user: TalentLmsUser | None = None
    course: TalentLmsCourse | None = None
    completed_at: str | None = None


class TalentLmsEvent(BaseModel):
    """TalentLMS's webhook body (our reading of its documentation; other events are acknowledged and
    ignored)."""

    event: Annotated[str, Field(examples=["user_completed_course"])]
    data: TalentLmsData
    timestamp: str | None = None


class TrainingRecorded(BaseModel):
    """What was recorded: ``new`` completions were not known before (a repeat is acknowledged, not
    counted twice); ``ignored`` says why nothing was recorded (an event that is not a completion)."""

    received: int
    new: int
    ignored: str | None = None


def component_schemas() -> dict[str, Any]:
    """The request bodies' JSON schemas, published under components/schemas."""
    _, top = models_json_schema(
        [(m, "validation") for m in (TrainingCompletion, TrainingCompletions, TalentLmsEvent)],
        ref_template="#/components/schemas/{model}",
    )
    schemas: dict[str, Any] = top.get("$defs", {})
    return schemas


def _problem(description: str) -> dict[str, Any]:
    return {"model": Problem, "description": description}


RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _problem("The body is not JSON (or not UTF-8), or not a JSON object."),
    401: _problem("The webhook secret is missing or wrong, or training.webhook_secret is not configured."),
    404: _problem("The training webhook is not enabled on this server."),
    413: _problem("The body is larger than intake.max_body_kb (256 KiB by default)."),
    415: _problem("The body is not application/json."),
    422: _problem(
        "A completion is not valid (the field is named: not an e-mail, no course, no partner for the "
        "e-mail's domain, a time that cannot be read) or names a partner crm-bridge does not know; "
        "nothing was recorded."
    ),
}

secret_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="trainingSecret",
    description="Authorization: Bearer <training.webhook_secret>",
)
Token = Annotated[
    str | None,
    Query(description="training.webhook_secret, for an LMS that lets the admin type the URL only."),
]

router = APIRouter(tags=["training"])


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


@router.post(
    "/v1/training/completions",
    operation_id="recordTrainingCompletions",
    summary="Record course completions (the generic LMS webhook)",
    description=(
        "An LMS tells crm-bridge that a partner's person completed a course: one completion, or "
        '`{"completions": [...]}`. Each is recorded once per partner, person (e-mail) and course and '
        "counts in tier thresholds (min_certified_people), individual plans (certified_people) and "
        "points (per_certification); the lifecycle job pushes it to the partner card. The request "
        "carries training.webhook_secret as a Bearer token or the `token` query parameter. A body with "
        "one bad completion records nothing."
    ),
    response_model=TrainingRecorded,
    response_model_exclude_none=True,
    responses=RESPONSES,
    openapi_extra=_body({"anyOf": [_ref("TrainingCompletion"), _ref("TrainingCompletions")]}),
)
async def record_completions(
    request: Request,
    ctx: Context,
    bearer_secret: Annotated[HTTPAuthorizationCredentials | None, Depends(secret_bearer)],
    token: Token = None,
) -> JSONResponse:
    return await _receive(request, ctx, "generic", bearer_secret, token)


@router.post(
    "/v1/training/talentlms",
    operation_id="talentlmsWebhook",
    summary="TalentLMS's course-completion webhook",
    description=(
        "TalentLMS posts its webhook here (give the URL with `?token=<training.webhook_secret>`). A "
        "course completion is recorded like the generic webhook's; other events are acknowledged "
        "(200, `ignored` says why) and recorded nowhere."
    ),
    response_model=TrainingRecorded,
    response_model_exclude_none=True,
    responses=RESPONSES,
    openapi_extra=_body(_ref("TalentLmsEvent")),
)
async def talentlms_webhook(
    request: Request,
    ctx: Context,
    bearer_secret: Annotated[HTTPAuthorizationCredentials | None, Depends(secret_bearer)],
    token: Token = None,
) -> JSONResponse:
    return await _receive(request, ctx, "talentlms", bearer_secret, token)


async def _receive(
    request: Request,
    ctx: WebContext,
    source: str,
    bearer_secret: HTTPAuthorizationCredentials | None,
    token: str | None,
) -> JSONResponse:
    hook: TrainingWebhook | None = ctx.services.get("training_webhook")
    if hook is None:
        return _answer(ctx, 404, problem_body("not_found", "the training webhook is not enabled"))
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json":
        body = problem_body(
            "unsupported_media_type", "send the completions as Content-Type: application/json"
        )
        return _answer(ctx, 415, body)
    raw = await request.body()
    authorization = f"Bearer {bearer_secret.credentials}" if bearer_secret is not None else ""
    status, body = await run_in_threadpool(
        answer, hook, raw, source=source, authorization=authorization, token=token or ""
    )
    return _answer(ctx, status, body)


def _answer(ctx: WebContext, status: int, body: dict[str, Any]) -> JSONResponse:
    ctx.metrics.event_answered(SOURCE, "accepted" if status == 200 else str(body.get("error", status)))
    return JSONResponse(body, status_code=status)
