"""Several request budgets admitted at once (``take_all``) and the spend ledger of sliding-window
budgets, in the state store, across processes."""

from __future__ import annotations

import multiprocessing

import pytest
import store_workers
from sqlalchemy import text

from crm_bridge.ports import Bucket
from crm_bridge.store import Store, open_store

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
    first = open_store(store_url)
    first.kv("ns").set("kept", {"a": 1})
    with first.engine.begin() as conn:
        conn.execute(text("DROP TABLE budget_spend"))
        conn.execute(text("UPDATE schema_version SET version = 1 WHERE component = 'core'"))
    first.close()
    again = open_store(store_url)
    try:
        assert [(m.component, m.before, m.after) for m in again.migrations if m.changed] == [("core", 1, 4)]
        again.ledger.spend([("k", 1.0, 2.0)], forget_before=0.0)
        assert again.ledger.spent(["k"], since=0.0) == {"k": [(1.0, 2.0)]}
        assert again.kv("ns").get("kept") == {"a": 1}
    finally:
        again.close()
