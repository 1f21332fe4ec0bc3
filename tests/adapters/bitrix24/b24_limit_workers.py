"""Run in child processes by the shared-limits tests (importable by name under ``spawn``): one
Bitrix24 adapter on the state store at ``url``, its webhook answered by ``responses``."""

from __future__ import annotations

from typing import Any

import responses
from b24_support import MemoryKV, Sleeps
from b24_wire_support import HOOK, TIME

from crm_bridge.ports import AdapterContext
from crm_bridge.store import open_store
from crm_bridge_bitrix24 import build_adapter
from crm_bridge_bitrix24.config import Bitrix24Config
from crm_bridge_bitrix24.plugin import limiter_key

NOW = 1724916859.0
USER = {"ID": "1", "ACTIVE": True, "NAME": "Vadim", "LAST_NAME": "V", "USER_TYPE": "employee"}


def list_users(url: str, calls: int, duration: float) -> dict[str, Any]:
    """``calls`` x ``list_users`` whose answers report ``duration`` seconds of server time each;
    returns the waits the adapter slept and the requests it sent."""
    store = open_store(url)
    sleeps = Sleeps()
    try:
        with responses.RequestsMock() as mock:
            mock.post(
                HOOK + "user.get", json={"result": [USER], "total": 1, "time": {**TIME, "duration": duration}}
            )
            config = Bitrix24Config(webhook_url=HOOK)
            ctx = AdapterContext(
                kv=MemoryKV(), bucket=store.bucket, ledger=store.ledger, clock=lambda: NOW, sleep=sleeps
            )
            adapter = build_adapter(config, ctx, portal=limiter_key(config))
            for _ in range(calls):
                adapter.list_users()
            adapter.close()
            return {"waits": sleeps.waits, "requests": len(mock.calls)}
    finally:
        store.close()
