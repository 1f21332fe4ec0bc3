"""Harness for the amoCRM and HubSpot emulator tests: a client speaking to an emulator's ``handle()``
(the same surface the sandbox HTTP server calls), a manual clock and the documented payload files.
Imported by the other ``test_amocrm*``/``test_hubspot*`` modules; it holds no tests of its own."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

from crm_bridge.sandbox.core import SandboxRequest

DATA = Path(__file__).parent / "data"


def doc(name: str) -> dict[str, Any]:
    """A payload file from tests/sandbox/data (its ``_source`` says where it comes from)."""
    return json.loads((DATA / name).read_text(encoding="utf-8"))


class ManualClock:
    """Unix time that only moves when a test says so."""

    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00:00Z
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


@dataclass
class Client:
    """Calls ``emulator.handle`` the way the sandbox server would after parsing an HTTP request."""

    emulator: Any
    token: str | None = None
    host: str = "sandbox.test"

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        form: dict[str, str] | None = None,
        params: list[tuple[str, str]] | dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        sent = {"host": self.host}
        body = b""
        if json_body is not None:
            body = json.dumps(json_body).encode()
            sent["content-type"] = "application/json"
        elif form is not None:
            body = urlencode(form).encode()
            sent["content-type"] = "application/x-www-form-urlencoded"
        if self.token:
            sent["authorization"] = f"Bearer {self.token}"
        sent.update({k.lower(): v for k, v in (headers or {}).items()})
        query = parse_qs(urlencode(params or {}), keep_blank_values=True)
        answer = self.emulator.handle(SandboxRequest(method, path, query, sent, body))
        payload = answer.body
        if isinstance(payload, bytes):
            payload = payload.decode()
        return Reply(answer.status, payload, dict(answer.headers))

    def get(self, path: str, **kw: Any) -> Reply:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.request("POST", path, json_body=body, **kw)

    def patch(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.request("PATCH", path, json_body=body, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.request("PUT", path, json_body=body, **kw)

    def delete(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.request("DELETE", path, json_body=body, **kw)


def without_source(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k != "_source"}
