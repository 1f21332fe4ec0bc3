"""The backfill progress bar ``crm-bridge sync`` draws on a terminal (crm_bridge.cli.sync)."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from crm_bridge.cli.sync import RichSyncProgress, result_table
from crm_bridge.domain.funnels import default_funnels, desired_layout
from crm_bridge.fake import FakeClock, FakeCRM
from crm_bridge.services.provision import provision
from crm_bridge.services.sync.pull import sync
from crm_bridge.store import open_store


def test_a_backfill_shows_records_of_the_total_per_entity_and_a_summary_table(
    tmp_path: Path, fake_clock: FakeClock
) -> None:
    crm = FakeCRM(clock=fake_clock, page_size=4)
    provision(crm, desired_layout(default_funnels(), "en", ["bronze"]))
    partner = crm.seed_partner("ООО Альфа")
    for i in range(10):
        crm.seed_lead(partner.crm_id, f"Лид {i}")
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120, color_system=None)
    with open_store(f"sqlite:///{tmp_path / 's.db'}") as store:
        result = sync(crm, store, "p", now=fake_clock(), progress=RichSyncProgress(console))
    console.print(result_table(result))
    text = screen.getvalue()
    assert "backfill partners" in text and "backfill leads" in text
    assert "10/10" in text and "1/1" in text
    assert "lead" in text and "backfill" in text
