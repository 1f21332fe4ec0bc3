"""Through the CLI, as an admin runs it, against the HubSpot emulator (every request checked against
HubSpot's OpenAPI specs): validate, doctor, provision --dry-run, provision (twice: the second writes
nothing), sync --once (leads get a manager and a task on their deal, the partner its tier), intake
import (the customer a contact upserted by e-mail, associated to the lead with the partner's company)
and tiers list (report and rewards read only the state store: the demo runs them on HubSpot); and a
Starter account refused before anything is written."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hs_support import spec_sandbox, violations, writes

from crm_bridge.sandbox.server import Sandbox

CONFIG = """
locale: en
crm:
  kind: hubspot
  hubspot:
    base_url: ${HUBSPOT_BASE_URL}
    access_token: ${HUBSPOT_ACCESS_TOKEN}
    tier: TIER
    per_ten_seconds: 100000
    search_per_second: 10000
state:
  url: ${CRM_BRIDGE_STATE_URL}
head: {name: Head, crm_user_id: "100000001"}
managers:
  - {key: anna, name: Anna, crm_user_id: "100000002"}
  - {key: oleg, name: Oleg, crm_user_id: "100000003"}
curators:
  - {key: dmitry, name: Dmitry, crm_user_id: "100000001"}
"""
CLI = [str(Path(sys.executable).parent / "crm-bridge")]


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    # the account's 10-second window as big as the config's budget (the doctor compares them)
    with spec_sandbox(emulator_options={"per_ten_seconds": 100_000}) as sb:
        yield sb
        assert not violations(sb), violations(sb)


def _cli(
    tmp_path: Path, sandbox: Sandbox, *args: str, tier: str = "professional"
) -> subprocess.CompletedProcess[str]:
    (tmp_path / "config.yaml").write_text(CONFIG.replace("TIER", tier), encoding="utf-8")
    env = {
        **os.environ,
        "HUBSPOT_BASE_URL": sandbox.base_url,
        "HUBSPOT_ACCESS_TOKEN": sandbox.config_snippet()["env"]["HUBSPOT_ACCESS_TOKEN"],
        "CRM_BRIDGE_STATE_URL": f"sqlite:///{tmp_path / 'state.db'}",
    }
    return subprocess.run(
        [*CLI, "--config", str(tmp_path / "config.yaml"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )


@pytest.mark.slow
def test_every_verb_through_the_cli(tmp_path: Path, sandbox: Sandbox) -> None:
    assert _cli(tmp_path, sandbox, "validate").returncode == 0
    before = _cli(tmp_path, sandbox, "doctor", "--before-provision")
    assert before.returncode == 0, before.stdout + before.stderr
    dry = _cli(tmp_path, sandbox, "provision", "--dry-run")
    assert dry.returncode == 0 and writes(sandbox) == [], dry.stderr

    sandbox.log.clear()
    first = _cli(tmp_path, sandbox, "provision")
    provisioned = sandbox.request_count()
    sandbox.log.clear()
    second = _cli(tmp_path, sandbox, "provision")

    assert first.returncode == 0, first.stderr
    assert provisioned == 25  # test_hubspot_counts: the provisioning formula
    assert second.returncode == 0 and "nothing written" in second.stdout, second.stdout
    assert writes(sandbox) == []
    doctor = _cli(tmp_path, sandbox, "doctor")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr

    state = sandbox.emulator.dump()
    leads = next(p for p in state["pipelines"]["deals"] if p["label"] == "Partner lead processing")
    first_stage = min(leads["stages"], key=lambda s: s["displayOrder"])
    partner = sandbox.emulator.seed(
        {"companies": [{"properties": {"name": "Vector LLC", "crm_bridge_partner_type": "reseller"}}]}
    )["companies"][0]
    [label] = [lb["typeId"] for lb in state["labels"] if lb["from"] == "deals"]  # made by provisioning
    deal = {"pipeline": leads["id"], "dealstage": first_stage["id"]}
    by_label = [
        {
            "to": {"id": str(partner)},
            "types": [{"associationCategory": "USER_DEFINED", "associationTypeId": label}],
        }
    ]
    sandbox.emulator.seed(
        {
            "deals": [
                {"properties": {**deal, "dealname": f"Lead {i}"}, "associations": by_label} for i in range(3)
            ]
        }
    )
    sandbox.advance(2)

    synced = _cli(tmp_path, sandbox, "sync", "--once")

    assert synced.returncode == 0, synced.stderr
    state = sandbox.emulator.dump()
    tasks = state["objects"]["tasks"]
    sla = [t for t in tasks if t["properties"]["hs_task_subject"].startswith("Vector LLC: Lead")]
    notices = [t for t in tasks if t["properties"]["hs_task_subject"] == "crm-bridge: New partner lead"]
    assert len(sla) == 3 and len(notices) == 3  # a notification to a HubSpot user is a task for them
    assert {t["properties"]["hubspot_owner_id"] for t in sla} <= {"100000002", "100000003"}
    lead_ids = {d["id"] for d in state["objects"]["deals"] if d["properties"]["pipeline"] == leads["id"]}
    linked = {a["to"][1] for a in state["associations"] if a["from"][0] == "tasks" and a["to"][0] == "deals"}
    assert linked == lead_ids
    company = next(c for c in state["objects"]["companies"] if c["id"] == str(partner))
    assert company["properties"].get("crm_bridge_partner_tier")

    (tmp_path / "leads.csv").write_text(
        "partner_id,customer_name,email,phone,tax_id,amount,comment\n"
        f"{partner},Acme,buyer@example.com,+79161234567,7707083893,1000,first\n",
        encoding="utf-8",
    )
    imported = _cli(tmp_path, sandbox, "intake", "import", str(tmp_path / "leads.csv"))
    assert imported.returncode == 0, imported.stderr
    state = sandbox.emulator.dump()
    [contact] = [
        c for c in state["objects"]["contacts"] if c["properties"].get("email") == "buyer@example.com"
    ]
    [lead] = [d for d in state["objects"]["deals"] if d["properties"]["dealname"].startswith("Acme")] or [
        d
        for d in state["objects"]["deals"]
        if d["properties"].get("crm_bridge_external_id", "").startswith("csv")
    ]
    pairs = {(a["from"][1], a["to"][0], a["to"][1]) for a in state["associations"] if a["from"][0] == "deals"}
    assert {(lead["id"], "contacts", contact["id"]), (lead["id"], "companies", str(partner))} <= pairs
    listed = _cli(tmp_path, sandbox, "tiers", "list")
    assert listed.returncode == 0, listed.stderr


def test_a_starter_account_is_told_its_pipeline_limit_before_anything_is_written(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    refused = _cli(tmp_path, sandbox, "provision", tier="starter")

    assert refused.returncode == 2
    assert "allows 2 deal pipeline(s)" in refused.stderr and "Nothing was written" in refused.stderr
    assert writes(sandbox) == []
