"""Benchmark of the partner-lead intake write path on the Bitrix24 sandbox at the standard plan's limits
(burst 50, then 2 requests/s, enforced by the emulated portal and by crm-bridge's own limiter) with
cloud-like latency (200 ms per request + 0.2 ms per record).

    .venv/bin/python benchmarks/bench_intake.py [--rows 10000] [--api 2000] [--partners 50]

Phases, each on a fresh state store right after ``provision`` (partners made in the CRM, never synced),
the portal's bucket emptied first:
1. ``crm-bridge intake import`` of N rows: requests vs the formula ceil(N/50) + a constant, and wall
   time against the rate-limit bound (requests beyond the burst / 2 per second); goal <= 1.10;
2. the same with 5 % of the create batches committed by the portal and then the connection reset (the
   answer dropped): completes in one run; lost 0, duplicated 0;
3. M API submissions from P partners at once against ``crm-bridge run`` (the daemon): time to answer
   (p50/p95, goal p95 <= 1 s) and time until all are in the CRM against the bound (the last answer +
   the rate-limit bound of the writer's requests + one round trip; goal <= 1.15); lost 0, duplicated 0,
   every customer raced for by two partners decided once.
Wall times include starting the CLI process, as installed: the bench first compiles crm-bridge's modules
to bytecode, as ``pip install`` does (an editable install run with PYTHONDONTWRITEBYTECODE=1 would
compile ~280 modules from source at every start, seconds on a loaded machine).
"""

from __future__ import annotations

import argparse
import compileall
import importlib.util
import json
import math
import os
import resource
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_b24_runs import BURST, RATE, SandboxProcess, control  # noqa: E402

CLI = str(Path(sys.executable).parent / "crm-bridge")
LATENCY_MS, PER_RECORD_MS = 200.0, 0.2
RESET_SHARE = 0.05


def serve(port_file: str) -> None:
    """The sandbox in its own process; a ``reset`` line on stdin empties the portal's bucket and budget."""
    from crm_bridge.sandbox.server import Sandbox

    sandbox = Sandbox("bitrix24", latency_ms=LATENCY_MS, per_record_ms=PER_RECORD_MS, rate_limit=True)
    Path(port_file).write_text(sandbox.start(), encoding="utf-8")
    emulator: Any = sandbox.emulator
    for line in sys.stdin:
        if line.strip() == "reset":
            emulator.budget.reset()
            emulator.bucket.reset()
            print(json.dumps({}), flush=True)


def config(work: Path, base: str, name: str, port: int = 8080) -> Path:
    path = work / f"{name}.yaml"
    path.write_text(
        f"""
locale: en
crm:
  kind: bitrix24
  bitrix24:
    webhook_url: ${{B24_WEBHOOK_URL}}
state:
  url: sqlite:///{work / f"{name}.db"}
intake:
  listen_port: {port}
schedule:
  sync: {{enabled: false}}
  distribute: {{enabled: false}}
  escalate: {{enabled: false}}
  tiers: {{enabled: false}}
  notify: {{enabled: false}}
""",
        encoding="utf-8",
    )
    (work / ".env").write_text(f"B24_WEBHOOK_URL={base}/rest/1/s4ndb0xw3bh00k01/\n", encoding="utf-8")
    return path


def cli(cfg: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [CLI, "--config", str(cfg), *args], capture_output=True, text=True, check=False, cwd=cfg.parent
    )
    if done.returncode not in (0, 1):
        print(done.stdout[-800:], done.stderr[-800:], file=sys.stderr)
    return done


def seed_partners(base: str, cfg: Path, count: int) -> list[str]:
    from crm_bridge.bootstrap import bootstrap
    from crm_bridge.config import load_settings
    from crm_bridge.domain.layout import FieldEntity

    os.chdir(cfg.parent)  # the .env next to the config
    with bootstrap(load_settings(cfg)) as app:
        catalog = app.adapter.catalog()  # type: ignore[attr-defined]
    ptype = catalog.field(FieldEntity.PARTNER, "partner_type")
    rows = [{"TITLE": f"Партнёр {i}", ptype.code: ptype.options["reseller"]} for i in range(count)]
    return [str(c) for c in control(base, "seed", "POST", {"companies": rows})["created"]["companies"]]


def deals_with_prefix(base: str, prefix: str) -> list[str]:
    dump = control(base, "state")
    return [
        str(d["ORIGIN_ID"]) for d in dump["records"]["deal"] if str(d.get("ORIGIN_ID", "")).startswith(prefix)
    ]


