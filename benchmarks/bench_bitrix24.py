"""Benchmark of the Bitrix24 adapter against the sandbox with the portal's rate limit ON (standard plan:
burst 50, 2 requests/s) and cloud-like latency (200 ms per request + 0.2 ms per record), side by side
with fast_bitrix24 on the same sandbox and data.

    .venv/bin/python benchmarks/bench_bitrix24.py [--deals 100000] [--leads 10000] [--fb24 PYTHON]

Phases (each in a fresh process, so memory and the client-side bucket start clean; the portal's bucket
and per-method operating budget are emptied before each phase): provisioning from scratch; backfill of
N/4 and N deals; push of the leads (ours: with the dedupe lookup). Reported: wall time, HTTP requests
(the sandbox's request log), tracemalloc peak, the operating time spent, and the bound the rate limit
allows — (requests beyond the burst) / rate — with the ratio wall / bound. fast_bitrix24 (a dev
dependency, never a runtime one) runs with this interpreter unless --fb24 names another Python.
``--leads 0`` skips the pushes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

from bench_b24_runs import BURST, RATE, SandboxProcess, alternating, control, measured, run_cmd, table_row

HERE = Path(__file__).resolve().parent
LATENCY_MS, PER_RECORD_MS = 200.0, 0.2


# -- the sandbox (its own process) -----------------------------------------------------------------
def serve(port_file: str) -> None:
    """Run the sandbox; on each stdin line ``reset`` print the operating seconds spent per method since
    the last reset, then empty the portal's bucket and budget (each phase starts like a quiet portal)."""
    from crm_bridge.sandbox.server import Sandbox

    sandbox = Sandbox("bitrix24", latency_ms=LATENCY_MS, per_record_ms=PER_RECORD_MS, rate_limit=True)
    Path(port_file).write_text(sandbox.start(), encoding="utf-8")
    cpu = time.process_time()
    emulator: Any = sandbox.emulator
    for line in sys.stdin:
        if line.strip() == "reset":
            now = sandbox.clock()
            spent = {m: round(emulator.budget.report(m, now)[0], 2) for m in list(emulator.budget.baskets)}
            spent["cpu"], cpu = time.process_time() - cpu, time.process_time()  # the sandbox's own CPU
            emulator.budget.reset()
            emulator.bucket.reset()
            print(json.dumps(spent), flush=True)


# -- one measured phase of crm-bridge (its own process) -------------------------------------------
class _FileKV:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}

    def get(self, key: str) -> Any | None:
        return self.data.get(key)

    def set(self, key: str, value: Any) -> None:
        self.data[key] = value
        self.path.write_text(json.dumps(self.data))


