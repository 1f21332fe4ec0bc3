"""HubSpot wire helpers: the error body ``{status:"error", message, correlationId, category, ...}``
(OpenAPI ``Error``), per-item ``StandardError`` for 207 multi-status answers, and query parsing."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from crm_bridge.sandbox.core import SandboxResponse
from crm_bridge_hubspot.sandbox.store import HsState

JSON = {"Content-Type": "application/json;charset=utf-8"}


class HsError(Exception):
    """Raised inside handlers; the dispatcher answers with ``response``."""

    def __init__(self, response: SandboxResponse) -> None:
        super().__init__(response.status)
        self.response = response


def error(status: int, category: str, message: str, **extra: Any) -> SandboxResponse:
    correlation = str(uuid.uuid4())
    body: dict[str, Any] = {
        "status": "error",
        "message": message,
        "correlationId": correlation,
        "category": category,
    }
    body.update({k: v for k, v in extra.items() if v is not None})
    return SandboxResponse(
        status=status, body=body, headers={**JSON, "X-HubSpot-Correlation-Id": correlation}
    )


def fail(status: int, category: str, message: str, **extra: Any) -> HsError:
    return HsError(error(status, category, message, **extra))


def not_found(object_id: str = "") -> HsError:
    context = {"id": [object_id]} if object_id else None
    return fail(404, "OBJECT_NOT_FOUND", "resource not found", context=context)


def invalid_properties(problems: list[dict[str, Any]]) -> HsError:
    """400 VALIDATION_ERROR with HubSpot's "Property values were not valid: [...]" message."""
    return fail(400, "VALIDATION_ERROR", f"Property values were not valid: {json.dumps(problems)}")


def property_problem(name: str, code: str, message: str) -> dict[str, Any]:
    return {
        "isValid": False,
        "message": message,
        "error": code,
        "name": name,
        "localizedErrorMessage": message,
    }


def standard_error(status: int, category: str, message: str, context: dict[str, list[str]]) -> dict[str, Any]:
    """One entry of a 207 answer's ``errors`` (OpenAPI ``StandardError``: status is a string)."""
    return {
        "status": "error",
        "category": category,
        "message": message,
        "context": context,
        "errors": [],
        "links": {},
    }


def ok(body: Any, status: int = 200, records: int = 0) -> SandboxResponse:
    return SandboxResponse(status=status, body=body, headers=dict(JSON), records=records)


def no_content() -> SandboxResponse:
    return SandboxResponse(status=204, body=None)


def csv_param(query: dict[str, list[str]], name: str) -> list[str] | None:
    """``properties=a,b`` or ``properties=a&properties=b`` (form style, explode)."""
    if name not in query:
        return None
    return [part.strip() for value in query[name] for part in value.split(",") if part.strip()]


def int_param(query: dict[str, list[str]], name: str, default: int) -> int:
    raw = query.get(name, [""])[0]
    if raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise fail(400, "VALIDATION_ERROR", f"Invalid value for query parameter {name}: {raw}") from exc


def bool_param(query: dict[str, list[str]], name: str) -> bool:
    return query.get(name, ["false"])[0].lower() == "true"


@dataclass
class HsCall:
    """One API call as the handlers see it."""

    state: HsState
    method: str
    query: dict[str, list[str]]
    body: Any
    now: float
    base: str
    events: list[dict[str, Any]] = field(default_factory=list)

    def emit(
        self, object_type: str, kind: str, object_id: str, prop: str | None = None, value: Any = None
    ) -> None:
        self.events.append(
            {
                "objectType": object_type,
                "kind": kind,
                "objectId": object_id,
                "propertyName": prop,
                "propertyValue": value,
            }
        )

    def json_body(self) -> dict[str, Any]:
        if not isinstance(self.body, dict):
            raise fail(400, "VALIDATION_ERROR", "Invalid input JSON: expected an object")
        return self.body
