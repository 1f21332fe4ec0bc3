"""What an operator reads when Bitrix24 refuses: the error kind and the exact text for every code of
the error table (the hint stands in when the portal gives no description), the fallbacks by HTTP
status and by description, and what the error carries (status, code, config key, retry hint)."""

from __future__ import annotations

import pytest

from crm_bridge.errors import (
    AuthError,
    CrmFatalError,
    CrmValidationError,
    NotFound,
    PermissionDenied,
    RateLimited,
    TransientError,
)
from crm_bridge_bitrix24.failures import to_error

# (code, kind, hint shown when the portal's description is empty)
TABLE = [
    ("NO_AUTH_FOUND", AuthError, "wrong or revoked webhook code / access token"),
    ("expired_token", AuthError, "the access token expired and could not be refreshed"),
    ("invalid_token", AuthError, "the access token is not valid"),
    ("invalid_grant", AuthError, "the refresh token is expired or revoked: authorize the app again"),
    ("invalid_client", AuthError, "wrong client id/secret, or the app is not installed on this portal"),
    ("invalid_request", AuthError, "the authorization request is malformed"),
    ("PAYMENT_REQUIRED", AuthError, "the application's paid period has expired"),
    ("insufficient_scope", PermissionDenied, "the webhook / application lacks a scope"),
    ("invalid_scope", PermissionDenied, "the application lacks a scope"),
    ("INVALID_CREDENTIALS", PermissionDenied, "the webhook's user lacks the permission"),
    ("ACCESS_DENIED", PermissionDenied, "access denied (REST needs a commercial plan, or CRM rights)"),
    ("user_access_error", PermissionDenied, "the admin limited the application to other users"),
    ("WRONG_AUTH_TYPE", PermissionDenied, "this method is not allowed with this authorization"),
    ("INVALID_REQUEST", CrmValidationError, "the portal requires HTTPS"),
    ("QUERY_LIMIT_EXCEEDED", RateLimited, "request rate limit exceeded"),
    ("OPERATION_TIME_LIMIT", RateLimited, "the method's operating-time budget is used up"),
    ("OVERLOAD_LIMIT", CrmFatalError, "REST API blocked by Bitrix24 support (manual block)"),
    ("INTERNAL_SERVER_ERROR", TransientError, "Bitrix24 internal server error"),
    ("ERROR_UNEXPECTED_ANSWER", TransientError, "Bitrix24 returned an unexpected answer"),
    ("PORTAL_DELETED", NotFound, "the portal is deleted or closed"),
    ("ERROR_METHOD_NOT_FOUND", NotFound, "the REST method does not exist on this portal"),
    ("NOT_FOUND", NotFound, "not found"),
    ("ERROR_NOT_FOUND", NotFound, "not found"),
    ("ERROR_BATCH_LENGTH_EXCEEDED", CrmValidationError, "more than 50 commands in one batch"),
    ("ERROR_BATCH_METHOD_NOT_ALLOWED", CrmValidationError, "method not allowed inside batch"),
    ("ERROR_CORE", CrmValidationError, "rejected by Bitrix24"),
    ("ERROR_ARGUMENT", CrmValidationError, "bad argument"),
    ("ENTITY_TYPE_NOT_SUPPORTED", CrmValidationError, "entity type does not support funnels"),
    ("USER_ID_EMPTY", CrmValidationError, "notification without a user"),
    ("MESSAGE_EMPTY", CrmValidationError, "notification without text"),
]


@pytest.mark.parametrize(("code", "kind", "hint"), TABLE, ids=[row[0] for row in TABLE])
def test_every_code_without_a_description_is_shown_with_its_hint(code: str, kind: type, hint: str) -> None:
    # status 418 is in no fallback: only the code can pick the rule
    error = to_error(code, "  ", status=418)
    assert type(error) is kind
    assert str(error) == f"Bitrix24: {hint} [{code}]"
    assert (error.crm, error.code, error.status, error.entity) == ("bitrix24", code, 418, "")


