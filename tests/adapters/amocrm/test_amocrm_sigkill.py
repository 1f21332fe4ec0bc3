"""A CSV import of partner leads into amoCRM killed with SIGKILL, then run again: every lead exactly once.
Six kills, none racing the import (the sandbox holds an answer while the process is killed): three right
after an add was answered (the next answer held), then three while the answer to the add that made the
first lead, a third and two thirds of them is held (amoCRM made the leads, the import never hears)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sandbox_fixture import PATIENCE, AnswerGate

from crm_bridge.bootstrap import bootstrap
from crm_bridge.cli import main
from crm_bridge.config import load_settings
from crm_bridge.domain.layout import FieldEntity
from crm_bridge.sandbox.server import Sandbox

pytestmark = pytest.mark.slow

CLI = str(Path(sys.executable).parent / "crm-bridge")
# 20 complex adds of 50 (each lead with its customer as a new contact); the closing note's figure is
# taken with AMO_SIGKILL_ROWS=10000
ROWS = int(os.environ.get("AMO_SIGKILL_ROWS", "1000"))


@pytest.fixture
def sandbox(answer_gate: AnswerGate) -> Iterator[Sandbox]:
    with Sandbox("amocrm", sleep=answer_gate) as sb:
        yield sb


def write_config(tmp_path: Path, sandbox: Sandbox) -> Path:
    path = tmp_path / "config.yaml"
    base_url = sandbox.config_snippet()["crm"]["amocrm"]["base_url"]
    path.write_text(
        f"""
locale: en
crm:
  kind: amocrm
  amocrm:
    base_url: {base_url}
    access_token: ${{AMOCRM_ACCESS_TOKEN}}
    rate_limit: {{burst: 10000, per_second: 10000}}
    max_concurrency: 1
state:
  url: sqlite:///{tmp_path / "state.db"}
managers:
  - {{key: ivan, name: Иван Петров, crm_user_id: 8000002}}
""",
        encoding="utf-8",
    )
    token = sandbox.config_snippet()["env"]["AMOCRM_ACCESS_TOKEN"]
    (tmp_path / ".env").write_text(f"AMOCRM_ACCESS_TOKEN={token}\n")
    return path


def csv_leads(sandbox: Sandbox) -> list[dict[str, object]]:
    out = []
    for lead in sandbox.emulator.dump()["leads"]:
        values = {v["field_code"]: v["values"][0]["value"] for v in lead.get("custom_fields_values") or []}
        if str(values.get("CRM_BRIDGE_EXT_ID", "")).startswith("csv:"):
            out.append({**lead, "ext": values["CRM_BRIDGE_EXT_ID"]})
    return out


def leads_made(sandbox: Sandbox) -> int:
    """Leads amoCRM holds (read from its state without copying it: the gate asks on every answer)."""
    return len(sandbox.emulator.state.records.get("leads", {}))  # type: ignore[attr-defined]


def killed_while_held(command: list[str], gate: AnswerGate) -> None:
    """Run ``command`` and SIGKILL it while the gate holds an answer; the gate is released afterwards."""
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert gate.held.wait(PATIENCE), "the import made no progress"
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(PATIENCE) == -signal.SIGKILL
    finally:
        gate.release()
        if proc.poll() is None:
            proc.kill()
            proc.wait(PATIENCE)


def test_an_import_killed_at_any_moment_and_rerun_creates_every_lead_exactly_once(
    sandbox: Sandbox, tmp_path: Path, answer_gate: AnswerGate
) -> None:
    config = write_config(tmp_path, sandbox)
    assert main(["--config", str(config), "provision"]) == 0
    with bootstrap(load_settings(config)) as app:
        field = app.adapter.catalog().field(FieldEntity.PARTNER, "partner_type")  # type: ignore[attr-defined]
    company = {
        "name": "ООО Альфа",
        "custom_fields_values": [
            {"field_id": int(field.code), "values": [{"enum_id": field.options["reseller"]}]}
        ],
    }
    partner = sandbox.emulator.seed({"companies": [company]})["companies"][0]
    sandbox.advance(2)
    assert main(["--config", str(config), "sync"]) == 0
    csv_path = tmp_path / "leads.csv"
    rows = [f"{partner};Клиент {i};c{i}@example.ru;;;{100 + i};" for i in range(ROWS)]
    csv_path.write_text(
        "partner_id;customer_name;email;phone;tax_id;amount;comment\n" + "\n".join(rows) + "\n"
    )
    sandbox.latency = 0.001  # the gate holds answers from inside the sandbox's latency sleep
    command = [CLI, "--config", str(config), "intake", "import", str(csv_path)]
    for _ in range(3):  # each run is killed as soon as one more array of leads was answered
        before = leads_made(sandbox)
        # the add that makes a lead is answered; the import (one request at a time) then waits for the
        # answer to its next request, which is held
        answer_gate.hold(lambda at=before: leads_made(sandbox) > at, passing=1)  # type: ignore[misc]
        killed_while_held(command, answer_gate)
        assert before < len(csv_leads(sandbox)) < ROWS
    for target in (1, ROWS // 3, 2 * ROWS // 3):  # then killed once a third and two thirds of them stand
        before = leads_made(sandbox)
        answer_gate.hold(lambda at=max(target, before + 1): leads_made(sandbox) >= at)  # type: ignore[misc]
        killed_while_held(command, answer_gate)
        assert max(target, before + 1) <= len(csv_leads(sandbox)) < ROWS
    sandbox.latency = 0.0
    done = subprocess.run(command, capture_output=True, text=True, timeout=PATIENCE)
    assert done.returncode == 0, done.stderr
    leads = csv_leads(sandbox)
    assert len(leads) == ROWS and len({lead["ext"] for lead in leads}) == ROWS
    assert sorted(str(lead["name"]).split(" — ")[0] for lead in leads) == sorted(
        f"Клиент {i}" for i in range(ROWS)
    )
    # each customer became exactly one contact, linked to its lead (no contact without its lead)
    contacts = sandbox.emulator.dump()["contacts"]
    assert all(len(lead["_contact_ids"]) == 1 for lead in leads)
    assert sorted(c["name"] for c in contacts) == sorted(f"Клиент {i}" for i in range(ROWS))
