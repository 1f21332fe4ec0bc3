"""Pytest fixtures that run an emulated CRM on a free local port (registered in tests/conftest.py).

* ``make_sandbox(kind, **opts)`` — a factory: ``make_sandbox("bitrix24", seed={...})`` returns a started
  ``crm_bridge.sandbox.server.Sandbox``; every sandbox it made is stopped at teardown. Defaults for
  tests: zero latency and the CRM's rate limits off; any ``Sandbox`` keyword overrides them
  (``rate_limit=True``, ``latency_ms=…``, ``faults=FaultPlan(...)``, ``emulator_options={...}``,
  ``sleep=recorder``).
* ``bitrix24_sandbox``, ``amocrm_sandbox``, ``hubspot_sandbox`` — one started sandbox of that CRM with
  those defaults.

What a test gets from a sandbox: ``sb.base_url``; ``sb.config_snippet()`` with the ``crm:`` config
section, the ``env`` variables it references (B24_WEBHOOK_URL, AMOCRM_ACCESS_TOKEN,
HUBSPOT_ACCESS_TOKEN) and OAuth credentials; ``sb.emulator.seed(data)`` / ``sb.emulator.dump()``;
``sb.requests()`` and ``sb.counts()`` (the request log); ``sb.faults.set(FaultPlan(...))``;
``sb.advance(seconds)`` to move the CRM's clock (token expiry, rate-limit windows); ``sb.reset()``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from crm_bridge.sandbox.server import Sandbox

MakeSandbox = Callable[..., Sandbox]


@pytest.fixture
def make_sandbox() -> Iterator[MakeSandbox]:
    made: list[Sandbox] = []

    def make(kind: str, **options: Any) -> Sandbox:
        settings: dict[str, Any] = {"latency_ms": 0.0, "per_record_ms": 0.0, "rate_limit": False}
        settings.update(options)
        sandbox = Sandbox(kind, **settings)
        made.append(sandbox)
        sandbox.start()
        return sandbox

    yield make
    for sandbox in made:
        sandbox.stop()


@pytest.fixture
def bitrix24_sandbox(make_sandbox: MakeSandbox) -> Sandbox:
    return make_sandbox("bitrix24")


@pytest.fixture
def amocrm_sandbox(make_sandbox: MakeSandbox) -> Sandbox:
    return make_sandbox("amocrm")


@pytest.fixture
def hubspot_sandbox(make_sandbox: MakeSandbox) -> Sandbox:
    return make_sandbox("hubspot")
