"""Several request budgets admitted at once (``take_all``) and the spend ledger of sliding-window
budgets, in the state store, across processes."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime

import pytest
import store_workers
from legacy_store import build_legacy_store
from sqlalchemy import text

from crm_bridge.ports import Bucket
from crm_bridge.store import Store, open_store
from crm_bridge.store.db import make_engine

DAY = 86_400.0
NOON = 1_764_158_400.0  # 12:00 UTC


def test_a_request_is_admitted_into_every_bucket_or_none(store: Store) -> None:
    daily, burst = Bucket("crm:x/daily", 2, window=DAY), Bucket("crm:x/burst", 5, drain_per_second=1)
    waits = [store.bucket.take_all([daily, burst], NOON) for _ in range(3)]
    assert waits[:2] == [0.0, 0.0] and waits[2] == pytest.approx(DAY / 2)  # until midnight UTC
    # the refused request charged neither: three more fit in the burst alone
    assert [store.bucket.take_all([burst], NOON) for _ in range(4)][:3] == [0.0, 0.0, 0.0]
    assert store.bucket.take_all([daily, burst], NOON + DAY / 2) == 0.0  # a new day, the burst drained


def test_a_window_bucket_resets_when_its_window_begins(store: Store) -> None:
    ten = Bucket("crm:x/10s", 2, window=10)
    assert [store.bucket.take_all([ten], 1000.0 + t) for t in (1, 2, 3)] == [0.0, 0.0, pytest.approx(7.0)]
    assert store.bucket.take_all([ten], 1010.0) == 0.0


def test_a_rolling_window_admits_its_limit_in_any_window_and_waits_for_the_oldest(store: Store) -> None:
    window = Bucket("hubspot:x:rolling", 3, window=10.0, rolling=True)
    first = [store.bucket.take_all([window], NOON + t) for t in (0.0, 4.0, 4.0)]
    assert first == [0.0, 0.0, 0.0]
    assert store.bucket.take_all([window], NOON + 9.0) == pytest.approx(1.0)  # the one at 0 s leaves at 10
    assert store.bucket.take_all([window], NOON + 10.0) == 0.0
    assert store.bucket.take_all([window], NOON + 12.0) == pytest.approx(2.0)  # then those at 4 s
    assert store.ledger.totals(["hubspot:x:rolling"], since=NOON + 0.5) == {"hubspot:x:rolling": 3.0}


def test_two_processes_sharing_a_rolling_window_never_exceed_it(store: Store, store_url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        results = pool.starmap(store_workers.take_rolling_many, [(store_url, 15, NOON)] * 2)
    assert sum(results) == 12


def test_two_processes_taking_several_buckets_never_exceed_the_smallest(store: Store, store_url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        results = pool.starmap(store_workers.take_all_many, [(store_url, 15, NOON)] * 2)
    assert sum(results) == 12


def test_the_ledger_returns_recent_spending_in_order_and_forgets_the_old(store: Store) -> None:
    store.ledger.spend([("p/operating/a", 100.0, 5.0), ("p/operating/b", 100.0, 1.0)], forget_before=0.0)
    store.ledger.spend([("p/operating/a", 400.0, 7.0)], forget_before=300.0)  # drops a's entry at 100
    assert store.ledger.spent(["p/operating/a", "p/operating/b", "nothing"], since=50.0) == {
        "p/operating/a": [(400.0, 7.0)],
        "p/operating/b": [(100.0, 1.0)],
    }
    assert store.ledger.spent(["p/operating/b"], since=100.0) == {}
    store.ledger.spend([("p/operating/a", 450.0, 1.5)], forget_before=0.0)
    assert store.ledger.totals(["p/operating/a", "p/operating/b"], since=50.0) == {
        "p/operating/a": 8.5,
        "p/operating/b": 1.0,
    }


def test_a_version_1_state_store_gets_the_ledger_when_opened(store_url: str) -> None:
    build_legacy_store(store_url, core=1)  # the old release's code path, rewound to core 1
    engine = make_engine(store_url)
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO kv_entries (namespace, key, value, updated_at) VALUES ('ns', 'kept', :v, :at)"),
            {"v": '{"a":1}', "at": datetime(2026, 1, 1, tzinfo=UTC)},
        )
    engine.dispose()
    again = open_store(store_url)
    try:
        assert again.migration is not None and again.migration.legacy == {"core": 1, "engine": 2}
        again.ledger.spend([("k", 1.0, 2.0)], forget_before=0.0)
        assert again.ledger.spent(["k"], since=0.0) == {"k": [(1.0, 2.0)]}
        assert again.kv("ns").get("kept") == {"a": 1}
    finally:
        again.close()
