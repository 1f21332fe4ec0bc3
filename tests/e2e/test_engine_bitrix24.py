"""The engine end to end through the CLI against the Bitrix24 sandbox: provision (dry run, apply,
idempotent re-run), sync --once (tasks for managers, tiers pushed), doctor, CSV intake."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from crm_bridge.bootstrap import bootstrap
from crm_bridge.cli import main
from crm_bridge.config import load_settings
from crm_bridge.domain.layout import FieldEntity
from crm_bridge.sandbox.server import Sandbox

WRITE_METHOD = re.compile(r"\b[a-z]+(?:\.[a-z]+)*\.(?:add|update|delete|set)\b")


def config_text(state_url: str) -> str:
    return textwrap.dedent(
        f"""
        locale: en
        timezone: Europe/Moscow
        crm:
          kind: bitrix24
          bitrix24:
            webhook_url: ${{B24_WEBHOOK_URL}}
            rate_limit: {{burst: 10000, per_second: 10000}}
            max_concurrency: 4
        state:
          url: {state_url}
        head: {{name: Анна Админова, crm_user_id: 1}}
        managers:
          - {{key: ivan, name: Иван Петров, crm_user_id: 2, timezone: Europe/Moscow}}
          - {{key: maria, name: Мария Смирнова, crm_user_id: 3, timezone: Asia/Novosibirsk}}
        curators:
          - {{key: anna, name: Анна Админова, crm_user_id: 1}}
        distribution:
          strategy: round_robin
          sla_hours: 4
        tiers:
          window_days: 90
          levels:
            - {{key: bronze, name: Bronze}}
            - {{key: silver, name: Silver, min_won_deals: 2}}
            - {{key: gold, name: Gold, min_won_deals: 5}}
        """
    )


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox("bitrix24") as sb:
        yield sb


@pytest.fixture
def config(tmp_path: Path, sandbox: Sandbox) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(config_text(f"sqlite:///{tmp_path / 'state.db'}"), encoding="utf-8")
    (tmp_path / ".env").write_text(f"B24_WEBHOOK_URL={sandbox.config_snippet()['env']['B24_WEBHOOK_URL']}\n")
    return path


def cli(config: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["--config", str(config), *args])
    out = capsys.readouterr()
    return code, out.out + out.err


def writes(sandbox: Sandbox) -> list[str]:
    """Bitrix24 write methods called, directly or packed in a batch (``crm.deal.add``, ``….update``…)."""
    found: list[str] = []
    for entry in sandbox.requests():
        text = entry["endpoint"] + " " + unquote(entry["body"])
        found += WRITE_METHOD.findall(text)
    return found


def seed_network(sandbox: Sandbox, config: Path) -> dict[str, Any]:
    """Two partners (one with 6 won deals) and three new partner leads, as people would make them."""
    with bootstrap(load_settings(config)) as app:
        catalog = app.adapter.catalog()  # type: ignore[attr-defined]
    ptype = catalog.field(FieldEntity.PARTNER, "partner_type")
    curator = catalog.field(FieldEntity.PARTNER, "curator")
    ref = catalog.field(FieldEntity.LEAD, "partner_ref")
    companies = sandbox.emulator.seed(
        {
            "companies": [
                {"TITLE": name, ptype.code: ptype.options["reseller"], curator.code: 1}
                for name in ("ООО Альфа", "ООО Бета")
            ]
        }
    )["companies"]
    alpha, beta = (str(c) for c in companies)
    lead_funnel = catalog.funnels["leads"]
    won = catalog.stage_code("leads", "deal_closed")
    first = catalog.stage_code("leads", None)
    closed = (datetime.now(UTC) - timedelta(days=3)).strftime("%Y-%m-%dT00:00:00+03:00")  # closed 3 days ago
    deals = [
        {
            "TITLE": f"Won {i}",
            "CATEGORY_ID": lead_funnel,
            "STAGE_ID": won,
            "OPPORTUNITY": "1000",
            "CLOSEDATE": closed,
            ref.code: alpha,
            "ASSIGNED_BY_ID": 2,
        }
        for i in range(6)
    ]
    deals += [
        {
            "TITLE": f"New {i}",
            "CATEGORY_ID": lead_funnel,
            "STAGE_ID": first,
            "OPPORTUNITY": "500",
            ref.code: beta,
        }
        for i in range(3)
    ]
    sandbox.emulator.seed({"deals": deals})
    sandbox.advance(2)
    return {"alpha": alpha, "beta": beta, "catalog": catalog}


def test_provision_dry_run_writes_nothing_apply_creates_and_a_rerun_is_all_unchanged(
    sandbox: Sandbox, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = cli(config, capsys, "provision", "--dry-run")
    assert code == 0 and "Provisioning plan (dry run" in out and "funnel leads" in out and "create" in out
    assert writes(sandbox) == []

    code, out = cli(config, capsys, "provision")
    assert code == 0 and "Done" in out and writes(sandbox)
    sandbox.log.clear()

    code, out = cli(config, capsys, "provision")
    assert code == 0 and "Everything is up to date" in out
    assert writes(sandbox) == []


def test_sync_once_distributes_new_leads_as_manager_tasks_and_pushes_tiers(
    sandbox: Sandbox, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(config, capsys, "provision")[0] == 0
    network = seed_network(sandbox, config)

    code, out = cli(config, capsys, "sync", "--once")
    assert code == 0, out
    assert "3 lead(s) assigned" in out and "tier change(s)" in out

    state = sandbox.emulator.dump()
    tasks = list(state["tasks"].values()) if isinstance(state["tasks"], dict) else state["tasks"]
    lead_tasks = [t for t in tasks if "Why you:" in str(t.get("DESCRIPTION", t.get("description", "")))]
    assert sorted(str(t.get("RESPONSIBLE_ID", t.get("responsibleId"))) for t in lead_tasks) == ["2", "2", "3"]
    tier = network["catalog"].field(FieldEntity.PARTNER, "tier")
    companies = {str(c["ID"]): c for c in state["records"]["company"]}
    assert str(companies[network["alpha"]][tier.code]) == str(tier.options["gold"])
    assert str(companies[network["beta"]][tier.code]) == str(tier.options["bronze"])

    sandbox.log.clear()
    code, out = cli(config, capsys, "sync", "--once")  # nothing new: no tasks, no tier writes
    assert code == 0 and "0 lead(s) assigned" in out
    assert not [w for w in writes(sandbox) if "task" in w or "company.update" in w]


def test_doctor_reports_the_checks_and_the_layout(
    sandbox: Sandbox, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = cli(config, capsys, "doctor")
    assert code == 1 and "layout vs config" in out and "crm-bridge provision" in out
    cli(config, capsys, "provision")
    code, out = cli(config, capsys, "doctor")
    assert code == 0, out
    assert "as configured" in out


def test_csv_intake_creates_leads_once_and_reports_rejects(
    sandbox: Sandbox, config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli(config, capsys, "provision")
    network = seed_network(sandbox, config)
    cli(config, capsys, "sync")
    csv_path = tmp_path / "leads.csv"
    csv_path.write_text(
        "partner_id;customer_name;email;phone;tax_id;amount;comment\n"
        f"{network['beta']};ООО Ромашка;ivan@romashka.ru;;;1500;\n"
        f"{network['beta']};ООО Лютик;;+7 900 000-00-01;;;\n"
        f"{network['beta']};;nobody@x.ru;;;;\n"
        f"{network['beta']};ООО Ромашка (ещё раз);IVAN@romashka.ru;;;1500;\n"
        f"{network['beta']};ООО Огромная;huge@x.ru;;;1e30;\n"
        f"{network['beta']};ООО Длинная;long@x.ru;;;{'9' * 26};\n",
        encoding="utf-8-sig",
    )
    code, out = cli(config, capsys, "intake", "import", str(csv_path))
    assert code == 1 and "leads.rejects.csv" in out
    rejects = (tmp_path / "leads.rejects.csv").read_text(encoding="utf-8-sig")
    assert "duplicate of row 2 (same partner and e-mail)" in rejects
    assert "amount: '1e30' is not a number" in rejects and "is more than the maximum" in rejects
    created = [
        d
        for d in sandbox.emulator.dump()["records"]["deal"]
        if str(d.get("ORIGIN_ID", "")).startswith("csv:")
    ]
    assert len(created) == 2
    code, out = cli(config, capsys, "intake", "import", str(csv_path))
    again = [
        d
        for d in sandbox.emulator.dump()["records"]["deal"]
        if str(d.get("ORIGIN_ID", "")).startswith("csv:")
    ]
    assert len(again) == 2


def test_intake_keys_are_printed_once_listed_without_secret_and_revocable(
    sandbox: Sandbox, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli(config, capsys, "provision")
    network = seed_network(sandbox, config)
    cli(config, capsys, "sync")
    code, out = cli(config, capsys, "intake", "keys", "create", "--partner", network["alpha"])
    assert code == 0
    key = next(line for line in out.splitlines() if line.startswith("cbk_"))
    key_id = key.split("_")[1]
    code, listed = cli(config, capsys, "intake", "keys", "list")
    assert key_id in listed and key.split("_", 2)[2] not in listed
    assert cli(config, capsys, "intake", "keys", "revoke", key_id)[0] == 0
    code, out = cli(config, capsys, "intake", "keys", "create", "--partner", "999999")
    assert code == 2 and "no such partner" in out
