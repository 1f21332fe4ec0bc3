"""The one table that turns Bitrix24 error answers into crm-bridge errors.

Sources: _includes/system-errors.md (any method), batch.md, limits.md (QUERY_LIMIT_EXCEEDED,
OPERATION_TIME_LIMIT), settings/oauth/error-codes.md (authorization server) and the per-method pages
(crm.status.add, crm.company.userfield.add, tasks.task.add, im.notify.system.add). Many CRM validation
failures carry an empty ``error`` and the text only in ``error_description``.
"""

from __future__ import annotations

from dataclasses import dataclass

from crm_bridge.errors import (
    AuthError,
    CrmError,
    CrmFatalError,
    CrmValidationError,
    NotFound,
    PermissionDenied,
    RateLimited,
    TransientError,
)

CRM = "bitrix24"


@dataclass(frozen=True, slots=True)
class Rule:
    kind: type[CrmError]
    hint: str


# code -> what the caller should do. Codes are compared case-sensitively first, then upper-cased.
TABLE: dict[str, Rule] = {
    "NO_AUTH_FOUND": Rule(AuthError, "wrong or revoked webhook code / access token"),
    "expired_token": Rule(AuthError, "the access token expired and could not be refreshed"),
    "invalid_token": Rule(AuthError, "the access token is not valid"),
    "invalid_grant": Rule(AuthError, "the refresh token is expired or revoked: authorize the app again"),
    "invalid_client": Rule(AuthError, "wrong client id/secret, or the app is not installed on this portal"),
    "invalid_request": Rule(AuthError, "the authorization request is malformed"),
    "PAYMENT_REQUIRED": Rule(AuthError, "the application's paid period has expired"),
    "insufficient_scope": Rule(PermissionDenied, "the webhook / application lacks a scope"),
    "invalid_scope": Rule(PermissionDenied, "the application lacks a scope"),
    "INVALID_CREDENTIALS": Rule(PermissionDenied, "the webhook's user lacks the permission"),
    "ACCESS_DENIED": Rule(PermissionDenied, "access denied (REST needs a commercial plan, or CRM rights)"),
    "user_access_error": Rule(PermissionDenied, "the admin limited the application to other users"),
    "WRONG_AUTH_TYPE": Rule(PermissionDenied, "this method is not allowed with this authorization"),
    "INVALID_REQUEST": Rule(CrmValidationError, "the portal requires HTTPS"),
    "QUERY_LIMIT_EXCEEDED": Rule(RateLimited, "request rate limit exceeded"),
    "OPERATION_TIME_LIMIT": Rule(RateLimited, "the method's operating-time budget is used up"),
    "OVERLOAD_LIMIT": Rule(CrmFatalError, "REST API blocked by Bitrix24 support (manual block)"),
    "INTERNAL_SERVER_ERROR": Rule(TransientError, "Bitrix24 internal server error"),
    "ERROR_UNEXPECTED_ANSWER": Rule(TransientError, "Bitrix24 returned an unexpected answer"),
    "PORTAL_DELETED": Rule(NotFound, "the portal is deleted or closed"),
    "ERROR_METHOD_NOT_FOUND": Rule(NotFound, "the REST method does not exist on this portal"),
    "NOT_FOUND": Rule(NotFound, "not found"),
    "ERROR_NOT_FOUND": Rule(NotFound, "not found"),
    "ERROR_BATCH_LENGTH_EXCEEDED": Rule(CrmValidationError, "more than 50 commands in one batch"),
    "ERROR_BATCH_METHOD_NOT_ALLOWED": Rule(CrmValidationError, "method not allowed inside batch"),
    "ERROR_CORE": Rule(CrmValidationError, "rejected by Bitrix24"),
    "ERROR_ARGUMENT": Rule(CrmValidationError, "bad argument"),
    "ENTITY_TYPE_NOT_SUPPORTED": Rule(CrmValidationError, "entity type does not support funnels"),
    "USER_ID_EMPTY": Rule(CrmValidationError, "notification without a user"),
    "MESSAGE_EMPTY": Rule(CrmValidationError, "notification without text"),
}

_BY_STATUS: dict[int, Rule] = {
    401: Rule(AuthError, "authorization failed"),
    403: Rule(PermissionDenied, "forbidden"),
    404: Rule(NotFound, "not found"),
    429: Rule(RateLimited, "too many requests"),
    503: Rule(RateLimited, "service unavailable / rate limited"),
}


def rule_for(code: str, status: int | None, description: str = "") -> Rule:
    """Pick the rule for an error answer: by code, else by HTTP status, else by the description text."""
    rule = TABLE.get(code) or TABLE.get(code.upper())
    if rule:
        return rule
    text = description.lower()
    if "access denied" in text:
        return TABLE["ACCESS_DENIED"]
    if "not found" in text or "invalid identifier" in text:
        return TABLE["NOT_FOUND"]
    if status is not None:
        if status in _BY_STATUS:
            return _BY_STATUS[status]
        if status >= 500:
            return TABLE["INTERNAL_SERVER_ERROR"]
    return Rule(CrmValidationError, "rejected by Bitrix24")


def to_error(
    code: str,
    description: str,
    *,
    status: int | None,
    entity: str = "",
    config_key: str = "",
    retry_after: float | None = None,
) -> CrmError:
    """Build the crm-bridge error for one Bitrix24 error answer (never includes secrets: Bitrix24 error
    descriptions name fields and rules, not credentials)."""
    rule = rule_for(code, status, description)
    what = f"Bitrix24 {entity}: " if entity else "Bitrix24: "
    detail = description.strip().replace("<br>", " ").strip() or rule.hint
    label = f" [{code}]" if code else ""
    message = f"{what}{detail}{label}"
    kwargs = {"crm": CRM, "entity": entity, "status": status, "code": code}
    if issubclass(rule.kind, RateLimited | TransientError):
        return rule.kind(message, retry_after=retry_after, **kwargs)
    if rule.kind is AuthError or rule.kind is PermissionDenied:
        message = f"{message}; check {config_key}" if config_key else message
        return rule.kind(message, config_key=config_key, **kwargs)  # type: ignore[arg-type]
    return rule.kind(message, **kwargs)  # type: ignore[arg-type]
