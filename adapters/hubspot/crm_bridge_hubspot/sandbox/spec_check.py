"""Checking requests against HubSpot's official OpenAPI specs (the emulator's ``spec_dir`` option).

Tests start the emulator with ``spec_dir`` pointing at the specs (``companies.v3.json``, …); every
request to a CRM path is then validated with openapi-core (a dev dependency, imported only here) and
one that breaks its operation — unknown path or method, a missing required field, a wrong type — is
answered 400 and recorded in ``violations``, so the test that sent it fails. Object types named in a
path (``deals``, ``0-3``) are resolved to the spec that describes them."""

from __future__ import annotations

import re
import warnings
from functools import cache
from pathlib import Path
from typing import Any

from crm_bridge.sandbox.core import SandboxRequest, SandboxResponse

_OBJECTS = {
    "deals": ("deals.v3", "0-3"),
    "deal": ("deals.v3", "0-3"),
    "0-3": ("deals.v3", "0-3"),
    "companies": ("companies.v3", "companies"),
    "company": ("companies.v3", "companies"),
    "0-2": ("companies.v3", "companies"),
    "contacts": ("contacts.v3", "contacts"),
    "contact": ("contacts.v3", "contacts"),
    "0-1": ("contacts.v3", "contacts"),
    "tasks": ("tasks.v3", "tasks"),
    "task": ("tasks.v3", "tasks"),
    "0-27": ("tasks.v3", "tasks"),
}
_OBJECT_PATH = re.compile(r"^/crm/v3/objects/([^/]+)(/.*)?$")
# HubSpot's guide and SDK spell the association-label endpoints /crm/v4/associations/{from}/{to}/labels;
# the official spec /crm/associations/v4/…: the same operations, checked against that spec
_LABELS_PATH = re.compile(r"^/crm/v4/associations/([^/]+)/([^/]+)/labels(/.*)?$")
_PREFIXES = [
    ("/crm/v3/pipelines", "pipelines.v3"),
    ("/crm/v3/properties", "properties.v3"),
    ("/crm/v3/owners", "owners.v3"),
    ("/crm/v4/", "associations.v4"),
    ("/crm/associations/v4/", "associations-schema.v4"),
    ("/app-webhooks/2026-09/", "webhooks.2026-09"),
    ("/account-info/v3/", "account-info.v3"),
]


# Two official specs the adapter needs are not in the shared spec folder: HubSpot's account-info spec
# (PublicApiSpecs/Account/Account Info/Rollouts/144923/v3/accountInfo.json) and its associations-schema
# v4 spec (PublicApiSpecs/CRM/Associations Schema/Rollouts/130902/v4/associationsSchema.json), both in
# HubSpot/HubSpot-public-api-spec-collection. Copies of public repositories are not committed here, so
# until they are put in the spec folder (as account-info.v3.json / associations-schema.v4.json, which
# openapi-core then checks like every other), the operations the adapter uses are checked by hand as
# those specs describe them: the method and path, no query, and the required body fields with their types.
_LABELS = r"/crm/associations/v4/[^/]+/[^/]+/labels"
_BY_HAND: dict[str, dict[tuple[str, str], dict[str, type]]] = {
    "account-info.v3": {("get", r"/account-info/v3/details"): {}},
    "associations-schema.v4": {  # PublicAssociationDefinition{Create,Update}Request
        ("get", _LABELS): {},
        ("post", _LABELS): {"label": str, "name": str},
        ("put", _LABELS): {"associationTypeId": int, "label": str},
        ("delete", _LABELS + r"/\d+"): {},
    },
}


def _have(directory: str, name: str) -> bool:
    return (Path(directory) / f"{name}.json").exists()


def _by_hand(name: str, method: str, path: str, request: SandboxRequest) -> list[str]:
    """Problems of a request to an operation of spec ``name`` checked by hand (see ``_BY_HAND``)."""
    import json

    required = next(
        (fields for (m, rx), fields in _BY_HAND[name].items() if m == method and re.fullmatch(rx, path)),
        None,
    )
    if required is None:
        return [f"HubSpot's {name} spec has no {method.upper()} {path}"]
    if request.query:
        return [f"{method.upper()} {path} takes no query parameters"]
    if not required:
        return [f"{method.upper()} {path} takes no body"] if request.body.strip() else []
    try:
        body = json.loads(request.body or "null")
    except ValueError:
        return [f"{method.upper()} {path}: the body is not JSON"]
    if not isinstance(body, dict):
        return [f"{method.upper()} {path}: the body must be a JSON object"]
    return [
        f"{method.upper()} {path}: {field} is required and must be {kind.__name__}"
        for field, kind in required.items()
        if not isinstance(body.get(field), kind) or isinstance(body.get(field), bool)
    ]


@cache
def _spec(directory: str, name: str) -> Any:
    from openapi_core import OpenAPI

    return OpenAPI.from_file_path(str(Path(directory) / f"{name}.json"))


def spec_for(path: str) -> tuple[str, str] | None:
    """(spec name, the path as that spec spells it) for a CRM request path, or None."""
    labels = _LABELS_PATH.match(path)
    if labels:
        rest = labels.group(3) or ""
        return (
            "associations-schema.v4",
            f"/crm/associations/v4/{labels.group(1)}/{labels.group(2)}/labels{rest}",
        )
    match = _OBJECT_PATH.match(path)
    if match:
        found = _OBJECTS.get(match.group(1).lower())
        if found is None:
            return None
        name, spelled = found
        return name, f"/crm/v3/objects/{spelled}{match.group(2) or ''}"
    for prefix, name in _PREFIXES:
        if path.startswith(prefix):
            return name, path
    return None


def request_problems(directory: str, request: SandboxRequest) -> list[str]:
    """Why ``request`` is outside HubSpot's specs ([] when it conforms)."""
    from openapi_core.testing import MockRequest

    path = request.path.rstrip("/") or "/"
    found = spec_for(path)
    if found is None:
        return [f"no HubSpot spec describes {request.method} {path}"]
    name, spelled = found
    if name in _BY_HAND and not _have(directory, name):
        return _by_hand(name, request.method.lower(), spelled, request)
    args = {k: v[0] if len(v) == 1 else v for k, v in request.query.items()}
    headers = {k: v for k, v in request.headers.items() if k in ("authorization", "content-type")}
    mock = MockRequest(
        "https://api.hubapi.com",
        request.method.lower(),
        spelled,
        args=args,
        headers=headers,
        data=request.body or None,
        content_type=request.content_type or "application/json",
    )
    problems = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # openapi-core knows no "private_apps" scheme type
        errors = list(_spec(directory, name).iter_request_errors(mock))
    for error in errors:
        cause = getattr(error, "__cause__", None)
        details = getattr(cause, "schema_errors", None) or ([cause] if cause else [])
        problems.append(f"{error}" + "".join(f"; {getattr(d, 'message', d)}" for d in details))
    return problems


def refuse_outside_spec(
    directory: str, request: SandboxRequest, violations: list[str]
) -> SandboxResponse | None:
    """The 400 HubSpot would answer a request outside its spec (recorded in ``violations``), or None."""
    from crm_bridge_hubspot.sandbox.wire import error

    problems = request_problems(directory, request)
    if not problems:
        return None
    line = f"{request.method} {request.path}: {'; '.join(problems)}"
    violations.append(line)
    return error(400, "VALIDATION_ERROR", f"The request is outside HubSpot's OpenAPI spec: {line}")
