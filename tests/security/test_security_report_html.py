"""The HTML report with hostile partner names from the CRM: the page is still written (a ``$`` pair
is not parsed as mathtext, which used to fail the whole report) and no name becomes markup."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from crm_bridge.config import parse_settings
from crm_bridge.domain.funnels import default_funnels, desired_layout
from crm_bridge.domain.model import Lead, Partner, StageKind
from crm_bridge.domain.period import Period
from crm_bridge.ports import Entity, RecordPage, SyncCursor
from crm_bridge.services.report.data import build_report
from crm_bridge.services.report.html_page import render_html
from crm_bridge.store import open_store

MSK = ZoneInfo("Europe/Moscow")
PORTAL = "fake:test"
NAMES = ["ООО $\\frac{1}{$", "A $x^2$ B", "<script>alert(1)</script>", "]]><svg onload=alert(1)>"]
CONFIG = {
    "crm": {"kind": "bitrix24", "bitrix24": {"webhook_url": "${B24_WEBHOOK_URL}"}},
    "rewards": {
        "rule_sets": [
            {
                "effective_from": "2026-01-01",
                "commission": {"by_tier": {"bronze": 5, "silver": 7, "gold": 10, "platinum": 12}},
            }
        ]
    },
}


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=MSK).astimezone(UTC)


def test_hostile_partner_names_neither_break_the_html_report_nor_become_markup(tmp_path: Path) -> None:
    partners = [Partner(str(100 + i), name, tier="gold") for i, name in enumerate(NAMES)]
    leads = [
        Lead(str(i), p.crm_id, "t", "deal_closed", StageKind.WON, at("2026-10-01"),
             amount=Decimal(1000 * (i + 1)), closed_at=at("2026-10-20"), modified_at=at("2026-10-20"))
        for i, p in enumerate(partners)
    ]  # fmt: skip
    settings = parse_settings(CONFIG, {"B24_WEBHOOK_URL": "https://b24.example.ru/rest/1/abcdef123456/"})
    with open_store(f"sqlite:///{tmp_path / 'state.db'}") as store:
        cursor = SyncCursor(at("2026-12-31"), "")
        store.save_page(PORTAL, RecordPage(Entity.PARTNER, partners, cursor))
        store.save_page(PORTAL, RecordPage(Entity.LEAD, leads, cursor))
        layout = desired_layout(default_funnels(), "en", ["bronze", "gold"])
        data = build_report(
            store, PORTAL, settings, layout, Period.parse("2026-Q4", MSK), now=at("2027-01-02")
        )

    page = render_html(data)

    assert "<script>alert" not in page and "<svg onload" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "A $x^2$ B" in page  # drawn as typed, not as math
