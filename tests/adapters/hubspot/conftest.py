"""Fixtures for the HubSpot adapter tests: a HubSpot sandbox whose emulator checks every request
against HubSpot's official OpenAPI specs (a test whose adapter sent one outside them fails at
teardown as well as on the 400 it got), an adapter pointed at it, and a provisioned layout."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hs_support import MemoryKV, Sleeps, config, make_adapter, provision, spec_sandbox, violations

from crm_bridge.sandbox.server import Sandbox
from crm_bridge_hubspot import HubSpotAdapter


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with spec_sandbox() as sb:
        yield sb
        assert not violations(sb), f"requests outside HubSpot's OpenAPI specs: {violations(sb)}"


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def kv() -> MemoryKV:
    return MemoryKV()


@pytest.fixture
def adapter(sandbox: Sandbox, kv: MemoryKV, sleeps: Sleeps) -> Iterator[HubSpotAdapter]:
    made = make_adapter(config(sandbox), kv, sleeps)
    yield made
    made.close()


@pytest.fixture
def provisioned(adapter: HubSpotAdapter, sandbox: Sandbox) -> HubSpotAdapter:
    """The adapter after provisioning the partner layout, with the request log cleared."""
    provision(adapter)
    sandbox.log.clear()
    return adapter
