"""Benchmark (not a test): how long refusing an intake API key takes, by kind of bad key, so an
unknown key id cannot be told from a wrong secret by timing (SECURITY.md T6).

Run: ``.venv/bin/python benchmarks/bench_intake_keys.py [attempts]``; prints the median and the 10th/90th
percentile per kind, interleaved round by round on one SQLite store (the lookup is part of the cost).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from crm_bridge.services.intake.keys import ApiKeys
from crm_bridge.store import open_store


def main(attempts: int) -> None:
    now = datetime(2026, 12, 6, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as folder, open_store(f"sqlite:///{Path(folder) / 's.db'}") as store:
        keys = ApiKeys(store.intake, "bench")
        good = keys.create("101", now=now).key
        revoked = keys.create("101", now=now)
        keys.revoke(revoked.key_id, now=now)
        kinds = {
            "unknown key id": f"cbk_{'q' * 12}_{good[-43:]}",
            "wrong secret": good[:17] + ("A" if good[17] != "A" else "B") + good[18:],
            "revoked key": revoked.key,
            "right key": good,
        }
        timings: dict[str, list[float]] = {k: [] for k in kinds}
        for _ in range(attempts):
            for name, key in kinds.items():
                start = time.perf_counter_ns()
                keys.verify(key)
                timings[name].append((time.perf_counter_ns() - start) / 1000)
    print(f"{'refusal of':<16} {'median µs':>10} {'p10':>8} {'p90':>8}   ({attempts} attempts each)")
    for name, values in timings.items():
        deciles = statistics.quantiles(values, n=10)
        print(f"{name:<16} {statistics.median(values):>10.1f} {deciles[0]:>8.1f} {deciles[-1]:>8.1f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
