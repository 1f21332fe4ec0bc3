"""A lead the CRM refuses to assign, end to end on the Bitrix24 sandbox: a manager's ``crm_user_id``
the portal does not have makes ``tasks.task.add`` answer ERROR_CORE 'User specified in the
"Responsible" field not found' (tasks-task-add.md); the CRM's reason is on the console and in the log,
``sync --once`` exits 1 on every cycle until the config is fixed, the daemon's ``/healthz`` and
``/metrics`` count the failure, and once the id is fixed the next cycle assigns the lead exactly once."""

from __future__ import annotations

import logging
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from crm_bridge.bootstrap import bootstrap
from crm_bridge.cli import main
from crm_bridge.config import load_settings
from crm_bridge.daemon.app import build_daemon
from crm_bridge.domain.layout import FieldEntity
from crm_bridge.sandbox.server import Sandbox
from crm_bridge.services.metrics import BridgeMetrics

REASON = 'User specified in the "Responsible" field not found'


def config_text(state: Path, oleg: int) -> str:
    return textwrap.dedent(
        f"""
        locale: en
        crm:
          kind: bitrix24
          bitrix24:
            webhook_url: ${{B24_WEBHOOK_URL}}
            rate_limit: {{burst: 10000, per_second: 10000}}
        state:
          url: sqlite:///{state}
        head: {{name: Анна Админова, crm_user_id: 1}}
        managers:
          - {{key: oleg, name: Олег Новиков, crm_user_id: {oleg}}}
        curators:
          - {{key: anna, name: Анна Админова, crm_user_id: 1}}
        distribution: {{strategy: round_robin, sla_hours: 4}}
        schedule: {{report: {{enabled: false}}}}
        """
    )


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox("bitrix24") as sb:
        yield sb


@pytest.fixture
def config(tmp_path: Path, sandbox: Sandbox) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(config_text(tmp_path / "state.db", oleg=23), encoding="utf-8")  # no user 23 on the portal
    (tmp_path / ".env").write_text(f"B24_WEBHOOK_URL={sandbox.config_snippet()['env']['B24_WEBHOOK_URL']}\n")
    return path


def cli(config: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["--config", str(config), *args])
    out = capsys.readouterr()
    return code, out.out + out.err


def seed_lead(sandbox: Sandbox, config: Path) -> str:
    """A partner and one new partner lead (a deal in the lead funnel referring to the partner)."""
    with bootstrap(load_settings(config)) as app:
        catalog = app.adapter.catalog()  # type: ignore[attr-defined]
    ptype = catalog.field(FieldEntity.PARTNER, "partner_type")
    ref = catalog.field(FieldEntity.LEAD, "partner_ref")
    company = {"TITLE": "ООО Бета", ptype.code: ptype.options["reseller"]}
    partner = sandbox.emulator.seed({"companies": [company]})
    deal = {
        "TITLE": "Новый лид",
        "CATEGORY_ID": catalog.funnels["leads"],
        "STAGE_ID": catalog.stage_code("leads", None),
        ref.code: str(partner["companies"][0]),
    }
    lead = str(sandbox.emulator.seed({"deals": [deal]})["deals"][0])
    sandbox.advance(2)
    return lead


def lead_tasks(sandbox: Sandbox, lead: str) -> list[dict[str, object]]:
    return [t for t in sandbox.emulator.dump()["tasks"] if f"D_{lead}" in t["ufCrmTask"]]


def test_a_refused_assignment_is_reported_counted_retried_and_assigned_once_the_config_is_fixed(
    config: Path,
    sandbox: Sandbox,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    assert cli(config, capsys, "provision")[0] == 0
    lead = seed_lead(sandbox, config)

    with caplog.at_level(logging.ERROR, logger="crm_bridge"):
        code, out = cli(config, capsys, "sync", "--once")

    assert code == 1
    row = next(line for line in out.splitlines() if "distribute" in line)
    assert "failed" in row and f"lead {lead} to oleg (user 23)" in row and REASON in out
    logged = [r.getMessage() for r in caplog.records if r.name == "crm_bridge.distribute"]
    assert any(f"refused to assign lead {lead}" in m and REASON in m for m in logged)
    assert lead_tasks(sandbox, lead) == []

    code, out = cli(config, capsys, "sync", "--once")  # nothing fixed yet: refused again, still failing
    assert code == 1 and REASON in out

    metrics = BridgeMetrics()
    monkeypatch.setenv("B24_WEBHOOK_URL", sandbox.config_snippet()["env"]["B24_WEBHOOK_URL"])
    with bootstrap(load_settings(config)) as app:
        daemon = build_daemon(app, metrics=metrics, host="127.0.0.1", port=0)
        assert daemon.http is not None
        with daemon.http:
            assert daemon.runners["sync"]() and not daemon.runners["distribute"]()
            health = requests.get(f"{daemon.http.url}/healthz", timeout=10).json()
            text = requests.get(f"{daemon.http.url}/metrics", timeout=10).text
    job = health["jobs"]["distribute"]
    assert job["failures"] == 1 and REASON in job["last_error"]
    assert "crm_bridge_leads_refused_total 1" in text
    assert 'crm_bridge_job_runs_total{job="distribute",outcome="error"} 1' in text

    config.write_text(config_text(tmp_path / "state.db", oleg=3), encoding="utf-8")  # user 3 exists
    code, out = cli(config, capsys, "sync", "--once")

    assert code == 0, out
    assert "1 lead(s) assigned (oleg: 1)" in out
    tasks = lead_tasks(sandbox, lead)
    assert [t["responsibleId"] for t in tasks] == ["3"]
    deal = next(d for d in sandbox.emulator.dump()["records"]["deal"] if d["ID"] == lead)
    assert str(deal["ASSIGNED_BY_ID"]) == "3"
    assert cli(config, capsys, "sync", "--once")[0] == 0  # and it stays assigned once
    assert len(lead_tasks(sandbox, lead)) == 1
