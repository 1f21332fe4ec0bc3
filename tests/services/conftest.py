"""Fixtures the service tests share: a state store on the suite's database (SQLite, and PostgreSQL
when ``CRM_BRIDGE_TEST_PG_URL`` is set), the fake CRM with the default funnels, and one synced
partner. A test module that needs another shape defines its own fixture of the same name."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from crm_bridge.domain.funnels import default_funnels, desired_layout
from crm_bridge.domain.model import Partner
from crm_bridge.fake import FakeClock, FakeCRM
from crm_bridge.ports import Entity
from crm_bridge.services.provision import provision
from crm_bridge.services.sync.pull import sync
from crm_bridge.store import Store, open_store

PORTAL = "fake:test"


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with open_store(store_url) as s:
        yield s


@pytest.fixture
def crm(fake_clock: FakeClock) -> FakeCRM:
    fake = FakeCRM(clock=fake_clock)
    provision(fake, desired_layout(default_funnels(), "en", ["bronze"]))
    return fake


@pytest.fixture
def partner(crm: FakeCRM, store: Store, fake_clock: FakeClock) -> Partner:
    p = crm.seed_partner("ООО Альфа", curator_key="anna")
    sync(crm, store, PORTAL, now=fake_clock(), entities=[Entity.PARTNER])
    return p
