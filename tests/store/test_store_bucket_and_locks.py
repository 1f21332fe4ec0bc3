"""The shared leaky bucket and named locks of the state store, across threads and processes."""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import store_workers

from crm_bridge.errors import StateError
from crm_bridge.store import Store, open_store


def test_bucket_admits_a_burst_up_to_capacity_then_says_how_long_to_wait(store: Store) -> None:
    waits = [store.bucket.take("b24", capacity=3, drain_per_second=2, now=100.0) for _ in range(5)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3] == pytest.approx(0.5)  # one slot drains in 1/2 s
    assert waits[4] == pytest.approx(0.5)  # a refused take records nothing


def test_bucket_drains_at_its_rate(store: Store) -> None:
    for _ in range(3):
        store.bucket.take("b24", capacity=3, drain_per_second=2, now=100.0)
    assert store.bucket.take("b24", capacity=3, drain_per_second=2, now=100.5) == 0.0
    assert store.bucket.take("b24", capacity=3, drain_per_second=2, now=100.5) > 0.0
    assert store.bucket.take("b24", capacity=3, drain_per_second=2, now=102.0) == 0.0
    assert store.bucket.level("b24", drain_per_second=2, now=102.0) == pytest.approx(
        1.0
    )  # 3 drained by 102.0, then one taken


def test_buckets_with_different_keys_are_independent(store: Store) -> None:
    assert store.bucket.take("a", capacity=1, drain_per_second=1, now=0.0) == 0.0
    assert store.bucket.take("b", capacity=1, drain_per_second=1, now=0.0) == 0.0
    assert store.bucket.take("a", capacity=1, drain_per_second=1, now=0.0) > 0.0


def test_threads_sharing_the_bucket_never_exceed_its_capacity(store: Store) -> None:
    def take(_: int) -> bool:
        return store.bucket.take("shared", capacity=10, drain_per_second=0.001, now=50.0) == 0.0

    with ThreadPoolExecutor(max_workers=8) as pool:
        admitted = sum(pool.map(take, range(40)))
    assert admitted == 10


def test_two_processes_sharing_the_bucket_never_exceed_its_capacity(store: Store, store_url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        results = pool.starmap(store_workers.take_many, [(store_url, "cross", 25, 20, 1000.0)] * 2)
    assert sum(results) == 20


def test_a_lock_is_single_flight_across_threads(store: Store) -> None:
    inside = 0
    most = 0
    guard = threading.Lock()

    def work(_: int) -> None:
        nonlocal inside, most
        with store.locks.lock("refresh:portal", timeout=30):
            with guard:
                inside += 1
                most = max(most, inside)
            threading.Event().wait(0.005)
            with guard:
                inside -= 1

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(work, range(12)))
    assert most == 1


def test_a_lock_is_single_flight_across_processes(store: Store, store_url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        overlaps = pool.starmap(store_workers.hold_and_check, [(store_url, "refresh:cross", 8)] * 2)
    assert overlaps == [0, 0]


def test_waiting_for_a_held_lock_gives_up_with_a_state_error(store: Store) -> None:
    with store.locks.lock("busy"):
        with pytest.raises(StateError, match="busy"):
            with store.locks.lock("busy", timeout=0.2):
                pass


def test_a_lock_is_released_when_its_block_raises(store: Store) -> None:
    with pytest.raises(RuntimeError):
        with store.locks.lock("released"):
            raise RuntimeError("boom")
    with store.locks.lock("released", timeout=0.5):
        pass


def test_different_lock_names_do_not_block_each_other(store: Store) -> None:
    with store.locks.lock("one"), store.locks.lock("two", timeout=0.5):
        pass


def test_a_sqlite_lock_left_by_a_crashed_holder_expires(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from crm_bridge.store.locks import SqlLockProvider

    url = f"sqlite:///{tmp_path / 'locks.db'}"
    store = open_store(url)
    now = [1000.0]
    crashed = SqlLockProvider(store.engine, ttl=60, clock=lambda: now[0], sleep=lambda s: None)
    survivor = SqlLockProvider(
        store.engine, ttl=60, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s)
    )
    holder = crashed.lock("refresh")
    holder.__enter__()  # never exited: the process "crashed" holding it
    with survivor.lock("refresh", timeout=120):  # polls; the fake clock passes the 60 s expiry
        assert now[0] >= 1060.0
    store.close()
