"""``crm-bridge report`` on a store filled by the demo (a small network synced from a Bitrix24 sandbox):
the numbers match the generated records, the CSV parses, the HTML carries charts and numbers."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from crm_bridge.cli import main
from crm_bridge.demo_network import generate
from crm_bridge.domain.period import Period
from crm_bridge.sandbox.server import Sandbox
from crm_bridge.services.demo.run import run_demo

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
SIZE = {"per_type": 4, "months": 4, "fresh_leads": 5}


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    out = tmp_path_factory.mktemp("demo")
    with Sandbox("bitrix24") as sb:
        run_demo(out, sb, now=NOW, **SIZE)
    yield out / "config.yaml"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "B24_WEBHOOK_URL", "http://127.0.0.1:9/rest/1/unused/"
    )  # the report reads the store only


def expected_revenue(period: Period) -> Decimal:
    """Won revenue closed in ``period``, straight from the generated network."""
    net = generate(NOW, seed=7, **SIZE)
    return sum((r.amount for r in net.records if r.stage == "won" and period.contains(r.closed)), Decimal(0))


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_the_csv_parses_and_its_revenue_is_the_won_revenue_closed_in_the_period(
    config: Path, tmp_path: Path
) -> None:
    target = tmp_path / "r.csv"
    assert (
        main(
            [
                "--config",
                str(config),
                "report",
                "--period",
                "2026-10",
                "--format",
                "csv",
                "--out",
                str(target),
            ]
        )
        == 0
    )

    data = rows(target.read_text(encoding="utf-8"))
    dept = {r["metric"]: r["value"] for r in data if r["section"] == "department"}
    october = Period.month("2026-10", ZoneInfo("Europe/Moscow"))
    assert Decimal(dept["revenue"]) == expected_revenue(october) > 0
    partner_revenue = sum(
        Decimal(r["value"]) for r in data if r["section"] == "partner" and r["metric"] == "revenue"
    )
    assert partner_revenue == Decimal(dept["revenue"])
    reached = [int(r["value"]) for r in data if r["section"] == "funnel" and r["metric"] == "reached"]
    assert reached == sorted(reached, reverse=True) and reached[0] == int(dept["leads"])
    plans = [r for r in data if r["section"] == "partner" and r["plan"]]
    assert plans and all(r["fulfilment_percent"] for r in plans)  # tier plans are monthly in the demo config


def test_the_html_report_is_self_contained_with_charts_and_the_numbers(config: Path, tmp_path: Path) -> None:
    assert (
        main(
            [
                "--config",
                str(config),
                "report",
                "--period",
                "2026-10",
                "--format",
                "html",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )

    page = (tmp_path / "partner-report-2026-10.html").read_text(encoding="utf-8")
    assert page.count("<svg") >= 2  # funnel and revenue charts inline
    assert "<script" not in page and "src=" not in page  # nothing to fetch
    assert "Регистрация лида" in page and "Заключение сделки" in page  # funnel stages by name
    revenue = expected_revenue(Period.month("2026-10", ZoneInfo("Europe/Moscow")))
    assert f"{revenue:,.0f}".replace(",", "\u202f") in page


def test_a_period_that_is_not_one_is_refused_with_the_formats(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(config), "report", "--period", "October"]) == 2
    assert "2026-Q4" in capsys.readouterr().err
