"""Pydantic models of the HTTP API: ``/openapi.json`` is generated from them. The intake's own checks
(``services.intake.fields``) decide; ``LeadSubmission`` describes the same rules for clients (a test
keeps the two in step)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

AMOUNT_PATTERN = r"^[0-9]+([.,][0-9]{1,2})?$"


EMAIL_PATTERN = r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$"
PHONE_PATTERN = r"^$|^[^0-9]*([0-9][^0-9]*){7,}$"  # any notation with at least 7 digits
TAX_ID_PATTERN = r"^$|^[0-9]{10}([0-9]{2})?$"
EXAMPLE_LEAD: dict[str, JsonValue] = {
    "customer_name": "ООО Ромашка",
    "email": "ivan@romashka.ru",
    "phone": "+7 495 123-45-67",
    "tax_id": "7707083893",
    "amount": "150000.00",
    "comment": "Needs 40 licences before March",
}


class LeadSubmission(BaseModel):
    """A partner lead (deal registration). At least one of email, phone or tax_id identifies the
    customer (it is what channel-conflict detection compares). Texts are trimmed before they are
    checked; an amount above ``intake.max_amount`` (10,000,000,000 by default) is refused with 422."""

    model_config = ConfigDict(
        extra="forbid",
        title="LeadSubmission",
        json_schema_extra={
            "anyOf": [{"required": ["email"]}, {"required": ["phone"]}, {"required": ["tax_id"]}],
            "examples": [EXAMPLE_LEAD],
        },
    )

    customer_name: Annotated[
        str, Field(min_length=1, max_length=255, description="The end customer's company or person name.")
    ]
    email: Annotated[
        str,
        Field(
            max_length=254, pattern=EMAIL_PATTERN, description="Customer e-mail; compared case-insensitively."
        ),
    ] = ""
    phone: Annotated[
        str,
        Field(
            max_length=40,
            pattern=PHONE_PATTERN,
            description="Customer phone in any usual notation (at least 7 digits); normalised to E.164.",
        ),
    ] = ""
    tax_id: Annotated[
        str,
        Field(max_length=20, pattern=TAX_ID_PATTERN, description="Customer tax id (ИНН: 10 or 12 digits)."),
    ] = ""
    amount: Annotated[
        Annotated[str, Field(pattern=AMOUNT_PATTERN)] | Annotated[float, Field(ge=0)] | None,
        Field(
            description='Expected deal amount in the CRM\'s currency, as a decimal string ("1500.50", '
            '"1500,5") or a number; at most two decimal places.'
        ),
    ] = None
    comment: Annotated[str, Field(max_length=4000)] = ""


class LeadAccepted(BaseModel):
    """A lead registration: accepted and queued (202), or what became of it (200: a repeated submission,
    or ``GET /v1/leads/{registration_id}``). The daemon's intake writer creates queued leads in the CRM
    in its largest batches, usually within seconds; ``lead_id`` is set from then on."""

    registration_id: Annotated[
        int, Field(description="The registration's id: GET /v1/leads/{registration_id} tells its state.")
    ]
    external_id: Annotated[str, Field(description="crm-bridge's idempotency key of this lead.")]
    status: Annotated[
        Literal["queued", "created", "failed"],
        Field(
            description="queued: registered, the CRM lead is being created; created: in the CRM "
            "(lead_id); failed: the CRM refused it (message says why; sending it again will not help)."
        ),
    ]
    lead_id: Annotated[str | None, Field(description="The lead's id in the CRM once created.")] = None
    conflict: Annotated[
        bool,
        Field(
            description="Another partner registered this customer first, within the protection window: "
            "the lead is created flagged for review and that partner keeps the customer."
        ),
    ]
    status_url: Annotated[str, Field(description="Where to ask for this registration's state.")]
    message: str | None = None


class FieldProblemOut(BaseModel):
    field: Annotated[str, Field(description="The field (or header) the problem concerns.")]
    message: str


ErrorCode = Literal[
    "invalid_request",
    "unauthorized",
    "too_large",
    "unsupported_media_type",
    "unavailable",
    "not_found",
    "method_not_allowed",
    "refused",
    "too_many_attempts",
    "too_many_requests",
    "internal_error",
]


class Problem(BaseModel):
    """Every error answer: a stable code, a sentence, and the fields concerned when there are any."""

    error: ErrorCode
    message: str
    problems: list[FieldProblemOut] | None = None


class JobState(BaseModel):
    runs: int = 0
    failures: int = 0
    last_success: str | None = None
    last_error: str | None = None
    last_duration_seconds: float | None = None
    running: bool = False
    held_here: bool | None = Field(
        default=None,
        description="This replica holds the job's lease (runs it); absent outside a daemon with leases.",
    )


class Health(BaseModel):
    """Liveness: the daemon runs; ``degraded`` while a critical job (sync) fails."""

    model_config = ConfigDict(extra="allow")

    status: Literal["ok", "degraded", "stopping"]
    jobs: dict[str, JobState] = Field(default_factory=dict)


class Readiness(BaseModel):
    """Readiness: each dependency (the state store, the CRM) and why it is not ready."""

    status: Literal["ready", "not_ready"]
    checks: dict[str, str] = Field(description='Dependency -> "ok" or the reason it is not ready.')


def problem_body(error: str, message: str, problems: list[dict[str, str]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"error": error, "message": message}
    if problems:
        body["problems"] = problems
    return body
