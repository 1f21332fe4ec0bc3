"""One exception tree for crm-bridge, grouped by what the caller should do with the failure.

CrmBridgeError
├── ConfigError            fix the config / command line and run again   (CLI exit 2)
│   └── SecretKeyError     CRM_BRIDGE_SECRET_KEY missing, malformed or wrong
├── CrmError               something the CRM said or did
│   ├── CrmFatalError      do not retry: AuthError, NotFound, CrmValidationError, PermissionDenied
│   └── CrmRetriableError  retry later: RateLimited, TransientError
├── DataError              one bad input record: skip it, count it, report it
└── StateError             the local state store failed or is inconsistent

Errors carry declared, non-secret fields only (crm, entity, external id, status, retry_after…).
Never put a token, webhook URL, e-mail or phone into a message: the redaction in ``crm_bridge.redaction``
is a second line of defence, not the first.
"""

from __future__ import annotations


class CrmBridgeError(Exception):
    """Base of every error crm-bridge raises on purpose."""

    exit_code: int = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(CrmBridgeError):
    """The configuration or command line is wrong. ``problems`` holds one line per problem,
    each starting with the dotted key path (``tiers.levels[2].min_revenue: must be >= 0``)."""

    exit_code = 2

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class UsageError(ConfigError):
    """A command-line argument is wrong (same exit status as a config error)."""


class SecretKeyError(ConfigError):
    """``CRM_BRIDGE_SECRET_KEY`` is missing, malformed, or cannot decrypt a secret in the state store."""


class StateError(CrmBridgeError):
    """The state store cannot be opened, migrated or written."""


class CrmError(CrmBridgeError):
    """A failure reported by (or while talking to) a CRM."""

    def __init__(
        self,
        message: str,
        *,
        crm: str = "",
        entity: str = "",
        status: int | None = None,
        code: str = "",
        external_id: str = "",
        config_key: str = "",
    ) -> None:
        super().__init__(message)
        self.crm = crm
        self.entity = entity
        self.status = status
        self.code = code
        self.external_id = external_id
        self.config_key = config_key


class CrmFatalError(CrmError):
    """Retrying will not help: the request or the credentials must change."""


class AuthError(CrmFatalError):
    """Credentials are wrong, revoked or expired beyond refresh. ``config_key`` names what to fix."""


class PermissionDenied(CrmFatalError):
    """The credentials work but lack a scope or a right the operation needs."""


class NotFound(CrmFatalError):
    """The record, funnel, stage or field does not exist in the CRM."""


class CrmValidationError(CrmFatalError):
    """The CRM rejected the payload (unknown stage, bad field value, duplicate external id…)."""


class CrmRetriableError(CrmError):
    """A temporary failure: the same request may succeed later."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class RateLimited(CrmRetriableError):
    """The CRM (or our own limiter) says: too many requests; wait ``retry_after`` seconds."""


class TransientError(CrmRetriableError):
    """A 5xx answer, a timeout or a dropped connection."""


class DataError(CrmBridgeError):
    """One input record is bad (CSV row, webhook field, CRM record we cannot map).

    ``where`` locates it for a human (``row 17``, ``field email``, ``deal 4411``)."""

    def __init__(self, message: str, *, where: str = "", reason: str = "") -> None:
        super().__init__(f"{where}: {message}" if where else message)
        self.where = where
        self.reason = reason or message


class BadInputFile(DataError):
    """A file the user handed in (a CSV to import) cannot be used at all — not UTF-8, binary, the wrong
    separator or header, a value no real row has. Nothing of it was done; exit status 2 like a config
    error, since the user fixes the file, not the system."""

    exit_code = 2


class EventRefused(CrmBridgeError):
    """An inbound CRM event request the receiver refuses: ``status`` is the HTTP answer (400 malformed,
    401 bad signature or token, 403 another account or portal, 413 too large) and ``reason`` a short
    metric label (``signature``, ``token``, ``stale``, ``account``, ``malformed``…). The message names
    the problem without echoing the request."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
