"""Functions run in child processes by the amoCRM tests (importable by name under ``spawn``)."""

from __future__ import annotations

from typing import Any

from crm_bridge.ports import AdapterContext
from crm_bridge.store import open_store
from crm_bridge_amocrm import build_adapter
from crm_bridge_amocrm.config import AmoCrmConfig

NAMESPACE = "adapter:amocrm-test"


_start: Any = None  # the pool's barrier (set by start_together in each worker process)


def start_together(barrier: Any) -> None:
    """The pool's initializer: the barrier every call of list_users_with_oauth waits at."""
    global _start  # noqa: PLW0603 (one per worker process, set once by the pool)
    _start = barrier


def list_users_with_oauth(store_url: str, config: dict[str, Any]) -> tuple[int, int]:
    """Wait at the pool's barrier until every process is ready (so they go at once, however long each
    took to start), list the users through OAuth on the shared store; returns (users seen, refreshes
    this process made)."""
    store = open_store(store_url)
    try:
        ctx = AdapterContext(kv=store.kv(NAMESPACE), bucket=store.bucket, locks=store.locks)
        adapter = build_adapter(AmoCrmConfig.model_validate(config), ctx)
        _start.wait(timeout=300)
        users = adapter.list_users()
        refreshes = int(getattr(adapter.transport.token, "refreshes", 0))
        adapter.close()
        return len(users), refreshes
    finally:
        store.close()
