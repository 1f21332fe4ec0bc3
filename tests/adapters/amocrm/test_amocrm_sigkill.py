"""A CSV import of partner leads into amoCRM killed with SIGKILL at arbitrary moments (between an add
being answered and its ids being recorded, among others), then run again: every lead exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

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
PATIENCE = 120.0  # upper bound for a process to reach a state; never asserted on as a duration


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox("amocrm") as sb:
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


def adds(sandbox: Sandbox) -> int:
    """Arrays of leads amoCRM answered (customers come with their contact through the complex add)."""
    counts = sandbox.counts()
    return counts.get("POST /api/v4/leads", 0) + counts.get("POST /api/v4/leads/complex", 0)


def created(sandbox: Sandbox) -> int:
    """Leads amoCRM created, read from the request log (cheap: a dump of 10,000 leads every 10 ms
    starves the import it watches)."""
    return sum(
        int(entry["records"])
        for entry in sandbox.requests()
        if entry["method"] == "POST"
        and entry["endpoint"] in ("/api/v4/leads", "/api/v4/leads/complex")
        and entry["status"] == 200
    )


def test_an_import_killed_at_any_moment_and_rerun_creates_every_lead_exactly_once(
    sandbox: Sandbox, tmp_path: Path
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
    sandbox.latency = 0.2  # every answer takes 200 ms: the import lasts long enough to be killed
    command = [CLI, "--config", str(config), "intake", "import", str(csv_path)]
    kills = 0
    for _ in range(3):  # each run is killed as soon as one more array of leads was answered
        before = adds(sandbox)
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + PATIENCE
        while proc.poll() is None and adds(sandbox) <= before:
            assert time.monotonic() < deadline, "the import made no progress"
            time.sleep(0.005)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait(PATIENCE)
    sandbox.latency = 0.05  # then killed once a third and two thirds of the leads stand
    for target in (1, ROWS // 3, 2 * ROWS // 3):
        before = created(sandbox)
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + PATIENCE
        while proc.poll() is None and created(sandbox) < max(target, before + 1):
            assert time.monotonic() < deadline, "the import made no progress"
            time.sleep(0.01)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait(PATIENCE)
    sandbox.latency = 0.0
    assert kills >= 1, proc.stderr.read().decode() if proc.stderr else ""
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
