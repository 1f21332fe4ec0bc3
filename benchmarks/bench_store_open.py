"""What opening the state store costs now that Alembic migrates it on every open: an empty SQLite file
(every revision applied), a file already at head (version read under the lock, nothing applied), and
an in-memory store (what most tests open).

    .venv/bin/python benchmarks/bench_store_open.py [N]       # N opens each (default 20)
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable

from crm_bridge.store import open_store


def per_open(label: str, n: int, fn: Callable[[int], None]) -> None:
    started = time.perf_counter()
    for i in range(n):
        fn(i)
    print(f"{label:<36} {(time.perf_counter() - started) / n * 1000:7.1f} ms per open")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    folder = tempfile.mkdtemp(prefix="crm-bridge-bench-")
    open_store("sqlite://").close()  # imports and the revision scripts loaded once, outside the timing
    per_open("empty SQLite file", n, lambda i: open_store(f"sqlite:///{folder}/s{i}.db").close())
    per_open("SQLite file at head", n, lambda i: open_store(f"sqlite:///{folder}/s{i}.db").close())
    per_open("in-memory SQLite", n, lambda i: open_store("sqlite://").close())


if __name__ == "__main__":
    main()
