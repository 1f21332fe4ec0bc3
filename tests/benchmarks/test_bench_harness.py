"""The Bitrix24 benchmark's own bookkeeping: timed runs are never traced (tracemalloc slows Python
down), and the rate-limit bound counts only the requests the portal accepted."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_b24_runs.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_b24_runs_under_test", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_timed_run_is_never_traced_and_memory_is_measured_in_a_run_of_its_own() -> None:
    bench = _bench()

    untraced_only = bench.run_envs({"BENCH_PARTNER": "5", "BENCH_TRACE": "1"}, memory_run=False)
    with_memory = bench.run_envs({"BENCH_PARTNER": "5"}, memory_run=True)

    assert untraced_only == ({"BENCH_PARTNER": "5"}, None)
    timed, traced = with_memory
    assert "BENCH_TRACE" not in timed and traced is not None and traced["BENCH_TRACE"] == "1"
    assert traced["BENCH_PREFIX"] != timed.get("BENCH_PREFIX")  # a push pushes new leads again


def test_refused_requests_do_not_count_towards_the_rate_limit_bound() -> None:
    bench = _bench()

    assert bench.bound(150) == (150 - bench.BURST) / bench.RATE
    assert bench.bound(150, rejected=40) == (150 - 40 - bench.BURST) / bench.RATE
    assert bench.bound(60, rejected=30) == 0


def test_a_row_without_a_memory_run_says_so_instead_of_a_traced_peak() -> None:
    bench = _bench()
    result = {"records": 10, "wall": 30.0, "requests": 150, "rejected": 40, "peak": None, "operating": 1.0}

    line = bench.format_row("push 10", "crm-bridge", result)

    assert "n/a" in line and f"{(150 - 40 - 50) / 2:.2f}" in line
