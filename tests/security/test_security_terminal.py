"""The admin's terminal: CRM-supplied partner names with rich markup, an unbalanced closing tag or ANSI
escape sequences are printed as text by ``report`` and ``rewards`` -- no crash, no colours, no
hidden links, no escape sequence reaching the terminal."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from crm_bridge.cli import main
from crm_bridge.domain.model import Lead, Partner, StageKind
from crm_bridge.ports import Entity, RecordPage, SyncCursor
from crm_bridge.store import open_store

MSK = ZoneInfo("Europe/Moscow")
NAMES = ["ООО [/bold] Закрыто", "[link=http://evil.example]Альфа[/link]", "Бета\x1b[2J\x1b]0;pwned\x07"]
CONFIG = """
crm:
  kind: bitrix24
  bitrix24:
    webhook_url: ${{B24_WEBHOOK_URL}}
state:
  url: sqlite:///{db}
  portal: demo
rewards:
  rule_sets:
    - effective_from: "2026-01-01"
      commission: {{by_tier: {{bronze: 5, silver: 7, gold: 10, platinum: 12}}}}
"""


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=MSK).astimezone(UTC)


@pytest.mark.parametrize(
    "verb",
    [["report", "--period", "2026-Q4"], ["rewards", "--period", "2026-Q4"], ["rewards", "--leaderboard"]],
    ids=["report", "rewards", "leaderboard"],
)
def test_hostile_partner_names_are_printed_as_text(
    verb: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("B24_WEBHOOK_URL", "https://b24.example.ru/rest/1/abcdef123456/")
    monkeypatch.setenv("COLUMNS", "300")
    db = tmp_path / "state.db"
    (tmp_path / "config.yaml").write_text(CONFIG.format(db=db))
    partners = [Partner(str(100 + i), name, tier="gold") for i, name in enumerate(NAMES)]
    leads = [
        Lead(str(i), p.crm_id, "t", "deal_closed", StageKind.WON, at("2026-10-01"),
             amount=Decimal(1000), closed_at=at("2026-10-20"), modified_at=at("2026-10-20"))
        for i, p in enumerate(partners)
    ]  # fmt: skip
    with open_store(f"sqlite:///{db}") as store:
        store.save_page("demo", RecordPage(Entity.PARTNER, partners, SyncCursor(at("2026-12-31"), "")))
        store.save_page("demo", RecordPage(Entity.LEAD, leads, SyncCursor(at("2026-12-31"), "")))
    if verb == ["rewards", "--leaderboard"]:
        verb = [*verb, "--period", "2026-Q4"]

    code = main(["--config", str(tmp_path / "config.yaml"), *verb])

    out = capsys.readouterr().out
    assert code == 0, out
    assert "\x1b" not in out and "\\x1b[2J" in out
    assert "ООО [/bold] Закрыто" in out and "[link=http://evil.example]Альфа[/link]" in out
