"""The demo runner (services.demo) on a small network against a Bitrix24 sandbox: what it reports is
what the CRM and the state store hold."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from crm_bridge.demo_network import MANAGERS, generate
from crm_bridge.sandbox.server import Sandbox
from crm_bridge.services.demo.run import DemoResult, run_demo

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
FRESH = 12


# One demo run for the module (it is what the tests read; none of them writes to the CRM or the folder):
# the run costs seconds, and every test below only inspects what it left.
@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox("bitrix24") as sb:
        yield sb


@pytest.fixture(scope="module")
def result(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    out = tmp_path_factory.mktemp("demo")
    return run_demo(out, sandbox, per_type=4, months=4, fresh_leads=FRESH, now=NOW)


def test_the_same_seed_gives_the_same_network_and_another_seed_another() -> None:
    one, again, other = generate(NOW, seed=3), generate(NOW, seed=3), generate(NOW, seed=4)

    assert one == again
    assert [p.name for p in one.partners] != [p.name for p in other.partners]


def test_everything_seeded_into_the_crm_is_synced_into_the_store(result: DemoResult) -> None:
    assert result.provisioned == {
        "create": 63
    }  # four funnels, their stages, the partner fields (lifecycle: 13 + 2 verdict options)
    # 16 partners and 6 prospects (companies with their selection scores and an acquisition card each)
    assert result.seeded["partners"] == 16 and result.seeded["prospects"] == 6
    assert result.synced["partner"] == result.seeded["partners"] + result.seeded["prospects"]
    assert result.synced["lead"] == result.seeded["leads"]
    assert result.synced["deal"] == result.seeded["repeat_deals"] + result.seeded["prospects"]


def test_each_fresh_lead_gets_a_manager_in_the_crm_and_a_task_with_the_reason(
    result: DemoResult, sandbox: Sandbox
) -> None:
    assert sum(n for _, n in result.per_manager) == FRESH
    assert [name for name, _ in result.per_manager] == [m["name"] for m in MANAGERS]
    dump = sandbox.emulator.dump()
    manager_ids = {m["crm_user_id"] for m in MANAGERS}
    lead_tasks = [t for t in dump["tasks"] if str(t["xmlId"]).startswith("lead-task:")]
    assert len(lead_tasks) == FRESH
    deals = {row["ID"]: row for row in dump["records"]["deal"]}
    for task in lead_tasks:
        # the demo config is Russian
        assert task["responsibleId"] in manager_ids and "Почему вам:" in task["description"]
        deal = deals[task["ufCrmTask"][0].removeprefix("D_")]
        assert deal["ASSIGNED_BY_ID"] == task["responsibleId"]


def test_tier_changes_carry_reasons_and_kpis_cover_the_previous_month(result: DemoResult) -> None:
    assert all(move.reason.startswith("meets ") for move in result.tier_moves if move.direction == "up")
    assert result.kpi_period == "2026-10"
    assert (
        result.kpis is not None and result.kpis.partners == 16 + 6 and result.kpis.leads > 0
    )  # prospects too
    assert (result.out_dir / "config.yaml").read_text(encoding="utf-8").count("${B24_WEBHOOK_URL}") == 1


def test_the_lifecycle_part_scores_onboards_imports_and_reminds(result: DemoResult) -> None:
    life = result.lifecycle
    verdicts = {verdict for _, _, verdict, _ in life.scored}
    assert verdicts == {"passed", "failed", "incomplete"} and len(life.scored) == 4
    assert len(life.onboarded) == 2 and all(steps == 5 for _, _, steps in life.onboarded)
    assert life.training[0] > 0 and life.plans > 0


def test_the_report_and_reward_statements_are_written_for_the_kpi_period(result: DemoResult) -> None:
    names = sorted(path.name for path in result.reports)
    assert names == [
        "leaderboard-2026-10.csv",
        "partner-report-2026-10.csv",
        "partner-report-2026-10.html",
        "rewards-2026-10.csv",
    ]
    assert all(path.is_file() and path.stat().st_size > 0 for path in result.reports)
    assert result.rewards_total > 0 and 0 < result.rewards_paid <= 16


@pytest.mark.parametrize(
    ("locale", "linked", "registered", "pushed", "contact"),
    [
        (
            "en",
            "Linked: this chat now speaks for ",
            "Lead registered: Telegram Customer Ltd (lead ",
            "Lead Telegram Customer Ltd",
            "buyer@tg-customer.example",
        ),
        (
            "ru",
            "Готово: этот чат подключён к партнёру ",
            "Лид зарегистрирован: ООО Телеграм-Клиент (лид ",
            "Лид ООО Телеграм-Клиент",
            "7707083893",
        ),
    ],
)
def test_the_demos_bot_scene_links_registers_a_lead_and_pushes_its_stage(
    tmp_path: Path, locale: str, linked: str, registered: str, pushed: str, contact: str
) -> None:
    from crm_bridge.daemon.engine import Engine
    from crm_bridge.sandbox.telegram import TelegramEmulator
    from crm_bridge.services.bot.demo import CHAT, DEMO_TOKEN, BotScene, run_bot_scene

    scenes: list[BotScene] = []
    tg = TelegramEmulator(token=DEMO_TOKEN)

    def scene(app: Any, result: DemoResult, now: datetime) -> None:
        with Sandbox("telegram", emulator=tg) as telegram:
            scenes.append(run_bot_scene(app, Engine(app), now, locale, tg, telegram.base_url))

    with Sandbox("bitrix24") as sandbox:  # its own CRM: the module's sandbox holds the shared run's data
        run_demo(
            tmp_path, sandbox, per_type=1, months=1, fresh_leads=2, now=NOW, locale=locale, after_jobs=scene
        )

    (played,) = scenes
    said = [text for who, text in played.lines if who == "bot"]
    assert said[0].startswith(linked)
    assert any(text.startswith(registered) for text in said)
    assert played.lead_id is not None and played.pushed_stage
    assert said[-1].startswith(pushed) and "«" in said[-1]
    assert tg.sent(CHAT) == said
    partner_lines = [text for who, text in played.lines if who != "bot"]
    assert partner_lines[:2] == [partner_lines[0], "/lead"] and partner_lines[0].startswith("/start ")
    assert partner_lines[-1] == ("да" if locale == "ru" else "yes") and contact in partner_lines
