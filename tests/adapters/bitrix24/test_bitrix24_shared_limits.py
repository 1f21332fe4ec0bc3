"""Limits shared and declared: the per-method operating-time budget is kept in the state store (an
adapter in another process, on another store connection, waits for time a first one spent on the same
method of the same portal); the adapter carries the capabilities its entry point declares."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import b24_limit_workers
import pytest
import responses
from b24_support import MemoryKV, Sleeps
from b24_wire_support import HOOK, TIME

from crm_bridge.ports import AdapterContext, capabilities_of
from crm_bridge.store import Store, open_store
from crm_bridge_bitrix24 import ADAPTER, Bitrix24Adapter, build_adapter
from crm_bridge_bitrix24.config import Bitrix24Config
from crm_bridge_bitrix24.plugin import limiter_key

NOW = 1724916859.0
USER = {"ID": "1", "ACTIVE": True, "NAME": "Vadim", "LAST_NAME": "V", "USER_TYPE": "employee"}


def _process(store: Store | None, sleeps: Sleeps) -> Bitrix24Adapter:
    config = Bitrix24Config(webhook_url=HOOK)
    ctx = AdapterContext(
        kv=MemoryKV(),
        bucket=store.bucket if store else None,
        ledger=store.ledger if store else None,
        clock=lambda: NOW,
        sleep=sleeps,
    )
    return build_adapter(config, ctx, portal=limiter_key(config))


def _answer(duration: float, operating: float = 0.0) -> dict[str, Any]:
    return {"result": [USER], "total": 1, "time": {**TIME, "duration": duration, "operating": operating}}


@responses.activate
def test_a_second_process_waits_for_the_operating_time_the_first_one_spent(tmp_path: Path) -> None:
    responses.post(HOOK + "user.get", json=_answer(300.0))
    url = f"sqlite:///{tmp_path / 'state.db'}"
    daemon_store, script_store = open_store(url), open_store(url)
    daemon_sleeps, script_sleeps = Sleeps(), Sleeps()
    try:
        daemon = _process(daemon_store, daemon_sleeps)
        daemon.list_users()
        daemon.list_users()  # 600 s of user.get within the window: over 90 % of 480 s
        script = _process(script_store, script_sleeps)
        script.list_users()
    finally:
        daemon_store.close()
        script_store.close()
    assert daemon_sleeps.waits == []
    # the script waits until the older 300 s leave the 10-minute window, then sends
    assert script_sleeps.waits == [pytest.approx(600.0)]
    assert len(responses.calls) == 3


@responses.activate
def test_the_servers_report_near_the_limit_is_shared_too(tmp_path: Path) -> None:
    responses.post(HOOK + "user.get", json=_answer(0.05, operating=470.0))
    url = f"sqlite:///{tmp_path / 'state.db'}"
    first_store, second_store = open_store(url), open_store(url)
    second_sleeps = Sleeps()
    try:
        _process(first_store, Sleeps()).list_users()
        _process(second_store, second_sleeps).list_users()
    finally:
        first_store.close()
        second_store.close()
    assert second_sleeps.waits == [pytest.approx(TIME["operating_reset_at"] - NOW)]


@responses.activate
def test_without_a_state_store_each_process_keeps_its_own_window() -> None:
    responses.post(HOOK + "user.get", json=_answer(300.0))
    first, second = Sleeps(), Sleeps()
    daemon = _process(None, first)
    daemon.list_users()
    daemon.list_users()
    _process(None, second).list_users()
    assert first.waits == [] and second.waits == []


def test_the_adapter_carries_the_capabilities_its_entry_point_declares() -> None:
    adapter = _process(None, Sleeps())
    assert adapter.capabilities == ADAPTER.capabilities and adapter.capabilities.write_batch == 50
    assert capabilities_of(adapter) is adapter.capabilities


def test_two_real_processes_share_the_operating_window(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    open_store(url).close()  # created once, before the processes race to migrate it
    spawn = multiprocessing.get_context("spawn")
    with spawn.Pool(1) as pool:
        daemon = pool.apply(b24_limit_workers.list_users, (url, 2, 300.0))
    with spawn.Pool(1) as pool:
        script = pool.apply(b24_limit_workers.list_users, (url, 1, 0.05))
    assert daemon == {"waits": [], "requests": 2}
    assert script == {"waits": [pytest.approx(600.0)], "requests": 1}
