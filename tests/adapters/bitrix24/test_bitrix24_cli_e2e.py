"""End to end through the CLI against the Bitrix24 sandbox: ``crm-bridge provision`` (twice), then
``crm-bridge sync --once`` pulls the partner leads, gives each a manager as a task on its deal card and
pushes the partner's tier to the company."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from crm_bridge.sandbox.server import Sandbox

CONFIG = """
locale: en
crm:
  kind: bitrix24
  bitrix24:
    webhook_url: ${B24_WEBHOOK_URL}
    rate_limit: {burst: 1000, per_second: 1000}
state:
  url: ${CRM_BRIDGE_STATE_URL}
head: {name: Head, crm_user_id: 1}
managers:
  - {key: anna, name: Anna, crm_user_id: 17}
  - {key: oleg, name: Oleg, crm_user_id: 23}
curators:
  - {key: dmitry, name: Dmitry, crm_user_id: 12}
"""

CLI = [str(Path(sys.executable).parent / "crm-bridge")]


def _cli(tmp_path: Path, sandbox: Sandbox, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "B24_WEBHOOK_URL": sandbox.config_snippet()["env"]["B24_WEBHOOK_URL"],
        "CRM_BRIDGE_STATE_URL": f"sqlite:///{tmp_path / 'state.db'}",
    }
    return subprocess.run(
        [*CLI, "--config", str(tmp_path / "config.yaml"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_provision_then_one_sync_cycle_assigns_leads_as_tasks_and_pushes_the_tier(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    (tmp_path / "config.yaml").write_text(CONFIG, encoding="utf-8")
    sandbox.emulator.seed({"users": [{"ID": i, "NAME": f"User {i}"} for i in (12, 17, 23)]})

    first = _cli(tmp_path, sandbox, "provision")
    requests_first = sandbox.request_count()
    second = _cli(tmp_path, sandbox, "provision")

    assert first.returncode == 0, first.stderr
    assert requests_first <= 6
    assert second.returncode == 0 and "nothing written" in second.stdout
    assert sandbox.request_count() - requests_first <= 2

    state = sandbox.emulator.dump()
    leads = next(c for c in state["categories"] if c["name"] == "Partner lead processing")
    first_stage = min(
        (s for s in state["statuses"] if s["entity_id"] == f"DEAL_STAGE_{leads['id']}"),
        key=lambda s: s["sort"],
    )
    ptype = next(u for u in state["userfields"] if u["field_name"] == "UF_CRM_PARTNER_TYPE")
    reseller = next(i["ID"] for i in ptype["items"] if i["XML_ID"] == "reseller")
    partner = sandbox.emulator.seed({"companies": [{"TITLE": "Vector LLC", "UF_CRM_PARTNER_TYPE": reseller}]})
    partner_id = partner["companies"][0]
    sandbox.emulator.seed(
        {
            "deals": [
                {
                    "TITLE": f"Lead {i}",
                    "CATEGORY_ID": leads["id"],
                    "STAGE_ID": first_stage["status_id"],
                    "UF_CRM_PARTNER_REF": partner_id,
                }
                for i in range(3)
            ]
        }
    )
    sandbox.advance(2)

    synced = _cli(tmp_path, sandbox, "sync", "--once")

    assert synced.returncode == 0, synced.stderr
    state = sandbox.emulator.dump()
    tasks = state["tasks"]
    assert len(tasks) == 3 and {t["responsibleId"] for t in tasks} <= {"17", "23"}
    deal_ids = {str(d["ID"]) for d in state["records"]["deal"] if str(d["CATEGORY_ID"]) == str(leads["id"])}
    assert {t["ufCrmTask"][0] for t in tasks} == {f"D_{i}" for i in deal_ids}
    company = next(c for c in state["records"]["company"] if str(c["ID"]) == str(partner_id))
    assert company.get("UF_CRM_PARTNER_TIER")  # the tier the policy gave the partner, as its list item