def test_a_code_in_other_case_is_read_as_the_documented_one() -> None:
    error = to_error("query_limit_exceeded", "", status=418)
    assert type(error) is RateLimited
    assert str(error) == "Bitrix24: request rate limit exceeded [query_limit_exceeded]"


@pytest.mark.parametrize(
    ("status", "kind", "hint"),
    [
        (401, AuthError, "authorization failed"),
        (403, PermissionDenied, "forbidden"),
        (404, NotFound, "not found"),
        (429, RateLimited, "too many requests"),
        (503, RateLimited, "service unavailable / rate limited"),
        (500, TransientError, "Bitrix24 internal server error"),
        (502, TransientError, "Bitrix24 internal server error"),
        (499, CrmValidationError, "rejected by Bitrix24"),
        (None, CrmValidationError, "rejected by Bitrix24"),
    ],
)
def test_an_unknown_code_falls_back_on_the_http_status(status: int | None, kind: type, hint: str) -> None:
    error = to_error("SOMETHING_NEW", "", status=status)
    assert type(error) is kind
    assert str(error) == f"Bitrix24: {hint} [SOMETHING_NEW]"


@pytest.mark.parametrize(
    ("description", "kind"),
    [
        ("Access denied for this user", PermissionDenied),
        ("ACCESS DENIED", PermissionDenied),
        ("Deal is Not Found", NotFound),
        ("Invalid identifier 7", NotFound),
        ("Required field TITLE is empty", RateLimited),  # nothing in the text: the status decides
    ],
)
def test_an_empty_code_is_judged_by_its_description(description: str, kind: type) -> None:
    # the description wins over the status: a 503 "not found" is not retried
    error = to_error("", description, status=503)
    assert type(error) is kind
    assert str(error) == f"Bitrix24: {description}"


def test_a_description_is_shown_trimmed_with_its_line_breaks_as_spaces() -> None:
    error = to_error("ERROR_CORE", " Field TITLE<br>is required<br> ", status=400, entity="deal")
    assert str(error) == "Bitrix24 deal: Field TITLE is required [ERROR_CORE]"
    assert error.entity == "deal"


def test_a_rate_limit_carries_the_retry_hint_and_no_config_key() -> None:
    error = to_error(
        "QUERY_LIMIT_EXCEEDED", "Too many requests", status=503, config_key="crm.x", retry_after=0.5
    )
    assert isinstance(error, RateLimited)
    assert error.retry_after == 0.5
    assert str(error) == "Bitrix24: Too many requests [QUERY_LIMIT_EXCEEDED]"
    assert error.status == 503 and error.code == "QUERY_LIMIT_EXCEEDED"


def test_a_transient_error_carries_the_retry_hint() -> None:
    error = to_error("INTERNAL_SERVER_ERROR", "", status=500, retry_after=3.0)
    assert isinstance(error, TransientError) and error.retry_after == 3.0


@pytest.mark.parametrize("code", ["NO_AUTH_FOUND", "insufficient_scope"])
def test_a_credentials_problem_names_the_key_to_fix(code: str) -> None:
    error = to_error(code, "Nope", status=401, config_key="crm.bitrix24.webhook_url")
    assert str(error) == f"Bitrix24: Nope [{code}]; check crm.bitrix24.webhook_url"
    assert error.config_key == "crm.bitrix24.webhook_url"
    bare = to_error(code, "Nope", status=401)
    assert str(bare) == f"Bitrix24: Nope [{code}]" and bare.config_key == ""


def test_a_validation_error_never_names_a_config_key() -> None:
    error = to_error("ERROR_CORE", "Bad", status=400, config_key="crm.bitrix24.webhook_url")
    assert str(error) == "Bitrix24: Bad [ERROR_CORE]"
    assert error.config_key == ""
