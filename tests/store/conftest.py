"""Store fixtures: every test runs on a fresh SQLite file, and again on PostgreSQL (a fresh schema per
test) at CRM_BRIDGE_TEST_PG_URL — skipped locally when no server answers there, failed under CI=true
(the ``postgres_url`` fixture in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from crm_bridge.store import Store, open_store


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    try:
        yield opened
    finally:
        opened.close()
