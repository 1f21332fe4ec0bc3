"""Harness for the HubSpot emulator tests: a client that validates every answer against HubSpot's
official OpenAPI specs (/work/shared/reference/hubspot-openapi) with openapi-core, and error answers
against the specs' ``Error`` schema. Imported by the other ``test_hubspot*`` modules.

Known, deliberate difference: HubSpot returns ``null`` for a requested property that has no value,
while the specs type property values as plain strings; nulls are dropped before validation."""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from test_amocrm_support import Client, Reply

SPECS = Path("/work/shared/reference/hubspot-openapi")
TOKEN = "pat-na1-sandbox-private-app-token"
_ROUTES = [
    (re.compile(r"^/crm/v3/objects/(?:deals|deal|0-3)(/.*)?$"), "deals.v3", "/crm/v3/objects/0-3"),
    (re.compile(r"^/crm/v3/objects/(?:companies|0-2)(/.*)?$"), "companies.v3", "/crm/v3/objects/companies"),
    (re.compile(r"^/crm/v3/objects/(?:contacts|0-1)(/.*)?$"), "contacts.v3", "/crm/v3/objects/contacts"),
    (re.compile(r"^/crm/v3/objects/(?:tasks|0-27)(/.*)?$"), "tasks.v3", "/crm/v3/objects/tasks"),
    (re.compile(r"^/crm/v3/pipelines(/.*)?$"), "pipelines.v3", "/crm/v3/pipelines"),
    (re.compile(r"^/crm/v3/properties(/.*)?$"), "properties.v3", "/crm/v3/properties"),
    (re.compile(r"^/crm/v3/owners(/.*)?$"), "owners.v3", "/crm/v3/owners"),
    (re.compile(r"^/crm/v4(/.*)?$"), "associations.v4", "/crm/v4"),
    (re.compile(r"^/webhooks/v3(/.*)?$"), "webhooks.2026-09", "/app-webhooks/2026-09"),
]


@cache
def spec(name: str) -> OpenAPI:
    return OpenAPI.from_file_path(str(SPECS / f"{name}.json"))


@cache
def raw_spec(name: str) -> dict[str, Any]:
    return json.loads((SPECS / f"{name}.json").read_text())


def error_schema_errors(name: str, body: Any) -> list[str]:
    """Messages for every way ``body`` breaks the spec's ``Error`` schema."""
    schema = {"$ref": "#/components/schemas/Error", "components": raw_spec(name)["components"]}
    return [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(body)]


def _drop_null_properties(body: Any) -> Any:
    if isinstance(body, dict):
        return {
            k: ({p: v for p, v in val.items() if v is not None} if k == "properties" and isinstance(val, dict)
                else _drop_null_properties(val))
            for k, val in body.items()
        }  # fmt: skip
    if isinstance(body, list):
        return [_drop_null_properties(item) for item in body]
    return body


def spec_problems(method: str, path: str, query: dict[str, str], sent: bytes, reply: Reply) -> list[str]:
    """Why ``reply`` does not match the OpenAPI operation it answers ([] when it does)."""
    for pattern, name, prefix in _ROUTES:
        match = pattern.match(path)
        if not match:
            continue
        spec_path = prefix + (match.group(1) or "")
        if reply.status >= 400:
            return error_schema_errors(name, reply.body)
        if reply.status == 204:
            operation = raw_spec(name)["paths"].get(_template(name, spec_path), {}).get(method.lower(), {})
            declared = "204" in operation.get("responses", {})
            return (
                [] if reply.body is None and declared else [f"204 not declared for {spec_path} or body sent"]
            )
        data = (
            json.dumps(_drop_null_properties(copy.deepcopy(reply.body))).encode()
            if reply.body is not None
            else b""
        )
        request = MockRequest("https://api.hubapi.com", method.lower(), spec_path, args=query, data=sent)
        response = MockResponse(data, status_code=reply.status, headers=reply.headers)
        return [
            f"{e}: {getattr(e, '__cause__', '')}" for e in spec(name).iter_response_errors(request, response)
        ]
    return [f"no spec covers {path}"]


def _template(name: str, path: str) -> str:
    """The spec's path template that ``path`` instantiates (``/x/{id}`` for ``/x/42``)."""
    for template in raw_spec(name)["paths"]:
        pattern = "^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path):
            return template
    return path


class SpecClient(Client):
    """A Client whose every answer must satisfy HubSpot's OpenAPI description of that endpoint."""

    def request(self, method: str, path: str, **kw: Any) -> Reply:
        reply = super().request(method, path, **kw)
        if path.startswith(("/crm/", "/webhooks/")):
            params = kw.get("params") or {}
            query = dict(params) if isinstance(params, dict) else {k: v for k, v in params}
            sent = json.dumps(kw["json_body"]).encode() if kw.get("json_body") is not None else b""
            problems = spec_problems(method, path, query, sent, reply)
            assert not problems, f"{method} {path} -> {reply.status} breaks the spec: {problems}"
        return reply


def test_the_spec_check_rejects_an_answer_missing_a_required_field() -> None:
    reply = Reply(200, {"results": [{"id": "1", "properties": {}, "archived": False}]}, {})

    problems = spec_problems("GET", "/crm/v3/objects/companies", {}, b"", reply)

    assert problems and "createdAt" in " ".join(problems)


def test_the_error_check_rejects_a_body_without_correlation_id() -> None:
    assert error_schema_errors("deals.v3", {"message": "x", "category": "VALIDATION_ERROR"})
    assert not error_schema_errors(
        "deals.v3",
        {
            "message": "x",
            "category": "VALIDATION_ERROR",
            "correlationId": "aeb5f871-7f07-4993-9211-075dc63e7cbf",
        },
    )
