"""With ``locale: ru`` every word a sales head, a manager or a curator reads is Russian: the verbs run
through the CLI on the Bitrix24 sandbox (the demo, one cycle of the jobs, a CSV import, the report,
rewards and tiers tables), the notifications the cycle delivers to the CRM and the tasks it creates.
Only proper nouns, ids and commands to type (the allow-list) may stay in Latin letters. And the word
catalogue itself: both languages have the same keys and the same placeholders."""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crm_bridge.cli import main
from crm_bridge.sandbox.server import Sandbox
from crm_bridge.services.demo.run import run_demo
from crm_bridge.texts import CATALOGUE, LOCALES

pytestmark = pytest.mark.slow

NOW = datetime.now(UTC)
SIZE = {"per_type": 4, "months": 4, "fresh_leads": 6}
# what may stay Latin in a Russian text: the product, the CRM, formats, units, commands and ids
ALLOWED = {
    "crm", "bridge", "CRM", "Bitrix24", "CSV", "HTML", "MDF", "ID", "UTC", "Europe", "Moscow",
    "anna", "maria", "oleg", "pavel",  # manager keys (config ids) beside their names
}  # fmt: skip
LATIN = re.compile(r"[A-Za-z][A-Za-z0-9]*")


def english_words(text: str) -> list[str]:
    """Latin words of ``text`` outside paths, `commands` and the allow-list."""
    text = re.sub(r"`[^`]*`", " ", text)
    text = re.sub(r"\S*[/\\]\S*", " ", text)  # file paths and time zones
    text = re.sub(r"crm-bridge [a-z]+ (approve|reject) \d+", " ", text)  # a command to type
    text = re.sub(r"crm-bridge [a-z]+( --[a-z-]+)*", " ", text)  # a verb to type (demo --serve)
    text = re.sub(r"\b\d{4}-Q[1-4]\b", " ", text)  # a period key as the CLI takes it (2026-Q4)
    return [w for w in LATIN.findall(text) if w not in ALLOWED]


def test_every_catalogue_section_has_the_same_keys_and_placeholders_in_both_languages() -> None:
    for section, table in CATALOGUE.items():
        assert set(table) >= set(LOCALES), section
        en, ru = table["en"], table["ru"]
        assert set(en) == set(ru), (section, set(en) ^ set(ru))
        for key in en:
            fields = [{f for _, f, _, _ in string.Formatter().parse(t[key]) if f} for t in (en, ru)]
            assert fields[0] == fields[1], (section, key)


def test_the_demo_prints_only_russian_with_a_russian_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    code = main(["demo", "--out", str(tmp_path / "demo"), "--no-rate-limit", "--seed", "3"])
    out = capsys.readouterr()

    assert code == 0, out.err
    assert "Изменения уровней" in out.out and "Показатели отдела" in out.out
    assert english_words(out.out) == []


def test_the_demo_speaks_english_when_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    code = main(["demo", "--out", str(tmp_path / "demo"), "--no-rate-limit", "--locale", "en"])
    out = capsys.readouterr().out

    assert code == 0
    assert "Department KPIs" in out and "Funnels created in the CRM" in out
    assert "Обработка" not in out and "Lead processing" in out or "Partner lead" in out


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, Path]]:
    out = tmp_path_factory.mktemp("ru")
    with Sandbox("bitrix24") as sb:
        run_demo(out, sb, now=NOW, **SIZE)
        yield sb, out / "config.yaml"


@pytest.fixture
def config(portal: tuple[Sandbox, Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    sandbox, path = portal
    monkeypatch.setenv("B24_WEBHOOK_URL", sandbox.config_snippet()["env"]["B24_WEBHOOK_URL"])
    monkeypatch.setenv("COLUMNS", "100")
    return path


def cli(config: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["--config", str(config), *args])
    out = capsys.readouterr()
    return code, out.out


def test_an_import_then_a_cycle_of_the_jobs_with_its_notifications_and_tasks_are_russian(
    config: Path, portal: tuple[Sandbox, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    sandbox, _ = portal
    companies = sandbox.emulator.dump()["records"]["company"]
    partner, rival = companies[1]["ID"], companies[2]["ID"]
    csv = tmp_path / "leads.csv"
    csv.write_text(  # a good row, a rejected one, and another partner's claim on the same customer
        "partner_id,customer_name,email,phone,tax_id,amount,comment\n"
        f"{partner},ООО Ромашка,buyer@romashka.example,,,150000,\n"
        f"{partner},ООО Лютик,lutik@example.ru,,,1e30,\n"
        f"{rival},ООО Ромашка,buyer@romashka.example,,,90000,\n",
        encoding="utf-8",
    )
    code, out = cli(config, capsys, "intake", "import", str(csv))

    assert code == 1  # a row was rejected
    assert "Импорт leads.csv" in out and "лидов создано" in out and "Отклонённые строки" in out
    assert re.search(r"конфликты каналов \(созданы с пометкой\) *│ *1 │", out)
    assert english_words(out.replace("leads.csv", "")) == []

    before = len(sandbox.emulator.dump()["tasks"])
    code, out = cli(config, capsys, "sync", "--once")  # distributes the imported lead, tells its manager

    assert code == 0, out
    assert "Один цикл задач" in out and "лидов назначено: 1" in out and "уведомлений отправлено" in out
    assert english_words(out) == []
    dump = sandbox.emulator.dump()
    notes = [n["message"] for n in dump["notifications"]]
    tasks = [f"{t['title']} {t['description']}" for t in dump["tasks"][before:]]
    assert any("Вам новый партнёрский лид" in n for n in notes)
    assert any(
        "Конфликт каналов" in n and "первым зарегистрировал этого клиента (эл. почта)" in n for n in notes
    )
    assert any("Почему вам:" in t for t in tasks)
    for text in notes + tasks:
        assert english_words(text) == [], text


@pytest.mark.parametrize(
    "args",
    [("report",), ("rewards",), ("tiers", "list"), ("tiers", "history"), ("tiers", "evaluate"), ("sync",)],
)
def test_the_tables_a_sales_head_reads_are_russian(
    config: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...]
) -> None:
    code, out = cli(config, capsys, *args)

    assert code == 0, out
    assert out.strip()
    assert english_words(out) == []


def test_files_written_by_report_and_rewards_are_announced_in_russian(
    config: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for args in (
        ("report", "--format", "html", "--out", str(tmp_path / "report.html")),
        ("rewards", "--format", "csv", "--out", str(tmp_path / "rewards.csv")),
        ("rewards", "--leaderboard", "--format", "csv", "--out", str(tmp_path / "board.csv")),
    ):
        code, out = cli(config, capsys, *args)

        assert code == 0, out
        assert "записан" in out and english_words(out) == []
