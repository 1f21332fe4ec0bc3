"""The report, rewards and tiers tables as a Russian-speaking sales head reads them, on a store filled by
the demo (locale ru): every word Russian, money in readable units, the generated-at time in the config's
zone, the tier column dated, the period's tier changes shown, the won/conversion footnote, the same
default period for ``report`` and ``rewards``, partner names in ``tiers history``, 80 columns."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from crm_bridge.bootstrap import bootstrap
from crm_bridge.cli import main
from crm_bridge.config import load_settings
from crm_bridge.config.funnels import desired_layout_for
from crm_bridge.domain.period import Period
from crm_bridge.sandbox.server import Sandbox
from crm_bridge.services.demo.run import run_demo
from crm_bridge.services.report.data import build_report, default_period
from crm_bridge.services.report.html_page import render_html

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
SIZE = {"per_type": 4, "months": 4, "fresh_leads": 5}
# words of the English page and tables that must not be left in a Russian one
ENGLISH = re.compile(
    r"\b(KPIs?|partners?|leads?|revenue|plan|won|conversion|Leaderboard|Generated|tier|stage|reached|"
    r"reseller|distributor|integrator|referral|points|curator|total|commission|statements?)\b",
    re.IGNORECASE,
)


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    out = tmp_path_factory.mktemp("demo")
    with Sandbox("bitrix24") as sb:
        run_demo(out, sb, now=NOW, **SIZE)
    path = out / "config.yaml"
    settings = load_settings(path, environ={"B24_WEBHOOK_URL": "http://127.0.0.1:9/rest/1/unused/"})
    with bootstrap(settings) as app:  # an upgrade in November, as the tiers job records one
        partner = next(iter(app.store.partners(app.portal)))
        app.store.record_tier_change(
            app.portal, partner.crm_id, "bronze", "silver", "выручка выше порога", NOW
        )
    yield path


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("B24_WEBHOOK_URL", "http://127.0.0.1:9/rest/1/unused/")  # the store only


def page(config: Path, key: str) -> str:
    settings = load_settings(config)
    period = Period.parse(key, ZoneInfo(settings.timezone))
    with bootstrap(settings) as app:
        data = build_report(app.store, app.portal, settings, desired_layout_for(settings), period, now=NOW)
    return render_html(data)


def visible(html_text: str) -> str:
    text = re.sub(r"<style>.*?</style>", " ", html_text, flags=re.S)
    text = re.sub(r"<title>.*?</title>", " ", text, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", text)
    return re.sub(r"\s+", " ", text)


def test_the_russian_html_report_has_no_english_word_and_money_axes_in_readable_units(config: Path) -> None:
    html_text = page(config, "2026-11")
    words = visible(html_text)

    assert ENGLISH.findall(words) == []
    assert "Выручка по партнёрам (топ-15), тыс. ₽" in words or "млн ₽" in words
    assert not re.search(r"1e[0-9]", words)  # no scientific offsets on the money axis
    assert "реселлер" in words and "выручка" in words and "план" in words  # types and the legend


def test_generated_at_is_in_the_configs_zone_and_the_tier_column_says_when(config: Path) -> None:
    words = visible(page(config, "2026-11"))

    assert "Сформирован: 20.11.2026 12:30 (Europe/Moscow)" in words  # 09:30 UTC
    # November has not ended on the 20th: the tier shown is today's, and the column says so
    assert "уровень сегодня (20.11.2026)" in words and "уровень на 30.11.2026" not in words
    assert "сегодняшний уровень партнёра (20.11.2026): период ещё не закончился" in words
    ended = visible(page(config, "2026-10"))  # an ended period: the tier on its last day
    assert "уровень на 31.10.2026" in ended
    assert "в последний день периода (31.10.2026), а не сегодняшний" in ended
    assert "Изменения уровней за период не было." in ended  # the November upgrade is not October's


def test_the_periods_tier_changes_and_the_won_conversion_footnote_are_shown(config: Path) -> None:
    words = visible(page(config, "2026-11"))

    assert "Изменения уровней за период" in words and ("↑" in words or "↓" in words)
    assert (
        "Выиграно — выигранные лиды и партнёрские сделки (в том числе повторные), закрытые в периоде" in words
    )
    assert "Конверсия — доля лидов, созданных в периоде" in words


def cli(config: Path, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code = main(["--config", str(config), *args])
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out


def test_report_and_rewards_default_to_the_same_period(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    settings = load_settings(config)
    key = default_period(datetime.now(UTC), settings.timezone, settings.reports.period).key

    assert f"Показатели отдела, {key}" in cli(config, capsys, "report")
    assert f"Начисления партнёрам, {key}" in cli(config, capsys, "rewards")


@pytest.mark.parametrize(
    "args",
    [
        ("report", "--period", "2026-11"),
        ("rewards", "--period", "2026-11"),
        ("tiers", "list"),
        ("tiers", "history"),
    ],
)
def test_the_tables_fit_80_columns_in_russian(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    out = cli(config, capsys, *args)

    assert max(len(line) for line in out.splitlines()) <= 80
    assert ENGLISH.findall(out.replace("crm-bridge rewards --partner ID", "")) == []


def test_tiers_history_names_each_partner(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    settings = load_settings(config)
    with bootstrap(settings) as app:
        history = app.store.tier_history(app.portal)
        names = {p.crm_id: p.name for p in app.store.partners(app.portal)}
    assert history

    out = cli(config, capsys, "tiers", "history")

    flat = re.sub(r"\s+", " ", out)
    for rec in history:
        assert names[rec.partner_id].split("«")[0] in flat
    assert "«" in out and "История уровней" in out