def write_csv(path: Path, partners: list[str], rows: int, tag: str) -> Path:
    lines = ["partner_id;customer_name;email;phone;tax_id;amount;comment"]
    lines += [
        f"{partners[i % len(partners)]};{tag} клиент {i};{tag.lower()}{i}@example.ru;;;{100 + i};"
        for i in range(rows)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def import_phase(
    server: SandboxProcess, work: Path, name: str, partners_n: int, rows: int, faults: dict[str, Any] | None
) -> dict[str, Any]:
    cfg = config(work, server.base, name)
    assert cli(cfg, "provision").returncode == 0
    partners = seed_partners(server.base, cfg, partners_n)
    before = set(deals_with_prefix(server.base, "csv:"))
    csv_path = write_csv(work / f"{name}.csv", partners, rows, name.upper())
    server.reset()
    control(server.base, "requests", "DELETE")
    if faults:
        control(server.base, "faults", "POST", faults)
    started, cpu = time.perf_counter(), _children_cpu()
    done = cli(cfg, "intake", "import", str(csv_path))
    wall, cpu = time.perf_counter() - started, _children_cpu() - cpu
    control(server.base, "faults", "DELETE")
    log = control(server.base, "requests")["requests"]
    made = [d for d in deals_with_prefix(server.base, "csv:") if d not in before]
    lost_answers = sum(1 for r in log if r["status"] == 0)
    return {
        "rc": done.returncode,
        "wall": wall,
        "cpu": cpu,
        "requests": len(log),
        "refused": sum(1 for r in log if r["status"] not in (0, 200)),
        "resets": lost_answers,
        "created": len(made),
        "lost": rows - len(set(made)),
        "dup": len(made) - len(set(made)),
        "out": done.stdout[-600:] + done.stderr[-600:],
    }


def _children_cpu() -> float:
    """CPU seconds (user + system) of the finished child processes: the import's own work."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def api_phase(server: SandboxProcess, work: Path, partners_n: int, total: int) -> dict[str, Any]:
    from crm_bridge.bootstrap import bootstrap
    from crm_bridge.config import load_settings
    from crm_bridge.services.intake.keys import ApiKeys

    port = free_port()
    cfg = config(work, server.base, "api", port)
    assert cli(cfg, "provision").returncode == 0
    partners = seed_partners(server.base, cfg, partners_n)
    with bootstrap(load_settings(cfg)) as app:
        keys = ApiKeys(app.store.intake, app.portal)
        secrets = [keys.create(pid, now=app.clock()).key for pid in partners]
    server.reset()
    control(server.base, "requests", "DELETE")
    daemon = subprocess.Popen(
        [CLI, "--config", str(cfg), "run"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=cfg.parent,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            requests.get(f"{url}/healthz", timeout=1)
            break
        except requests.RequestException:
            time.sleep(0.1)
    per_partner = total // partners_n
    raced = per_partner // 4  # each partner's first quarter: customers another partner submits too
    answers: list[tuple[float, int, dict[str, Any]]] = []
    lock = threading.Lock()
    start = threading.Barrier(partners_n + 1)

    def partner(index: int) -> None:
        session = requests.Session()
        headers = {"Authorization": f"Bearer {secrets[index]}"}
        start.wait()
        for j in range(per_partner):
            # customers 0..raced-1 of partner 2k and 2k+1 are the same company: a channel conflict
            who = (index // 2) * 2 if j < raced else index
            body = {
                "customer_name": f"Клиент {who}-{j}",
                "email": f"api{who}-{j}@example.ru",
                "amount": "1000",
            }
            sent = time.perf_counter()
            resp = session.post(f"{url}/v1/leads", json=body, headers={**headers, "Idempotency-Key": f"{j}"})
            took = time.perf_counter() - sent
            with lock:
                answers.append((took, resp.status_code, resp.json()))

    threads = [threading.Thread(target=partner, args=(i,)) for i in range(partners_n)]
    for t in threads:
        t.start()
    start.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    last_answer = time.perf_counter() - began
    db = work / "api.db"
    while True:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
            (left,) = conn.execute(
                "SELECT count(*) FROM engine_intake_registrations WHERE source='api' AND status='pending'"
            ).fetchone()
        if left == 0:
            break
        time.sleep(0.05)
    in_crm = time.perf_counter() - began
    daemon.terminate()
    daemon.wait(60)
    log = control(server.base, "requests")["requests"]
    made = deals_with_prefix(server.base, "api:")
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        conflicts = conn.execute(
            "SELECT count(*), count(DISTINCT email) FROM engine_intake_registrations WHERE conflict"
        ).fetchone()
        winners = conn.execute(
            "SELECT count(*) FROM (SELECT email FROM engine_intake_registrations WHERE NOT conflict "
            "GROUP BY email HAVING count(*) > 1)"
        ).fetchone()[0]
    times = sorted(a[0] for a in answers)
    writer_requests = len(log)
    refused = sum(1 for r in log if r["status"] not in (0, 200))
    bound = last_answer + max(0, writer_requests - refused - BURST) / RATE + LATENCY_MS / 1000
    return {
        "answers": len(answers),
        "accepted": sum(1 for a in answers if a[1] == 202),
        "p50": statistics.median(times),
        "p95": times[int(0.95 * (len(times) - 1))],
        "last_answer": last_answer,
        "in_crm": in_crm,
        "bound": bound,
        "requests": writer_requests,
        "refused": sum(1 for r in log if r["status"] not in (0, 200)),
        "creates": sum(1 for r in log if "crm.deal.add" in r["body"]),
        "formula": math.ceil(total / BURST) + 1,
        "lost": total - len(set(made)),
        "dup": len(made) - len(set(made)),
        "conflicts": conflicts[0],
        "raced": partners_n // 2 * raced,
        "double_winners": winners,
    }


def compile_installed() -> None:
    """Bytecode for crm-bridge and its adapters, as a regular install has it."""
    for name in ("crm_bridge", "crm_bridge_bitrix24", "crm_bridge_amocrm", "crm_bridge_hubspot"):
        spec = importlib.util.find_spec(name)
        for location in (spec.submodule_search_locations or []) if spec else []:
            compileall.compile_dir(location, quiet=1)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--api", type=int, default=2_000)
    parser.add_argument("--partners", type=int, default=50)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    compile_installed()
    with tempfile.TemporaryDirectory(prefix="bench-intake-") as tmp:
        work = Path(tmp)
        port_file = work / "sandbox.port"
        server = SandboxProcess([sys.executable, __file__, "--serve", str(port_file)], port_file)
        try:
            rows: list[str] = []
            phases: list[tuple[str, dict[str, Any]]] = []
            if args.rows:  # --rows 0: only the API phase
                plain = import_phase(server, work, "plain", args.partners, args.rows, None)
                faults = {"drop_after_fraction": RESET_SHARE, "drop_after_match": "crm.deal.add", "seed": 18}
                resets = import_phase(server, work, "resets", args.partners, args.rows, faults)
                phases = [(f"import {args.rows:,}", plain), (f"import {args.rows:,}, 5% resets", resets)]
            for label, r in phases:
                formula = math.ceil(args.rows / BURST)
                bound = max(0, r["requests"] - r["refused"] - BURST) / RATE
                ratio = r["wall"] / bound if bound else float("nan")
                rows.append(
                    f"| {label} | {r['requests']} (ceil(N/50) = {formula}) | {r['wall']:.1f} s | "
                    f"{bound:.1f} s | **{ratio:.2f}** (crm-bridge CPU {r['cpu']:.1f} s) | "
                    f"resets {r['resets']}, rc {r['rc']}, "
                    f"lost {r['lost']}, dup {r['dup']} |"
                )
                if r["rc"] != 0:
                    print(r["out"], file=sys.stderr)
            api = api_phase(server, work, args.partners, args.api)
            rows.append(
                f"| {args.api:,} API submissions, {args.partners} partners at once | {api['requests']}: "
                f"{api['creates']} create batches, {api['refused']} refused by the portal "
                f"(ceil(M/50)+1 = {api['formula']}) | answers p50 {api['p50'] * 1000:.0f} ms, "
                f"p95 **{api['p95'] * 1000:.0f} ms**; last answer {api['last_answer']:.1f} s; all in the CRM "
                f"{api['in_crm']:.1f} s | {api['bound']:.1f} s | **{api['in_crm'] / api['bound']:.2f}** | "
                f"202: {api['accepted']}/{api['answers']}, lost {api['lost']}, dup {api['dup']}, conflicts "
                f"{api['conflicts']} of {api['raced']} raced (customers with two winners: "
                f"{api['double_winners']}) |"
            )
        finally:
            server.stop()
    load = os.getloadavg()[0]
    print(f"machine: {os.cpu_count()} CPUs, load average {load:.1f} at the end")
    print("| phase | requests (formula) | wall | bound | ratio | exactly once |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
