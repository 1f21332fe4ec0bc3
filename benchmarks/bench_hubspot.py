"""Benchmark of the HubSpot adapter against the emulator with HubSpot's Starter limits ON (100 requests
per rolling 10 s, 5 searches/s, 250,000 a day) and cloud-like latency (200 ms per request + 0.2 ms
per record).

    .venv/bin/python benchmarks/bench_hubspot.py [--deals 100000] [--push 10000]

Phases, each in a fresh process (memory and the client-side budgets start clean; the emulator's
window is emptied before each): provisioning; backfill of N/4 and N deals (searches of 200 in
``hs_object_id`` order, in keyset id windows walked four at a time); push of M and M/4 new deals
(batch creates of 100, four in flight). Reported per phase: wall time, HTTP requests and 429s (the
sandbox's request log), the bound the limits allow — max(floor((requests - 1) / 100) * 10 s,
(searches - 1) / 5 s) + 0.2 s, counting the requests the work needed (not the ones refused with 429):
under a rolling 10-second window of 100 the last request cannot go earlier, nor be answered sooner than
the fixed latency after —
with the ratio wall / bound, and the tracemalloc peak of a second run of the same phase (memory flat
in N = the same peak for N/4 and N).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
import urllib.request
from pathlib import Path
from typing import Any

WINDOW, PER_SECOND, SEARCHES = 100, 10.0, 5.0
LATENCY_MS, PER_RECORD_MS = 200.0, 0.2


# -- the sandbox (its own process) -----------------------------------------------------------------
def serve(port_file: str) -> None:
    """Run the emulator; on each stdin line ``reset`` empty its rate-limit window and answer ``ok``."""
    from crm_bridge.sandbox.server import Sandbox

    sandbox = Sandbox("hubspot", latency_ms=LATENCY_MS, per_record_ms=PER_RECORD_MS, rate_limit=True)
    Path(port_file).write_text(sandbox.start(), encoding="utf-8")
    emulator: Any = sandbox.emulator
    for line in sys.stdin:
        if line.strip() == "reset":
            emulator.limits.reset()
            print("ok", flush=True)


def _control(base: str, action: str, method: str = "GET", body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"{base}/_sandbox/{action}", data=data, method=method)
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=900) as answer:
        return json.loads(answer.read())


# -- one measured phase (its own process) ------------------------------------------------------------
class _FileKV:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}

    def get(self, key: str) -> Any | None:
        return self.data.get(key)

    def set(self, key: str, value: Any) -> None:
        self.data[key] = value
        self.path.write_text(json.dumps(self.data))


def phase(name: str, base: str, token: str, kv_path: str, n: int) -> None:
    from crm_bridge.domain.funnels import default_funnels, desired_layout
    from crm_bridge.domain.model import PartnerType
    from crm_bridge.domain.provisioning import plan
    from crm_bridge.ports import AdapterContext, DealDraft, Entity
    from crm_bridge_hubspot import build_adapter
    from crm_bridge_hubspot.config import HubSpotConfig

    desired = desired_layout(
        default_funnels(), "en", ["bronze", "silver", "gold", "platinum"], tuple(PartnerType)
    )
    config = HubSpotConfig(base_url=base, access_token=token, tier="starter", max_pipelines=10)
    adapter = build_adapter(config, AdapterContext(kv=_FileKV(Path(kv_path))), desired=desired)
    prefix = os.environ.get("BENCH_PREFIX", "deal")
    partner = os.environ.get("BENCH_PARTNER", "")
    drafts = [DealDraft(f"{prefix}-{n}-{i}", "repeat", f"Deal {i}", partner_id=partner) for i in range(n)]
    tracing = bool(os.environ.get("BENCH_TRACE"))
    if tracing:
        tracemalloc.start()
    started = time.perf_counter()
    records = 0
    extra: dict[str, Any] = {}
    if name == "provision":
        computed = plan(desired, adapter.observe_layout())
        adapter.apply_plan(computed)
        records = len(computed.writes)
        catalog = adapter.catalog()
        extra = {"pipeline": catalog.funnels["repeat"], "stage": catalog.stage_code("repeat", None)}
    elif name == "backfill":
        for page in adapter.changed_since(Entity.DEAL, None):
            records += len(page.records)  # streamed: nothing is kept
    elif name == "push":
        records = sum(1 for o in adapter.create_deals(drafts) if o.ok and o.created)
    wall = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if tracing else 0
    adapter.close()
    print(json.dumps({"wall": wall, "records": records, "peak": peak, **extra}))


# -- orchestration -----------------------------------------------------------------------------------
def _run(cmd: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **(env or {})}, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[2:4])} failed: {out.stderr.strip().splitlines()[-1:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


class _Server:
    def __init__(self, cmd: list[str], port_file: Path) -> None:
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        while not port_file.exists() or not port_file.read_text():
            time.sleep(0.05)
        self.base = port_file.read_text().strip()

    def reset(self) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("reset\n")
        self.proc.stdin.flush()
        self.proc.stdout.readline()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait()


def _measured(server: _Server, cmd: list[str], env: dict[str, str], *, memory: bool = True) -> dict[str, Any]:
    server.reset()
    _control(server.base, "requests", "DELETE")
    result = _run(cmd, env)
    counts = _control(server.base, "counts")["by_endpoint"]
    log = _control(server.base, "requests")["requests"]
    result["requests"] = len(log)
    result["searches"] = sum(n for k, n in counts.items() if k.endswith("/search"))
    result["rejected"] = sum(1 for r in log if r["status"] == 429)
    refused_searches = sum(1 for r in log if r["status"] == 429 and r["path"].endswith("/search"))
    result["needed"] = len(log) - result["rejected"]  # the bound counts the requests the work needed
    result["searches_needed"] = result["searches"] - refused_searches
    if memory:
        time.sleep(10)  # let the 10-second window empty (the emulator's window is rolling)
        server.reset()
        result["peak"] = _run(cmd, {**env, "BENCH_TRACE": "1", "BENCH_PREFIX": "mem"})["peak"]
    return result


def _created(answer: dict[str, Any]) -> dict[str, Any]:
    return dict(answer.get("created", answer))


def _bound(r: dict[str, Any]) -> float:
    """The least time the limits allow for the phase's requests: under a rolling window of 100 per 10 s
    the k-th request (from 0) cannot go before floor(k / 100) * 10 s (the first 100 at once, the next
    100 when those age out), and searches go at most 5 a second; the last request is then answered no
    sooner than the sandbox's fixed latency (200 ms) later. 0 (no ratio) when the limits do not bind
    (everything fits in the first window)."""
    window = math.floor(max(0, r["needed"] - 1) / WINDOW) * WINDOW / PER_SECOND
    limit = max(window, max(0, r["searches_needed"] - 1) / SEARCHES)
    return limit + LATENCY_MS / 1000.0 if limit > 0 else 0.0


def _row(label: str, r: dict[str, Any]) -> str:
    bound = _bound(r)
    ratio = f"{r['wall'] / bound:5.2f}" if bound > 0 else "  n/a"
    line = (
        f"{label:<22} {r['records']:>8} {r['wall']:>9.2f} {r['requests']:>9} {r['rejected']:>5} "
        f"{bound:>9.2f} {ratio:>6} {r['peak'] / 2**20:>9.1f}"
    )
    print(line, flush=True)
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--push", type=int, default=10_000)
    args = parser.parse_args()
    me = [sys.executable, str(Path(__file__).resolve())]
    with tempfile.TemporaryDirectory() as tmp:
        port_file, kv = Path(tmp) / "port", str(Path(tmp) / "kv.json")
        server = _Server([*me, "--serve", str(port_file)], port_file)
        try:
            env: dict[str, str] = {}
            snippet_token = "pat-na1-sandbox-private-app-token"  # the emulator's default private-app token
            base_cmd = [*me, "--phase"]
            print(
                f"HubSpot Starter limits (100 per 10 s, 5 searches/s), {LATENCY_MS:.0f} ms + "
                f"{PER_RECORD_MS} ms/record latency\n"
                f"{'phase':<22} {'records':>8} {'wall s':>9} {'requests':>9} {'429s':>5} {'bound s':>9} "
                f"{'ratio':>6} {'peak MiB':>9}",
                flush=True,
            )

            def cmd(name: str, n: int) -> list[str]:
                return [*base_cmd, name, server.base, snippet_token, kv, str(n)]

            made = _measured(server, cmd("provision", 0), env, memory=False)
            _row("provision", made)
            seeded = _control(
                server.base,
                "seed",
                "POST",
                {
                    "companies": [
                        {"properties": {"name": "Bench partner", "crm_bridge_partner_type": "reseller"}}
                    ]
                },
            )
            env["BENCH_PARTNER"] = str(_created(seeded)["companies"][0])
            for n in (args.push // 4, args.push):
                _row(f"push {n}", _measured(server, cmd("push", n), env))
            have = 2 * (args.push // 4 + args.push)  # the pushes above, each run twice (timed, traced)
            for target in (args.deals // 4, args.deals):
                deal = {"dealname": "D", "pipeline": made["pipeline"], "dealstage": made["stage"]}
                while have < target:
                    step = min(20_000, target - have)
                    _control(server.base, "seed", "POST", {"deals": [{"properties": deal}] * step})
                    have += step
                result = _measured(server, cmd("backfill", 0), env)
                _row(f"backfill {result['records']}", result)
        finally:
            server.stop()


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--serve":
        serve(sys.argv[2])
    elif len(sys.argv) > 2 and sys.argv[1] == "--phase":
        phase(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6]))
    else:
        main()
