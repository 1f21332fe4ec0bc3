"""The intake write path end to end on the Bitrix24 sandbox, through the CLI: a first import right after
``provision`` (no sync) costs ceil(N/50) create requests and a small constant, a connection reset after
a committed batch is resolved in the same run, and a company that is not a partner is a clear reject.
Request counts come from the sandbox's request log."""

from __future__ import annotations

import math
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
import requests
from sandbox_fixture import PATIENCE, AnswerGate
from test_engine_bitrix24 import cli, config_text

from crm_bridge.bootstrap import bootstrap
from crm_bridge.config import load_settings
from crm_bridge.daemon.engine import Engine
from crm_bridge.domain.layout import FieldEntity
from crm_bridge.sandbox.faults import FaultPlan
from crm_bridge.sandbox.server import Sandbox
from crm_bridge.services.intake.api import IntakeApi
from crm_bridge.services.intake.keys import ApiKeys

SETUP_REQUESTS = 3  # reading the layout (cached after provision), the partner lookup: a small constant


@pytest.fixture
def sandbox(answer_gate: AnswerGate) -> Iterator[Sandbox]:
    with Sandbox("bitrix24", sleep=answer_gate) as sb:
        yield sb


@pytest.fixture
def config(tmp_path: Path, sandbox: Sandbox) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(config_text(f"sqlite:///{tmp_path / 'state.db'}"), encoding="utf-8")
    (tmp_path / ".env").write_text(f"B24_WEBHOOK_URL={sandbox.config_snippet()['env']['B24_WEBHOOK_URL']}\n")
    return path


def partners(sandbox: Sandbox, config: Path, count: int) -> list[str]:
    """``count`` partner companies made in the CRM by hand (never synced) and one plain company."""
    with bootstrap(load_settings(config)) as app:
        catalog = app.adapter.catalog()  # type: ignore[attr-defined]
    ptype = catalog.field(FieldEntity.PARTNER, "partner_type")
    rows: list[dict[str, Any]] = [
        {"TITLE": f"Партнёр {i}", ptype.code: ptype.options["reseller"]} for i in range(count)
    ]
    rows.append({"TITLE": "Просто клиент"})  # a company, not a partner
    return [str(c) for c in sandbox.emulator.seed({"companies": rows})["companies"]]


