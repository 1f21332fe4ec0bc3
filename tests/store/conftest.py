"""Store fixtures: every test runs on a fresh SQLite file, and again on PostgreSQL (a fresh schema per
test) when CRM_BRIDGE_TEST_PG_URL is set."""

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
