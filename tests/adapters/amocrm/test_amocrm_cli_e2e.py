"""Every verb through the CLI against the amoCRM sandbox, as an admin runs them: validate, doctor
(before and after provisioning), provision --dry-run, provision (twice), funnels (amoCRM's palette),
sync --once (tasks bound to the leads, the tier pushed to the company), intake import (twice: no
duplicate, the customer as a linked contact), tiers, the block page ending a command with exit 1, and
the demo."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from amo_support import writes

from crm_bridge.sandbox.server import Sandbox

pytestmark = pytest.mark.slow

CONFIG = """
locale: en
crm:
  kind: amocrm
  amocrm:
    base_url: {base_url}
    access_token: ${{AMOCRM_ACCESS_TOKEN}}
    rate_limit: {{burst: 1000, per_second: 1000}}
state:
  url: sqlite:///{db}
head: {{name: Head, crm_user_id: 1}}
managers:
  - {{key: anna, name: Anna, crm_user_id: 17}}
  - {{key: oleg, name: Oleg, crm_user_id: 23}}
curators:
  - {{key: dmitry, name: Dmitry, crm_user_id: 12}}
"""
CLI = [sys.executable, "-c", "from crm_bridge.cli import main; main()"]


def _cli(tmp_path: Path, sandbox: Sandbox, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_BRIDGE")}
    env.update(
        {"AMOCRM_ACCESS_TOKEN": sandbox.config_snippet()["env"]["AMOCRM_ACCESS_TOKEN"], "COLUMNS": "200"}
    )
    return subprocess.run(
        [*CLI, "--config", str(tmp_path / "config.yaml"), *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_every_verb_on_amocrm(tmp_path: Path, sandbox: Sandbox) -> None:
    base_url = sandbox.config_snippet()["crm"]["amocrm"]["base_url"]
    (tmp_path / "config.yaml").write_text(CONFIG.format(base_url=base_url, db=tmp_path / "state.db"), "utf-8")
    sandbox.emulator.seed({"users": [{"id": i, "name": f"User {i}"} for i in (1, 12, 17, 23)]})

    assert _cli(tmp_path, sandbox, "validate").returncode == 0
    before = _cli(tmp_path, sandbox, "doctor")
    assert (
        before.returncode == 1 and "1 of 50 lead pipelines used; provisioning needs 4 more" in before.stdout
    )
    assert _cli(tmp_path, sandbox, "doctor", "--before-provision").returncode == 0
    dry = _cli(tmp_path, sandbox, "provision", "--dry-run")
    assert dry.returncode == 0 and writes(sandbox) == 0

    sandbox.log.clear()
    first = _cli(tmp_path, sandbox, "provision")
    made = writes(sandbox)
    sandbox.log.clear()
    second = _cli(tmp_path, sandbox, "provision")

    assert first.returncode == 0, first.stderr
    assert made == 3  # the four pipelines with their statuses, then one field array per entity
    assert second.returncode == 0 and "nothing written" in second.stdout and writes(sandbox) == 0
    funnels = _cli(tmp_path, sandbox, "funnels")
    assert "#98cbff" in funnels.stdout and "#ccff66" in funnels.stdout  # palette; won keeps amoCRM's
    assert _cli(tmp_path, sandbox, "doctor").returncode == 0

    state = sandbox.emulator.dump()
    pipeline = next(p for p in state["pipelines"] if p["name"] == "Partner lead processing")
    assert [s["id"] for s in pipeline["statuses"] if s["id"] in (142, 143)] == [142, 143]
    ptype = next(f for f in state["custom_fields"]["companies"] if f["code"] == "CRM_BRIDGE_PARTNER_TYPE")
    reseller = next(e["id"] for e in ptype["enums"] if e["value"] == "Reseller")
    ref = next(f for f in state["custom_fields"]["leads"] if f["code"] == "CRM_BRIDGE_PARTNER_REF")
    assert ref["is_api_only"]
    partner = sandbox.emulator.seed(
        {
            "companies": [
                {
                    "name": "Vector LLC",
                    "custom_fields_values": [{"field_id": ptype["id"], "values": [{"enum_id": reseller}]}],
                }
            ]
        }
    )["companies"][0]
    sandbox.emulator.seed(
        {
            "leads": [
                {
                    "name": f"Lead {i}",
                    "pipeline_id": pipeline["id"],
                    "_embedded": {"companies": [{"id": partner}]},
                }
                for i in range(3)
            ]
        }
    )
    sandbox.advance(2)

    synced = _cli(tmp_path, sandbox, "sync", "--once")

    assert synced.returncode == 0, synced.stderr
    state = sandbox.emulator.dump()
    lead_ids = {r["id"] for r in state["leads"] if r["pipeline_id"] == pipeline["id"]}
    tasks = [t for t in state["tasks"] if t["entity_type"] == "leads" and t["entity_id"] in lead_ids]
    assert len(tasks) == 3 and {t["responsible_user_id"] for t in tasks} <= {17, 23}
    assert all(t["complete_till"] > time.time() for t in tasks)
    company = next(c for c in state["companies"] if c["id"] == partner)
    tier = next(f for f in state["custom_fields"]["companies"] if f["code"] == "CRM_BRIDGE_PARTNER_TIER")
    assert any(v["field_id"] == tier["id"] for v in company["custom_fields_values"])

    (tmp_path / "leads.csv").write_text(
        "partner_id,customer_name,email,phone,tax_id,amount,comment\n"
        f"{partner},Ivan Petrov,ivan@example.com,+79161234567,7707083893,150000,\n"
        "99999999,Nobody,n@example.com,,,5,\n",
        "utf-8",
    )
    imported = _cli(tmp_path, sandbox, "intake", "import", "leads.csv")
    again = _cli(tmp_path, sandbox, "intake", "import", "leads.csv")

    assert imported.returncode == 1 and "99999999" in (tmp_path / "leads.rejects.csv").read_text("utf-8-sig")
    assert again.returncode == 1
    state = sandbox.emulator.dump()
    made_leads = [r for r in state["leads"] if r["name"].startswith("Ivan Petrov")]
    assert len(made_leads) == 1 and len(made_leads[0]["_contact_ids"]) == 1
    assert _cli(tmp_path, sandbox, "tiers", "evaluate").returncode == 0

    sandbox.emulator.limits.blocked_until = time.time() + 3600
    blocked = _cli(tmp_path, sandbox, "sync", "--once")
    assert (
        blocked.returncode == 1 and "amoCRM has blocked this integration" in blocked.stderr + blocked.stdout
    )
    doctor = _cli(tmp_path, sandbox, "doctor")
    assert doctor.returncode == 1 and "amoCRM has blocked" in " ".join(doctor.stdout.split())


def test_the_demo_runs_on_amocrm(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AMOCRM_", "CRM_BRIDGE"))}
    env["COLUMNS"] = "200"
    done = subprocess.run(
        [*CLI, "demo", "--crm", "amocrm", "--no-rate-limit", "--out", "out"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert "Обработка партнёрских лидов" in done.stdout and "Изменения уровней" in done.stdout
    assert "Показатели отдела" in done.stdout and "Вознаграждения за " in done.stdout  # the demo is ru
