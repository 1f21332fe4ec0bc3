"""Fixtures for the amoCRM adapter tests: an amoCRM sandbox on a local port, an adapter pointed at it
with an in-memory state namespace, and a provisioned partner layout. Helpers live in ``amo_support``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from amo_support import MemoryKV, Sleeps, make_adapter, provision, token_config

from crm_bridge.sandbox.server import Sandbox
from crm_bridge_amocrm import AmoCrmAdapter


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox("amocrm") as sb:
        yield sb


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def kv() -> MemoryKV:
    return MemoryKV()


@pytest.fixture
def adapter(sandbox: Sandbox, kv: MemoryKV, sleeps: Sleeps) -> Iterator[AmoCrmAdapter]:
    made = make_adapter(token_config(sandbox), kv, sleeps)
    yield made
    made.close()


@pytest.fixture
def provisioned(adapter: AmoCrmAdapter, sandbox: Sandbox) -> AmoCrmAdapter:
    provision(adapter)
    sandbox.log.clear()
    return adapter
