"""Fixtures for the Bitrix24 adapter tests: a Bitrix24 sandbox on a local port, an adapter pointed at
it with an in-memory state namespace and recorded sleeps, and a provisioned partner layout. Helpers the
tests import live in ``b24_support`` (a unique module name: other test packages have a conftest too)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from b24_support import MemoryKV, Sleeps, make_adapter, provision, webhook_config

from crm_bridge.sandbox.server import Sandbox
from crm_bridge_bitrix24 import Bitrix24Adapter


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox("bitrix24") as sb:
        yield sb


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def kv() -> MemoryKV:
    return MemoryKV()


@pytest.fixture
def adapter(sandbox: Sandbox, kv: MemoryKV, sleeps: Sleeps) -> Iterator[Bitrix24Adapter]:
    made = make_adapter(webhook_config(sandbox), kv, sleeps)
    yield made
    made.close()


@pytest.fixture
def provisioned(adapter: Bitrix24Adapter, sandbox: Sandbox) -> Bitrix24Adapter:
    """The adapter after provisioning the partner layout, with the request log cleared."""
    provision(adapter)
    sandbox.log.clear()
    return adapter
