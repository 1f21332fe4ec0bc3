"""The fast_bitrix24 side of benchmarks/bench_bitrix24.py, run by it in its own process (fast_bitrix24
is a dev dependency, never a runtime one): ``python bench_bitrix24_fb24.py backfill|push
WEBHOOK CATEGORY_ID [N [SELECT,FIELDS]]``. Prints one JSON line: wall and CPU seconds, records,
tracemalloc peak bytes.

Uses the library as its README shows: ``get_all`` for a full listing (one counted request, then
pages fetched in batches of 50), ``call`` with a list of items for bulk adds (batched by 50), with its
leaky bucket at the standard plan's 50 / 2 per second.
"""

import json
import os
import sys
import time
import tracemalloc

from fast_bitrix24 import Bitrix


def main() -> None:
    mode, webhook, category = sys.argv[1], sys.argv[2], int(sys.argv[3])
    n = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    # the fields crm-bridge selects (the same rows and columns for both clients)
    select = sys.argv[5].split(",") if len(sys.argv) > 5 else ["ID", "TITLE", "STAGE_ID", "DATE_MODIFY"]
    bx = Bitrix(webhook, verbose=False, request_pool_size=50, requests_per_second=2.0, ssl=False)
    tracing = bool(os.environ.get("BENCH_TRACE"))  # off for the timed run: tracing slows Python down
    if tracing:
        tracemalloc.start()
    prefix = os.environ.get("BENCH_PREFIX", "fb24")
    started, cpu = time.perf_counter(), time.process_time()
    if mode == "backfill":
        rows = bx.get_all(
            "crm.deal.list",
            params={
                "filter": {"CATEGORY_ID": category},
                "select": select,
            },
        )
        records = len(rows)
    elif mode == "push":
        items = [
            {
                "fields": {
                    "TITLE": f"fb24 lead {i}",
                    "CATEGORY_ID": category,
                    "ORIGINATOR_ID": "fb24",
                    "ORIGIN_ID": f"{prefix}-{i}",
                    "OPPORTUNITY": "1500.50",
                }
            }
            for i in range(n)
        ]
        records = len(bx.call("crm.deal.add", items))
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    peak = tracemalloc.get_traced_memory()[1] if tracing else 0
    print(json.dumps({"wall": wall, "cpu": cpu, "records": records, "peak": peak}))


if __name__ == "__main__":
    main()
