"""Real processes against the Bitrix24 sandbox: a CSV import killed with SIGKILL while the CRM holds its
answer to a create (at the first lead, a third and two thirds) and run again creates every lead exactly
once; ``crm-bridge run`` serves its port, logs JSON with ``--log-format json`` and exits 0 on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sandbox_fixture import PATIENCE, AnswerGate

from crm_bridge.bootstrap import bootstrap
from crm_bridge.cli import main
from crm_bridge.config import load_settings
from crm_bridge.domain.layout import FieldEntity
from crm_bridge.sandbox.server import Sandbox

pytestmark = pytest.mark.slow

CLI = str(Path(sys.executable).parent / "crm-bridge")
ROWS = 400


def write_config(tmp_path: Path, sandbox: Sandbox, port: int = 8080, concurrency: int = 2) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(
        textwrap.dedent(
            f"""
            locale: en
            crm:
              kind: bitrix24
              bitrix24:
                webhook_url: ${{B24_WEBHOOK_URL}}
                rate_limit: {{burst: 10000, per_second: 10000}}
                max_concurrency: {concurrency}
            state:
              url: sqlite:///{tmp_path / "state.db"}
            managers:
              - {{key: ivan, name: Иван Петров, crm_user_id: 2}}
            intake:
              listen_port: {port}
            schedule:
              sync: {{every: 1h}}
              tiers: {{every: 1h}}
            """
        ),
        encoding="utf-8",
    )
    (tmp_path / ".env").write_text(f"B24_WEBHOOK_URL={sandbox.config_snippet()['env']['B24_WEBHOOK_URL']}\n")
    return path


@pytest.fixture
def sandbox(answer_gate: AnswerGate) -> Iterator[Sandbox]:
    with Sandbox("bitrix24", sleep=answer_gate) as sb:
        yield sb


def csv_deals(sandbox: Sandbox) -> list[dict[str, object]]:
    return [
        d
        for d in sandbox.emulator.dump()["records"]["deal"]
        if str(d.get("ORIGIN_ID", "")).startswith("csv:")
    ]


def prepare_partner(sandbox: Sandbox, config: Path) -> str:
    assert main(["--config", str(config), "provision"]) == 0
    with bootstrap(load_settings(config)) as app:
        field = app.adapter.catalog().field(FieldEntity.PARTNER, "partner_type")  # type: ignore[attr-defined]
    created = sandbox.emulator.seed(
        {"companies": [{"TITLE": "ООО Альфа", field.code: field.options["reseller"]}]}
    )
    sandbox.advance(2)
    assert main(["--config", str(config), "sync"]) == 0
    return str(created["companies"][0])


def test_an_import_killed_at_any_moment_and_rerun_creates_every_lead_exactly_once(
    sandbox: Sandbox, tmp_path: Path, answer_gate: AnswerGate
) -> None:
    config = write_config(tmp_path, sandbox, concurrency=1)  # one request in flight: none but the held one
    partner = prepare_partner(sandbox, config)
    csv_path = tmp_path / "leads.csv"
    rows = [f"{partner};Клиент {i};c{i}@example.ru;;;{100 + i};" for i in range(ROWS)]
    csv_path.write_text(
        "partner_id;customer_name;email;phone;tax_id;amount;comment\n" + "\n".join(rows) + "\n"
    )
    sandbox.latency = 0.001  # the gate holds answers from inside the sandbox's latency sleep
    command = [CLI, "--config", str(config), "intake", "import", str(csv_path)]
    kills = 0
    for target in (1, ROWS // 3, 2 * ROWS // 3):
        # killed while the CRM's answer to a create is held: the leads are made, the import never hears
        # of them; nothing else is in flight that could land after the kill
        before = len(csv_deals(sandbox))
        answer_gate.hold(lambda at=max(target, before + 1): len(csv_deals(sandbox)) >= at)  # type: ignore[misc]
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            assert answer_gate.held.wait(PATIENCE), "the import made no progress"
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
            proc.wait(PATIENCE)
        finally:
            answer_gate.release()
            if proc.poll() is None:
                proc.kill()
                proc.wait(PATIENCE)
        assert max(target, before + 1) <= len(csv_deals(sandbox)) < ROWS
    sandbox.latency = 0.0
    assert kills == 3
    done = subprocess.run(command, capture_output=True, text=True, timeout=PATIENCE)
    assert done.returncode == 0, done.stderr
    deals = csv_deals(sandbox)
    assert len(deals) == ROWS
    assert len({d["ORIGIN_ID"] for d in deals}) == ROWS
    assert sorted(str(d["TITLE"]).split(" — ")[0] for d in deals) == sorted(
        f"Клиент {i}" for i in range(ROWS)
    )


def test_the_daemon_serves_its_port_logs_json_and_exits_0_on_sigterm(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    config = write_config(tmp_path, sandbox, port=free_port())
    prepare_partner(sandbox, config)
    port = load_settings(config).intake.listen_port
    proc = subprocess.Popen(
        [CLI, "--config", str(config), "--log-format", "json", "run", "--stop-timeout", "20"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        health = wait_for_health(port, proc)
        assert health["status"] == "ok"
        assert (
            "crm_bridge_job_runs_total" in requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        )
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=PATIENCE)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert lines and all({"ts", "level", "logger", "message"} <= set(line) for line in lines)
    assert any("received SIGTERM" in line["message"] for line in lines)
    assert "stopped" in out


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_health(port: int, proc: subprocess.Popen[str]) -> dict[str, object]:
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        try:
            return dict(requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).json())
        except requests.ConnectionError:
            time.sleep(0.1)
    raise AssertionError("the daemon never answered /healthz")
