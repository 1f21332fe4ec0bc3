"""What the shared request budgets cost per request on each state store: ``take_all`` of three
budgets (a 10-second window, a daily window, a leaky bucket) and the Bitrix24 operating-time window
(``record_all`` of one batch answer + ``wait_for`` before the next request) on the store's ledger,
against the in-memory fallbacks.

    .venv/bin/python benchmarks/bench_budgets.py [--n 2000] [--pg postgresql+psycopg://…]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from crm_bridge.http import MemoryBucket, MemoryLedger
from crm_bridge.ports import Bucket, BucketStore, SpendLedger
from crm_bridge.store import open_store
from crm_bridge_bitrix24.budget import OperatingBudget

BUCKETS = [
    Bucket("bench/ten_seconds", 1e9, window=10),
    Bucket("bench/daily", 1e9, window=86_400),
    Bucket("bench/requests", 1e9, drain_per_second=1e6),
]


def per_call(n: int, work: Callable[[int], object]) -> float:
    started = time.perf_counter()
    for i in range(n):
        work(i)
    return (time.perf_counter() - started) / n * 1000


def run(name: str, bucket: BucketStore, ledger: SpendLedger, n: int) -> None:
    now = 1_764_158_400.0
    take = per_call(n, lambda i: bucket.take_all(BUCKETS, now + i * 0.01))
    budget = OperatingBudget(ledger=ledger, key="bench")
    answer = [("crm.deal.list", 0.05, 1.0, now + 600)] * 50  # a batch of 50 list commands

    def one_request(i: int) -> None:
        budget.wait_for({"crm.deal.list"}, now + i * 0.5)
        budget.record_all(answer, now + i * 0.5)

    operating = per_call(n, one_request)
    print(
        f"{name:>10}: take_all(3 budgets) {take:.3f} ms/request; operating window {operating:.3f} ms/request"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--pg", default="")
    args = parser.parse_args()
    run("memory", MemoryBucket(), MemoryLedger(), args.n)
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'state.db'}")
        try:
            run("sqlite", store.bucket, store.ledger, args.n)
        finally:
            store.close()
    if args.pg:
        store = open_store(args.pg)
        try:
            run("postgresql", store.bucket, store.ledger, args.n)
        finally:
            store.close()


if __name__ == "__main__":
    main()