def phase(name: str, webhook: str, kv_path: str, n: int, in_flight: int) -> None:
    from crm_bridge.domain.funnels import default_funnels, desired_layout
    from crm_bridge.domain.layout import FieldEntity
    from crm_bridge.domain.model import PartnerType
    from crm_bridge.domain.provisioning import plan
    from crm_bridge.ports import AdapterContext, Entity, LeadDraft
    from crm_bridge_bitrix24 import build_adapter
    from crm_bridge_bitrix24.config import Bitrix24Config

    desired = desired_layout(
        default_funnels(), "en", ["bronze", "silver", "gold", "platinum"], tuple(PartnerType)
    )
    config = Bitrix24Config(webhook_url=webhook, plan="standard")
    adapter = build_adapter(
        config, AdapterContext(kv=_FileKV(Path(kv_path))), desired=desired, listing_in_flight=in_flight
    )
    drafts: list[Any] = []
    if name == "push":
        partner = os.environ["BENCH_PARTNER"]
        prefix = os.environ.get("BENCH_PREFIX", "ext")
        drafts = [
            LeadDraft(f"{prefix}-{i}", partner, f"Lead {i}", amount=Decimal("1500.50")) for i in range(n)
        ]
    tracing = bool(os.environ.get("BENCH_TRACE"))
    if tracing:
        tracemalloc.start()
    started, cpu = time.perf_counter(), time.process_time()
    records = 0
    if name == "provision":
        computed = plan(desired, adapter.observe_layout())
        adapter.apply_plan(computed)
        records = len(computed.writes)
    elif name == "backfill":
        for page in adapter.changed_since(Entity.LEAD, None):
            records += len(page.records)  # streamed: nothing is kept
    elif name == "push":
        records = sum(1 for o in adapter.create_leads(drafts) if o.ok)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    peak = tracemalloc.get_traced_memory()[1] if tracing else 0
    extra = {}
    if name == "provision":
        catalog = adapter.catalog()
        ptype = catalog.field(FieldEntity.PARTNER, "partner_type")
        assert ptype is not None
        extra = {
            "category": catalog.funnels["leads"],
            "stage": catalog.stage_code("leads", None),
            "ptype": ptype.options["reseller"],
            "select": list(adapter.lister.query(Entity.LEAD, catalog, None).select),
        }
    adapter.close()
    print(json.dumps({"wall": wall, "cpu": cpu, "records": records, "peak": peak, **extra}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--leads", type=int, default=10_000)
    parser.add_argument("--fb24", default=sys.executable, help="a Python with fast_bitrix24 ('' to skip)")
    parser.add_argument("--in-flight", type=int, default=12, help="listing batches fetched at once")
    parser.add_argument("--also-in-flight", type=int, default=0, help="a second backfill row with this many")
    parser.add_argument("--repeat", type=int, default=3, help="backfill runs per client (median reported)")
    args = parser.parse_args()
    me = [sys.executable, str(Path(__file__).resolve())]
    fb24 = [args.fb24, str(HERE / "bench_bitrix24_fb24.py")] if args.fb24 else None
    rows: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        runs = iter(range(1000))

        def fresh() -> tuple[SandboxProcess, str, str, dict[str, Any]]:
            """A new sandbox (its own process), provisioned by crm-bridge: provisioning is measured here."""
            n = next(runs)
            port_file = Path(tmp) / f"url{n}"
            server = SandboxProcess([*me, "serve", str(port_file)], port_file)
            webhook, kv = f"{server.base}/rest/1/s4ndb0xw3bh00k01/", str(Path(tmp) / f"kv{n}.json")
            prov = measured(server, [*me, "phase", "provision", webhook, kv, "0", "8"], memory_run=False)
            return server, webhook, kv, prov

        def ours(
            server: SandboxProcess, webhook: str, kv: str, name: str, n: int, **kw: Any
        ) -> dict[str, Any]:
            in_flight = kw.pop("in_flight", args.in_flight)
            cmd = [*me, "phase", name, webhook, kv, str(n), str(in_flight)]
            return measured(server, cmd, kw.pop("env", None), memory_run=kw.pop("memory_run", True))

        # pushes: each client on its own fresh portal (a backlog left by one must not slow the other)
        for who in ("crm-bridge", "fast_bitrix24") if args.leads else ():
            if who == "fast_bitrix24" and fb24 is None:
                continue
            server, webhook, kv, prov = fresh()
            try:
                if who == "crm-bridge":
                    rows.append(table_row("provisioning", "crm-bridge", prov))
                    seeded = control(
                        server.base,
                        "seed",
                        "POST",
                        {"companies": [{"TITLE": "Partner", "UF_CRM_PARTNER_TYPE": prov["ptype"]}]},
                    )
                    env = {"BENCH_PARTNER": str(seeded["created"]["companies"][0])}
                    result = ours(server, webhook, kv, "push", args.leads, env=env, memory_run=False)
                else:
                    assert fb24 is not None
                    cmd = [*fb24, "push", webhook, str(prov["category"]), str(args.leads)]
                    result = measured(server, cmd, memory_run=False)
            finally:
                server.stop()
            if who == "crm-bridge" and not result.get("failed"):  # the peak, traced, on another fresh portal
                server, webhook, kv, prov = fresh()
                try:
                    seeded = control(
                        server.base,
                        "seed",
                        "POST",
                        {"companies": [{"TITLE": "Partner", "UF_CRM_PARTNER_TYPE": prov["ptype"]}]},
                    )
                    env = {"BENCH_PARTNER": str(seeded["created"]["companies"][0]), "BENCH_TRACE": "1"}
                    result["peak"] = run_cmd([*me, "phase", "push", webhook, kv, str(args.leads), "8"], env)[
                        "peak"
                    ]
                finally:
                    server.stop()
            elif who == "fast_bitrix24" and not result.get("failed"):
                server, webhook, kv, prov = fresh()
                try:
                    cmd = [*fb24, "push", webhook, str(prov["category"]), str(args.leads)]
                    result["peak"] = run_cmd(cmd, {"BENCH_TRACE": "1"})["peak"]
                finally:
                    server.stop()
            rows.append(table_row(f"push {args.leads:,} leads", who, result))

        # backfills: one portal, seeded up to each size; every client lists the same deals
        server, webhook, kv, prov = fresh()
        try:
            seeded_deals = 0
            for target in sorted({max(1, args.deals // 4), args.deals}):
                while seeded_deals < target:
                    chunk = min(10_000, target - seeded_deals)
                    deals = [
                        {
                            "TITLE": f"Deal {seeded_deals + i}",
                            "CATEGORY_ID": prov["category"],
                            "STAGE_ID": prov["stage"],
                            "OPPORTUNITY": "1000.00",
                        }
                        for i in range(chunk)
                    ]
                    control(server.base, "seed", "POST", {"deals": deals})
                    seeded_deals += chunk
                label = f"backfill {target:,} deals"
                clients: list[tuple[str, Callable[..., dict[str, Any]]]] = [
                    ("crm-bridge", partial(ours, server, webhook, kv, "backfill", target))
                ]
                if args.also_in_flight and args.also_in_flight != args.in_flight:
                    also = args.also_in_flight
                    run = partial(ours, server, webhook, kv, "backfill", target, in_flight=also)
                    clients.append((f"crm-bridge/{also}", run))
                if fb24 is not None:
                    cmd = [*fb24, "backfill", webhook, str(prov["category"]), "0", ",".join(prov["select"])]
                    clients.append(("fast_bitrix24", partial(measured, server, cmd)))
                rows += alternating(label, clients, args.repeat)
        finally:
            server.stop()
    print(
        f"sandbox: rate limit ON (standard: burst {BURST}, {RATE:g}/s), latency {LATENCY_MS:g} ms + "
        f"{PER_RECORD_MS:g} ms/record; crm-bridge listing batches in flight: {args.in_flight}"
    )
    print(
        f"{'phase':<24} {'client':<14} {'records':>8} {'wall s':>9} {'requests':>9} {'503':>4} "
        f"{'bound s':>9} {'ratio':>6} {'peak MiB':>9} {'oper. s':>8} {'cpu s':>6} {'srv cpu':>7}"
    )
    print("\n".join(rows))
    print("bound = (requests - burst) / rate; ratio = wall / bound (n/a: everything fits in the burst);")
    print(
        "oper. s = the portal's per-method operating time the phase spent (limit 480 s per 10 min per method)"
    )
    print(
        "cpu s = the client process's CPU time; srv cpu = the sandbox process's (the machine may be shared: "
        f"backfills are the median wall of {args.repeat} alternating runs)"
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        serve(sys.argv[2])
    elif len(sys.argv) > 1 and sys.argv[1] == "phase":
        phase(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]))
    else:
        main()
