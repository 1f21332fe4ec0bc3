"""Functions run in child processes by the amoCRM tests (importable by name under ``spawn``)."""

from __future__ import annotations

import time
from typing import Any

from crm_bridge.ports import AdapterContext
from crm_bridge.store import open_store
from crm_bridge_amocrm import build_adapter
from crm_bridge_amocrm.config import AmoCrmConfig

NAMESPACE = "adapter:amocrm-test"


def list_users_with_oauth(store_url: str, config: dict[str, Any], start_at: float) -> tuple[int, int]:
    """Wait until ``start_at`` (so both processes go at once), list the users through OAuth on the
    shared store; returns (users seen, refreshes this process made)."""
    store = open_store(store_url)
    try:
        ctx = AdapterContext(kv=store.kv(NAMESPACE), bucket=store.bucket, locks=store.locks)
        adapter = build_adapter(AmoCrmConfig.model_validate(config), ctx)
        time.sleep(max(0.0, start_at - time.time()))
        users = adapter.list_users()
        refreshes = int(getattr(adapter.transport.token, "refreshes", 0))
        adapter.close()
        return len(users), refreshes
    finally:
        store.close()
