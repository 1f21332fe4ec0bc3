"""Harness for the Bitrix24 emulator tests: a client calling the emulator's ``handle()`` the way the
sandbox server does (webhook URL, OAuth ``auth``, JSON / form / query parameters), a manual clock, the
documented payloads from tests/sandbox/data/bitrix24 and a JSON-shape comparison. No tests here."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest

from crm_bridge.sandbox.core import SandboxRequest
from crm_bridge_bitrix24.sandbox.emulator import Bitrix24Emulator

DATA = Path(__file__).parent / "data" / "bitrix24"
SECRET = "s4ndb0xw3bh00k01"
HOOK = f"/rest/1/{SECRET}/"


def doc(name: str) -> dict[str, Any]:
    """A payload file from tests/sandbox/data/bitrix24 (its ``_source`` names the docs page)."""
    data: dict[str, Any] = json.loads((DATA / name).read_text(encoding="utf-8"))
    return data


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

    @property
    def result(self) -> Any:
        assert self.status == 200, self.body
        return self.body["result"]


@dataclass
class B24:
    """Calls ``emulator.handle`` as the server would after parsing an HTTP request."""

    emulator: Bitrix24Emulator
    prefix: str = HOOK
    host: str = "sandbox.test"

    def call(self, method: str, params: dict[str, Any] | None = None, *, how: str = "json") -> Reply:
        """``how``: "json" body, "form" (PHP brackets) body, or "query" (GET with a query string)."""
        headers = {"host": self.host}
        body, query = b"", ""
        if how == "json":
            body = json.dumps(params or {}).encode()
            headers["content-type"] = "application/json"
        elif how == "form":
            body = php_query(params or {}).encode()
            headers["content-type"] = "application/x-www-form-urlencoded"
        else:
            query = php_query(params or {})
        verb = "GET" if how == "query" else "POST"
        request = SandboxRequest(
            verb, f"{self.prefix}{method}", parse_qs(query, keep_blank_values=True), headers, body
        )
        answer = self.emulator.handle(request)
        return Reply(answer.status, answer.body)

    def ok(self, method: str, params: dict[str, Any] | None = None, **kw: Any) -> Any:
        return self.call(method, params, **kw).result

    def token(self, params: dict[str, str]) -> Reply:
        request = SandboxRequest("GET", "/oauth/token/", parse_qs(urlencode(params)), {"host": self.host})
        answer = self.emulator.handle(request)
        return Reply(answer.status, answer.body)


def php_query(params: dict[str, Any], prefix: str = "") -> str:
    """``{"fields": {"TITLE": "x"}, "select": ["ID"]}`` -> ``fields[TITLE]=x&select[0]=ID``."""
    pairs: list[tuple[str, str]] = []

    def walk(value: Any, key: str) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{key}[{k}]" if key else str(k))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, f"{key}[{i}]")
        else:
            pairs.append((key, "" if value is None else str(value)))

    walk(params, prefix)
    return urlencode(pairs)


def json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


_PORTAL_SPECIFIC = re.compile(r"^(UF_CRM_\w+|PARENT_ID_\d+)$")


def shape_differences(ours: Any, documented: Any, path: str = "$", *, extra_ok: bool = False) -> list[str]:
    """Where ``ours`` differs from a documented example in keys or JSON value types (``null`` in the
    example matches anything; portal-specific UF_CRM_*/PARENT_ID_* keys are not compared).
    ``extra_ok``: keys the example lacks are allowed (pages of one method written for different
    versions of the product disagree on the newest fields)."""
    if documented is None or ours is None:
        return []
    if json_kind(ours) != json_kind(documented):
        return [f"{path}: {json_kind(ours)} here, {json_kind(documented)} in the docs"]
    problems: list[str] = []
    if isinstance(documented, dict):
        doc_keys = {k for k in documented if not _PORTAL_SPECIFIC.match(k)}
        our_keys = {k for k in ours if not _PORTAL_SPECIFIC.match(k)}
        if doc_keys - our_keys:
            problems.append(f"{path}: missing {sorted(doc_keys - our_keys)}")
        if our_keys - doc_keys and not extra_ok:
            problems.append(f"{path}: extra {sorted(our_keys - doc_keys)}")
        for key in doc_keys & our_keys:
            problems += shape_differences(ours[key], documented[key], f"{path}.{key}", extra_ok=extra_ok)
    elif isinstance(documented, list) and documented and ours:
        problems += shape_differences(ours[0], documented[0], f"{path}[0]", extra_ok=extra_ok)
    return problems


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def portal(clock: ManualClock) -> Iterator[Bitrix24Emulator]:
    delivered: list[tuple[str, bytes, dict[str, str]]] = []
    emulator = Bitrix24Emulator(
        clock=clock, rate_limit=False, deliver=lambda u, b, h: delivered.append((u, b, h))
    )
    emulator.delivered = delivered  # type: ignore[attr-defined]
    yield emulator


@pytest.fixture
def b24(portal: Bitrix24Emulator) -> B24:
    return B24(portal)
