"""Functions run in child processes by the store tests (importable by name under ``spawn``)."""

from __future__ import annotations

import time

from crm_bridge.store import open_store


def take_many(url: str, key: str, attempts: int, capacity: float, now: float) -> int:
    """Try ``attempts`` takes at a fixed ``now`` (no draining); return how many were admitted."""
    store = open_store(url)
    try:
        admitted = 0
        for _ in range(attempts):
            if store.bucket.take(key, capacity=capacity, drain_per_second=0.001, now=now) == 0.0:
                admitted += 1
        return admitted
    finally:
        store.close()


def hold_and_check(url: str, name: str, rounds: int) -> int:
    """Enter lock ``name`` ``rounds`` times; inside, mark the lock as taken in kv, linger, unmark.
    Returns how many times another holder's mark was already there (0 when the lock works)."""
    store = open_store(url)
    overlaps = 0
    try:
        marks = store.kv("lock-test")
        for _ in range(rounds):
            with store.locks.lock(name, timeout=60):
                if marks.get("holder") is not None:
                    overlaps += 1
                marks.set("holder", True)
                time.sleep(0.01)
                marks.set("holder", None)
        return overlaps
    finally:
        store.close()


def take_all_many(url: str, attempts: int, now: float) -> int:
    """Try ``attempts`` requests needing a fixed window of 12 and a leaky bucket of 30 at once."""
    from crm_bridge.ports import Bucket

    buckets = [Bucket("crm:x/daily", 12, window=86_400), Bucket("crm:x/burst", 30, drain_per_second=0.001)]
    store = open_store(url)
    try:
        return sum(store.bucket.take_all(buckets, now) == 0.0 for _ in range(attempts))
    finally:
        store.close()


def take_rolling_many(url: str, attempts: int, now: float) -> int:
    """Try ``attempts`` requests in a rolling window of 12 per 10 s, all at ``now``."""
    from crm_bridge.ports import Bucket

    window = Bucket("crm:x/rolling", 12, window=10.0, rolling=True)
    store = open_store(url)
    try:
        return sum(store.bucket.take_all([window], now) == 0.0 for _ in range(attempts))
    finally:
        store.close()


def open_and_report(url: str) -> str:
    """Open (and so migrate) the store; return the revision it is at."""
    from crm_bridge.store.migrate import current

    store = open_store(url)
    try:
        return current(store.engine) or ""
    finally:
        store.close()
