"""``crm-bridge rewards`` through the command line on a state store filled as sync leaves it."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from crm_bridge.cli import main
from crm_bridge.domain.model import Lead, Partner, StageKind
from crm_bridge.ports import Entity, RecordPage, SyncCursor
from crm_bridge.store import open_store

CONFIG = """
timezone: Europe/Moscow
crm:
  kind: bitrix24
  bitrix24:
    webhook_url: ${B24_WEBHOOK_URL}
state:
  url: '{url}'
  portal: bitrix24:test
rewards:
  rule_sets:
    - effective_from: 2026-01-01
      commission: {by_tier: {bronze: 5, silver: 7, gold: 10, platinum: 12}}
      plan_bonus: {fixed: 50000}
goals:
  partners:
    "101": {2026-Q4: {revenue: 500000}}
"""
ENV = {"B24_WEBHOOK_URL": "https://b24.example.ru/rest/1/abcdef123456/"}


def won(crm_id: str, partner: str, amount: int, closed: datetime) -> Lead:
    return Lead(
        crm_id,
        partner,
        f"Сделка {crm_id}",
        "deal_closed",
        StageKind.WON,
        closed,
        amount=Decimal(amount),
        closed_at=closed,
        modified_at=closed,
    )


@pytest.fixture
def config(write_config: Callable[..., Path], store_url: str) -> Path:
    with open_store(store_url) as store:
        cursor = SyncCursor(datetime(2026, 12, 31, tzinfo=UTC))
        partners = [
            Partner("101", "ООО «Ромашка»", tier="gold"),
            Partner("102", "АО «Вектор»", tier="silver"),
        ]
        store.save_page("bitrix24:test", RecordPage(Entity.PARTNER, partners, cursor))
        leads = [
            won("1", "101", 600_000, datetime(2026, 10, 5, tzinfo=UTC)),
            won("2", "102", 100_000, datetime(2026, 11, 5, tzinfo=UTC)),
        ]
        store.save_page("bitrix24:test", RecordPage(Entity.LEAD, leads, cursor))
    return write_config(CONFIG.replace("{url}", store_url), env=ENV)


def test_rewards_as_csv_to_stdout_add_up_per_partner(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--config", str(config), "rewards", "--period", "2026-Q4", "--format", "csv"])

    out = capsys.readouterr().out
    assert code == 0
    totals = {r["partner"]: r["amount"] for r in csv.DictReader(io.StringIO(out)) if r["line"] == "total"}
    assert totals == {"ООО «Ромашка»": "110000.00", "АО «Вектор»": "7000.00"}


def test_rewards_table_names_partners_totals_and_the_leaderboard(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    code = main(["--config", str(config), "rewards", "--period", "2026-Q4"])

    out = capsys.readouterr().out
    assert code == 0
    assert "Начисления партнёрам, 2026-Q4 (RUB)" in out  # the config's locale: ru by default
    assert "ООО «Ромашка»" in out and "110 000,00" in out and "117 000,00" in out  # the grand total
    assert "Рейтинг партнёров, 2026-Q4" in out
    assert "Золотой" in out and "Серебряный" in out  # tiers by their names in the config's locale


def test_one_partners_statement_is_shown_line_by_line_in_the_configs_language(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    code = main(["--config", str(config), "rewards", "--period", "2026-Q4", "--partner", "101"])

    out = capsys.readouterr().out
    assert code == 0
    rows = [" ".join(row.split()) for row in out.splitlines()]
    # each line says what it pays for in Russian, the tier by its name, as the statement's title does
    assert (
        "│ комиссия │ комиссия 10% (уровень «Золотой») по сделке Сделка 1 │ 600 000,00 │ 10 │ 60 000,00 │"
    ) in rows
    assert (
        "│ бонус за план │ бонус за план: выручка 600000, план 500000 выполнен │ 600 000,00 │ │ 50 000,00 │"
    ) in rows


def test_mdf_claims_from_a_semicolon_csv_are_paid_and_a_bad_row_is_named(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "mdf.csv"
    good.write_text(
        "\ufeffpartner_id;description;requested;approved;reimbursed\n101;Выставка;20000;15000,50;0\n",
        encoding="utf-8",
    )
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "partner_id,description,requested,approved,reimbursed\n101,Реклама,100,200,0\n", encoding="utf-8"
    )
    args = ["--config", str(config), "rewards", "--period", "2026-Q4", "--format", "csv"]

    assert main([*args, "--mdf", str(good)]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["amount"] for r in rows if r["line"] == "mdf"] == ["15000.50"]
    assert main([*args, "--mdf", str(bad)]) == 1
    assert "bad.csv row 2: MDF claim 'Реклама': approved is more than requested" in capsys.readouterr().err


def test_a_malformed_period_is_a_usage_error(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(config), "rewards", "--period", "2026-13"]) == 2
    assert "--period:" in capsys.readouterr().err


def test_a_partner_with_nothing_to_pay_is_told_so(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--config", str(config), "rewards", "--period", "2026-Q3", "--partner", "102"])

    out = capsys.readouterr().out
    assert code == 0
    assert "АО «Вектор»: начисления за 2026-Q3, уровень Серебряный" in out
    assert "В 2026-Q3 нет закрытых выигранных сделок и заявок MDF: начислять нечего." in out
