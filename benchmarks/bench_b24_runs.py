"""Running and measuring the phases of benchmarks/bench_bitrix24.py: subprocesses, the sandbox server
process, request counts from its log, and the rows of the table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

BURST, RATE = 50, 2.0


def control(base: str, action: str, method: str = "GET", body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"{base}/_sandbox/{action}", data=data, method=method)
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=600) as answer:
        return json.loads(answer.read())


# -- orchestration -------------------------------------------------------------------------------
def run_cmd(cmd: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    started = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **(env or {})}, check=False)
    if out.returncode != 0:
        lines = [line for line in out.stderr.strip().splitlines() if line.strip()]
        reason = lines[-1][:120] if lines else f"exit {out.returncode}"
        print(f"  ! {' '.join(Path(c).name for c in cmd[:3])} failed: {reason}", file=sys.stderr, flush=True)
        return {"wall": time.perf_counter() - started, "records": 0, "peak": 0, "failed": reason}
    return json.loads(out.stdout.strip().splitlines()[-1])


class SandboxProcess:
    def __init__(self, cmd: list[str], port_file: Path) -> None:
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        while not port_file.exists() or not port_file.read_text():
            time.sleep(0.05)
        self.base = port_file.read_text().strip()

    def reset(self) -> dict[str, float]:
        """Operating seconds per method since the last reset; the bucket and budget start empty."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("reset\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait()


def measured(
    server: SandboxProcess, cmd: list[str], env: dict[str, str] | None = None, *, memory_run: bool = True
) -> dict[str, Any]:
    """A timed run (tracemalloc off: it slows Python down) and, when ``memory_run``, a second run of
    the same phase with tracemalloc on for the peak (new external ids, so a push pushes again)."""
    timed_env, traced_env = run_envs(env, memory_run)
    server.reset()
    control(server.base, "requests", "DELETE")
    result = run_cmd(cmd, timed_env)
    spent = server.reset()
    result["srv_cpu"] = spent.pop("cpu", 0.0)
    result["operating"] = sum(spent.values())
    log = control(server.base, "requests")["requests"]
    result["requests"] = len(log)
    result["rejected"] = sum(1 for r in log if r["status"] != 200)
    result["peak"] = None  # not measured
    if traced_env is not None and not result.get("failed"):
        traced = run_cmd(cmd, traced_env)
        server.reset()
        result["peak"] = traced.get("peak", 0)
    return result


def run_envs(env: dict[str, str] | None, memory_run: bool) -> tuple[dict[str, str], dict[str, str] | None]:
    """The environment of the timed run (never traced) and of the memory run (None: no memory run)."""
    timed = {k: v for k, v in (env or {}).items() if k != "BENCH_TRACE"}
    return timed, ({**timed, "BENCH_TRACE": "1", "BENCH_PREFIX": "mem"} if memory_run else None)


def bound(requests: int, rejected: int = 0) -> float:
    """Seconds the rate limit needs for the ``requests`` the portal accepted beyond the burst. Refused
    requests (503 QUERY_LIMIT_EXCEEDED) do not count: counting them would let a client that provokes
    refusals look closer to the limit than it is."""
    return max(0, requests - rejected - BURST) / RATE


def _peak(r: dict[str, Any]) -> str:
    """The traced peak in MiB, or n/a when the row had no memory run."""
    return f"{r['peak'] / 2**20:>9.1f}" if r.get("peak") is not None else f"{'n/a':>9}"


def bound_of(requests: int, rejected: int = 0) -> float:
    return bound(requests, rejected)


def table_row(label: str, who: str, r: dict[str, Any]) -> str:
    line = format_row(label, who, r)
    print(line, file=sys.stderr, flush=True)  # progress while the phases run
    return line


def format_row(label: str, who: str, r: dict[str, Any]) -> str:
    if r.get("failed"):
        return (
            f"{label:<24} {who:<14} FAILED after {r['wall']:.1f} s, {r['requests']} requests: {r['failed']}"
        )
    bound = bound_of(r["requests"], r["rejected"])
    ratio = f"{r['wall'] / bound:5.2f}" if bound > 0 else "  n/a"
    return (
        f"{label:<24} {who:<14} {r['records']:>8} {r['wall']:>9.2f} {r['requests']:>9} {r['rejected']:>4} "
        f"{bound:>9.2f} {ratio:>6} {_peak(r)} {r['operating']:>8.1f} "
        f"{r.get('cpu', 0.0):>6.2f} {r.get('srv_cpu', 0.0):>7.2f}"
    )


def alternating(
    label: str, clients: list[tuple[str, Callable[..., dict[str, Any]]]], repeat: int
) -> list[str]:
    """Each client ``repeat`` times, in turns (the order reversed every round, so a noisy neighbour on
    a shared machine hits every client alike); the row shows the run of median wall time, the peak
    memory of the first round's traced run."""
    runs: dict[str, list[dict[str, Any]]] = {who: [] for who, _ in clients}
    for round_ in range(repeat):
        for who, run in clients if round_ % 2 == 0 else list(reversed(clients)):
            result = run(memory_run=round_ == 0)
            print(f"  {label} {who} round {round_ + 1}: {result['wall']:.2f} s", file=sys.stderr, flush=True)
            runs[who].append(result)
    out = []
    for who, results in runs.items():
        ok = [r for r in results if not r.get("failed")] or results
        median = sorted(ok, key=lambda r: r["wall"])[(len(ok) - 1) // 2]
        out.append(table_row(label, who, {**median, "peak": results[0].get("peak", 0)}))
    return out