def write_rows(path: Path, partner_ids: list[str], n: int) -> Path:
    lines = ["partner_id;customer_name;email;phone;tax_id;amount;comment"]
    lines += [
        f"{partner_ids[i % len(partner_ids)]};Клиент {i};c{i}@example.ru;;;{100 + i};" for i in range(n)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    return path


def calls(sandbox: Sandbox) -> dict[str, int]:
    """Requests by what they did: batches carrying creates, batches of lookups, other requests."""
    out = {"create": 0, "lookup": 0, "other": 0}
    for entry in sandbox.requests():
        body = unquote(entry["body"])
        if "crm.deal.add" in body:
            out["create"] += 1
        elif "crm.deal.list" in body or "crm.company.list" in body:
            out["lookup"] += 1
        else:
            out["other"] += 1
    return out


def our_leads(sandbox: Sandbox) -> list[str]:
    return [
        str(d["ORIGIN_ID"])
        for d in sandbox.emulator.dump()["records"]["deal"]
        if str(d.get("ORIGIN_ID", "")).startswith("csv:")
    ]


def test_a_first_import_right_after_provision_costs_one_request_per_50_leads_and_a_small_constant(
    sandbox: Sandbox, config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(config, capsys, "provision")[0] == 0
    ids = partners(sandbox, config, 7)[:-1]
    path = write_rows(tmp_path / "leads.csv", ids, 260)
    sandbox.log.clear()
    code, out = cli(config, capsys, "intake", "import", str(path))
    assert code == 0, out
    made = calls(sandbox)
    assert made["create"] == math.ceil(260 / 50)  # no lookup before any create
    assert made["lookup"] + made["other"] <= SETUP_REQUESTS, made
    leads = our_leads(sandbox)
    assert len(leads) == len(set(leads)) == 260
    sandbox.log.clear()
    code, out = cli(config, capsys, "intake", "import", str(path))  # a rerun: all known from the store
    assert code == 0 and calls(sandbox)["create"] == 0 and len(our_leads(sandbox)) == 260


def test_resets_after_committed_batches_are_looked_up_at_once_and_the_import_finishes_in_one_run(
    sandbox: Sandbox, config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(config, capsys, "provision")[0] == 0
    ids = partners(sandbox, config, 3)[:-1]
    path = write_rows(tmp_path / "leads.csv", ids, 500)
    sandbox.log.clear()
    # a seeded fifth of the create batches is committed by the portal, then the connection is reset
    sandbox.faults.set(FaultPlan(drop_after_fraction=0.2, drop_after_match="crm.deal.add", seed=7))
    code, out = cli(config, capsys, "intake", "import", str(path))
    assert code == 0, out
    dropped = [r for r in sandbox.requests() if r["status"] == 0]
    assert dropped, "the fault plan reset no connection: pick another seed"
    leads = our_leads(sandbox)
    assert len(leads) == 500 and len(set(leads)) == 500  # lost 0, duplicated 0
    assert re.search(rf"answers lost, looked up and finished\W+{50 * len(dropped)}\b", out), out
    made = calls(sandbox)
    assert made["create"] == math.ceil(500 / 50)  # the portal had committed them: none sent again
    assert made["lookup"] <= 1 + SETUP_REQUESTS  # the uncertain leads looked up 2,500 to a request


def test_a_company_that_is_not_a_partner_is_a_clear_rejected_row(
    sandbox: Sandbox, config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(config, capsys, "provision")[0] == 0
    *ids, plain = partners(sandbox, config, 1)
    path = tmp_path / "leads.csv"
    path.write_text(
        "partner_id;customer_name;email;phone;tax_id;amount;comment\n"
        f"{ids[0]};ООО Ромашка;r@x.ru;;;;\n"
        f"{plain};ООО Лютик;l@x.ru;;;;\n"
        f"999999;ООО Астра;a@x.ru;;;;\n",
        encoding="utf-8-sig",
    )
    code, out = cli(config, capsys, "intake", "import", str(path))
    assert code == 1
    rejects = (tmp_path / "leads.rejects.csv").read_text(encoding="utf-8-sig")
    assert f"partner_id {plain}: no such partner in the CRM" in rejects
    assert "partner_id 999999: no such partner in the CRM" in rejects
    assert len(our_leads(sandbox)) == 1


CLI = str(Path(sys.executable).parent / "crm-bridge")


def queue_api_leads(config: Path, partner_ids: list[str], n: int) -> None:
    """``n`` leads submitted through the API use case (registered and queued, not yet in the CRM)."""
    with bootstrap(load_settings(config)) as app:
        keys = ApiKeys(app.store.intake, app.portal)
        engine = Engine(app)
        api = IntakeApi(keys, engine.intake_service(), app.clock)
        secrets = {pid: keys.create(pid, now=app.clock()).key for pid in partner_ids}
        for i in range(n):
            pid = partner_ids[i % len(partner_ids)]
            body = {"customer_name": f"Клиент {i}", "email": f"api{i}@example.ru"}
            assert api.submit(secrets[pid], body, f"order-{i}").kind == "accepted"


def api_leads(sandbox: Sandbox) -> list[str]:
    return [
        str(d["ORIGIN_ID"])
        for d in sandbox.emulator.dump()["records"]["deal"]
        if str(d.get("ORIGIN_ID", "")).startswith("api:")
    ]


@pytest.mark.slow
def test_the_intake_writer_killed_mid_queue_and_restarted_creates_every_queued_lead_exactly_once(
    sandbox: Sandbox, config: Path, capsys: pytest.CaptureFixture[str], answer_gate: AnswerGate
) -> None:
    # one request in flight (config_text allows 4): while the gate holds an answer no other create is
    # under way, so the kill is mid-queue (four in flight made a wave of 200 that ended at 600)
    one_at_a_time = (
        config.read_text(encoding="utf-8")
        .replace("rate_limit: {burst: 10000, per_second: 10000}", "rate_limit: {burst: 1, per_second: 10000}")
        .replace("max_concurrency: 4", "max_concurrency: 1")
    )
    assert "max_concurrency: 1" in one_at_a_time
    config.write_text(one_at_a_time, encoding="utf-8")
    assert cli(config, capsys, "provision")[0] == 0
    ids = partners(sandbox, config, 4)[:-1]
    rows = 600  # twelve create batches
    queue_api_leads(config, ids, rows)
    assert api_leads(sandbox) == []
    sandbox.latency = 0.001  # the gate holds answers from inside the sandbox's latency sleep
    command = [CLI, "--config", str(config), "intake", "drain"]
    kills = 0
    for target in (1, rows // 3, 2 * rows // 3):  # killed while the CRM's answer to a create is held
        before = len(api_leads(sandbox))
        answer_gate.hold(lambda at=max(target, before + 1): len(api_leads(sandbox)) >= at)  # type: ignore[misc]
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            assert answer_gate.held.wait(PATIENCE), "the writer made no progress"
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
            proc.wait(PATIENCE)
        finally:
            answer_gate.release()
            if proc.poll() is None:
                proc.kill()
                proc.wait(PATIENCE)
        assert before < len(api_leads(sandbox)) < rows
    sandbox.latency = 0.0
    assert kills == 3
    done = subprocess.run(command, capture_output=True, text=True, timeout=PATIENCE)
    assert done.returncode == 0, done.stderr
    leads = api_leads(sandbox)
    assert len(leads) == rows and len(set(leads)) == rows  # lost 0, duplicated 0
    with bootstrap(load_settings(config)) as app:
        assert app.store.intake.queue_size(app.portal, "api") == 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_daemon(config: Path, url: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [CLI, "--config", str(config), "run"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + PATIENCE
    while True:
        assert proc.poll() is None, "the daemon exited"
        assert time.monotonic() < deadline, "the daemon did not start"
        try:
            requests.get(f"{url}/healthz", timeout=1)
            return proc
        except requests.RequestException:
            time.sleep(0.05)


@pytest.mark.slow
def test_a_burst_over_http_is_answered_at_once_and_survives_a_sigkill_of_the_daemons_writer(
    sandbox: Sandbox, config: Path, capsys: pytest.CaptureFixture[str], answer_gate: AnswerGate
) -> None:
    """Partners post at once to ``crm-bridge run``; the daemon is SIGKILLed while its intake writer is
    mid-queue and started again: every lead ends up in the CRM exactly once, each customer two partners
    raced for has exactly one winner, and the requests are one partner lookup for all partners, the
    creates in batches of 50 and a lookup for the batch the kill left uncertain."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    base = config.read_text(encoding="utf-8").replace(
        "rate_limit: {burst: 10000, per_second: 10000}", "rate_limit: {burst: 1, per_second: 2}"
    )
    config.write_text(
        base
        + f"intake: {{listen_port: {port}}}\n"
        + "schedule: {sync: {enabled: false}, distribute: {enabled: false}, escalate: {enabled: false}, "
        + "tiers: {enabled: false}, notify: {enabled: false}}\n",
        encoding="utf-8",
    )
    assert cli(config, capsys, "provision")[0] == 0
    ids = partners(sandbox, config, 6)[:-1]
    with bootstrap(load_settings(config)) as app:
        keys = ApiKeys(app.store.intake, app.portal)
        secrets = [keys.create(pid, now=app.clock()).key for pid in ids]
    sandbox.log.clear()
    sandbox.latency = 0.001  # the gate holds answers from inside the sandbox's latency sleep
    # the answer to the first create batch is held: the CRM has stored it, the writer waits for it
    answer_gate.hold(lambda: bool(api_leads(sandbox)))
    per_partner, raced = 50, 10
    total = per_partner * len(ids)
    answers: list[tuple[int, dict[str, Any], str, int]] = []  # status, body, customer, partner index
    lock = threading.Lock()
    start = threading.Barrier(len(ids))

    def partner(index: int) -> None:
        session = requests.Session()
        start.wait()
        for j in range(per_partner):
            who = (index // 2) * 2 if j < raced else index  # partners 2k and 2k+1: the same customers
            body = {"customer_name": f"Клиент {who}-{j}", "email": f"api{who}-{j}@example.ru"}
            headers = {"Authorization": f"Bearer {secrets[index]}", "Idempotency-Key": f"o-{j}"}
            resp = session.post(f"{url}/v1/leads", json=body, headers=headers, timeout=PATIENCE)
            with lock:
                answers.append((resp.status_code, resp.json(), body["email"], index))

    daemon = start_daemon(config, url)
    try:
        threads = [threading.Thread(target=partner, args=(i,)) for i in range(len(ids))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(PATIENCE)
        assert [a[0] for a in answers] == [202] * total
        assert answer_gate.held.wait(PATIENCE), "the writer made no progress"
        os.kill(daemon.pid, signal.SIGKILL)
        daemon.wait(PATIENCE)
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait(PATIENCE)
        answer_gate.release()
    assert 0 < len(api_leads(sandbox)) < total, "killed mid-queue"
    daemon = start_daemon(config, url)
    try:
        session = requests.Session()
        deadline = time.monotonic() + PATIENCE
        states: list[tuple[dict[str, Any], str]] = []
        for _, body, email, index in answers:  # as a partner learns it: GET the status URL until created
            headers = {"Authorization": f"Bearer {secrets[index]}"}
            while True:
                got = session.get(f"{url}{body['status_url']}", headers=headers, timeout=PATIENCE).json()
                if got["status"] == "created":
                    break
                assert got["status"] == "queued" and time.monotonic() < deadline, got
                time.sleep(0.1)
            states.append((got, email))
    finally:
        daemon.terminate()
        daemon.wait(PATIENCE)
    leads = api_leads(sandbox)
    assert len(leads) == total and len(set(leads)) == total  # lost 0, duplicated 0
    assert len({got["lead_id"] for got, _ in states}) == total
    by_customer: dict[str, list[bool]] = {}
    for got, email in states:
        by_customer.setdefault(email, []).append(got["conflict"])
    raced_for = {email: flags for email, flags in by_customer.items() if len(flags) > 1}
    assert len(raced_for) == len(ids) // 2 * raced
    assert all(sorted(flags) == [False, True] for flags in raced_for.values()), raced_for  # one winner
    count = calls(sandbox)
    assert count["create"] <= math.ceil(total / 50) + 3, count  # a part batch before and after the kill
    lookups = [unquote(r["body"]) for r in sandbox.requests() if "list" in unquote(r["body"])]
    assert sum("crm.company.list" in b for b in lookups) == 1, count  # every partner in one lookup
    assert sum("crm.deal.list" in b for b in lookups) <= 1, count  # the batch the kill left uncertain
