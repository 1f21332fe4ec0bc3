"""Secrets: every test of this suite ends by scanning what its commands printed, the log file, the
reports and the rejects files for the tokens it used (``conftest.world``). Here: the scan itself finds a
token wherever it is, and a full working day (provision, sync, import with rejects, a failing CRM, a
cycle, a report, status) leaves none anywhere, debug logging included."""

from __future__ import annotations

from pathlib import Path

import pytest
from chaos_world import World, scan_for_secrets

from crm_bridge.sandbox.faults import FaultPlan

pytestmark = pytest.mark.slow  # real processes and CRM sandboxes


def test_the_scan_finds_a_token_in_printed_text_and_in_files(tmp_path: Path) -> None:
    token = "s3cr3t-t0ken-value"
    (tmp_path / "crm-bridge.log").write_text(f"GET https://portal/rest/1/{token}/crm.deal.list\n")
    (tmp_path / "leads.rejects.csv").write_text("row;reason\n")
    assert scan_for_secrets(["nothing here"], [tmp_path / "leads.rejects.csv"], [token]) == []
    assert scan_for_secrets([f"error: {token}"], [tmp_path / "crm-bridge.log"], [token]) == [
        "text #0: s3cr…",
        "crm-bridge.log: s3cr…",
    ]


def test_a_working_day_with_failures_and_debug_logs_leaks_no_token(world: World) -> None:
    assert world.cli("provision").code == 0
    partners = world.seed_partners(2, won_deals=2)
    assert world.cli("-v", "sync").code == 0
    csv = world.csv(partners, 5)
    csv.write_text(
        csv.read_text(encoding="utf-8") + "999999;Нет партнёра;x@example.ru;;;1;\n", encoding="utf-8"
    )
    assert world.cli("-v", "intake", "import", str(csv)).code == 1  # the rejects file is written
    world.sandbox.faults.set(FaultPlan(sequence=[500] * 20))
    assert world.cli("-v", "sync").code == 1
    world.sandbox.faults.set(FaultPlan(malformed=["html"] * 20))
    assert world.cli("-v", "sync", "--once").code == 1
    world.sandbox.faults.clear()
    assert world.cli("-v", "sync", "--once").code == 0
    assert world.cli("status").code == 0
    assert (world.root / "leads.rejects.csv").exists() and (world.root / "crm-bridge.log").stat().st_size > 0
    assert "urllib3" in (world.root / "crm-bridge.log").read_text(encoding="utf-8")  # debug lines too
    # conftest's scan runs when the test ends: printed text, crm-bridge.log, the rejects file
