"""The assembled daemon over a FakeCRM and a SQLite store: intake over HTTP, /metrics after jobs,
/healthz (crm_bridge.daemon.app)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from crm_bridge.bootstrap import App, bootstrap
from crm_bridge.config import parse_settings
from crm_bridge.daemon.app import build_daemon
from crm_bridge.daemon.cycle import make_notifier
from crm_bridge.domain.funnels import default_funnels, desired_layout
from crm_bridge.fake import FakeClock, FakeCRM
from crm_bridge.services.intake.keys import ApiKeys
from crm_bridge.services.metrics import BridgeMetrics
from crm_bridge.services.provision import provision
from crm_bridge.store import open_store

WAIT = 120.0  # only so a broken build cannot hang; nothing is timed


@pytest.fixture
def app(store_url: str, fake_clock: FakeClock) -> Iterator[App]:
    data = {
        "locale": "en",
        "crm": {"kind": "bitrix24", "bitrix24": {"webhook_url": "${B24_WEBHOOK_URL}"}},
        "managers": [{"key": "ivan", "name": "Иван", "crm_user_id": "7"}],
        "curators": [{"key": "anna", "name": "Анна", "crm_user_id": "11"}],
        "schedule": {"tiers": {"every": "1h"}, "report": {"enabled": False}},
    }
    settings = parse_settings(data, {"B24_WEBHOOK_URL": "https://example.bitrix24.ru/rest/1/secret/"})
    fake = FakeCRM(clock=fake_clock)
    fake.add_user("7", "Иван")
    fake.add_user("11", "Анна")
    provision(fake, desired_layout(default_funnels(), "en", ["bronze", "silver", "gold", "platinum"]))
    store = open_store(store_url)
    with bootstrap(settings, store=store, adapter=fake, clock=fake_clock) as application:
        yield application
    store.close()


def test_the_daemon_serves_intake_health_and_metrics_while_its_jobs_run(
    app: App, fake_clock: FakeClock
) -> None:
    fake: FakeCRM = app.adapter  # type: ignore[assignment]
    partner = fake.seed_partner("ООО Альфа", curator_key="anna")
    fake_clock.advance(600)
    metrics = BridgeMetrics()
    daemon = build_daemon(
        app, metrics=metrics, notifier=make_notifier(app, metrics), host="127.0.0.1", port=0
    )
    daemon.start()
    try:
        url = daemon.http.url  # type: ignore[union-attr]
        for _ in range(int(WAIT / 0.05)):  # the interval jobs run once at start
            if all(r.status.runs for r in daemon.runners.values()):
                break
            daemon.stopping.wait(0.05)
        key = ApiKeys(app.store.intake, app.portal).create(partner.crm_id, now=fake_clock()).key
        resp = requests.post(
            f"{url}/v1/leads",
            json={"customer_name": "ООО Ромашка", "email": "ivan@romashka.ru"},
            headers={"Authorization": f"Bearer {key}", "Idempotency-Key": "A-1"},
            timeout=WAIT,
        )
        assert resp.status_code == 202, resp.text
        queued = resp.json()
        assert queued["status"] == "queued" and resp.headers["Location"] == queued["status_url"]
        fake_clock.advance(2)  # past the linger: the writer sends the lone lead without a fuller batch
        status: dict[str, object] = {}
        for _ in range(int(WAIT / 0.05)):  # the writer drains in the background
            status = requests.get(
                f"{url}{queued['status_url']}", headers={"X-Api-Key": key}, timeout=WAIT
            ).json()
            if status["status"] == "created":
                break
            daemon.stopping.wait(0.05)
        lead_id = status["lead_id"]
        assert status["status"] == "created" and lead_id, status
        retry = requests.post(
            f"{url}/v1/leads",
            json={"customer_name": "ООО Ромашка", "email": "ivan@romashka.ru"},
            headers={"X-Api-Key": key, "Idempotency-Key": "A-1"},
            timeout=WAIT,
        )
        assert (retry.status_code, retry.json()["lead_id"]) == (200, lead_id)
        assert requests.post(f"{url}/v1/leads", json={"customer_name": "x"}, timeout=WAIT).status_code == 401
        health = requests.get(f"{url}/healthz", timeout=WAIT).json()
        text = requests.get(f"{url}/metrics", timeout=WAIT).text
    finally:
        assert daemon.stop()
    assert fake.state.leads[str(lead_id)].partner_id == partner.crm_id
    assert len(fake.state.leads) == 1
    assert health["status"] == "ok" and set(health["jobs"]) == {
        "sync",
        "distribute",
        "escalate",
        "tiers",
        "lifecycle",
        "notify",
    }
    assert 'crm_bridge_records_synced_total{entity="partner"} 1' in text
    assert 'crm_bridge_job_runs_total{job="sync",outcome="ok"} 1' in text
    assert 'crm_bridge_job_last_success_timestamp_seconds{job="tiers"}' in text


def test_a_daemon_without_http_has_no_port_and_stops_cleanly(app: App) -> None:
    daemon = build_daemon(app, metrics=BridgeMetrics(), http=False, stop_timeout=WAIT)
    assert daemon.http is None and "notify" not in daemon.runners
    daemon.start()
    assert daemon.stop()


def test_the_distribute_job_counts_leads_per_manager(app: App, fake_clock: FakeClock) -> None:
    fake: FakeCRM = app.adapter  # type: ignore[assignment]
    partner = fake.seed_partner("ООО Бета")
    fake.seed_lead(partner.crm_id, "Новый лид")
    fake_clock.advance(timedelta(minutes=10).total_seconds())
    metrics = BridgeMetrics()
    from crm_bridge.daemon.engine import Engine

    engine = Engine(app, metrics=metrics)
    engine.sync()
    engine.distribute()
    assert metrics.value("crm_bridge_leads_distributed_total", manager="ivan") == 1


def test_a_configured_report_job_writes_each_format_and_tells_the_head(
    tmp_path: Path, fake_clock: FakeClock
) -> None:
    data = {
        "locale": "en",
        "crm": {"kind": "bitrix24", "bitrix24": {"webhook_url": "${B24_WEBHOOK_URL}"}},
        "head": {"name": "Мария", "crm_user_id": "1"},
        "schedule": {"report": {"enabled": True, "cron": "0 8 1 * *"}},
        "reports": {"out_dir": str(tmp_path / "reports"), "formats": ["html", "csv"]},
        "rewards": {
            "rule_sets": [
                {
                    "effective_from": "2026-01-01",
                    "commission": {"brackets": [{"from_revenue": 0, "percent": 5}]},
                }
            ]
        },
    }
    settings = parse_settings(data, {"B24_WEBHOOK_URL": "https://example.bitrix24.ru/rest/1/secret/"})
    fake = FakeCRM(clock=fake_clock)
    fake.add_user("1", "Мария")
    with open_store(f"sqlite:///{tmp_path / 'state.db'}") as store:
        with bootstrap(settings, store=store, adapter=fake, clock=fake_clock) as application:
            from crm_bridge.daemon.engine import Engine

            engine = Engine(application, notifier=make_notifier(application))
            assert "report" in engine.jobs()
            written = engine.report()
            outbox = store.due(application.portal, now=fake_clock())
    assert sorted(p.name for p in written) == ["partner-report-2026-10.csv", "partner-report-2026-10.html"]
    assert all(p.exists() and p.stat().st_size > 0 for p in written)
    assert [item.payload["event"] for item in outbox] == ["report_ready"]


def test_a_refused_assignment_fails_the_distribute_job_in_the_cycle_healthz_and_metrics(
    app: App, fake_clock: FakeClock
) -> None:
    from rich.console import Console

    from crm_bridge.daemon.cycle import run_cycle

    fake: FakeCRM = app.adapter  # type: ignore[assignment]
    del fake.state.users["7"]  # the configured manager's CRM user is gone
    partner = fake.seed_partner("ООО Бета")
    lead = fake.seed_lead(partner.crm_id, "Новый лид")
    fake_clock.advance(600)
    console = Console(record=True, width=200)

    failed = run_cycle(app, console)

    assert failed == ["distribute"]
    table = console.export_text()
    assert (
        f"the CRM refused 1 lead assignment(s), retried next cycle: lead {lead.crm_id} to ivan (user 7)"
        in table
    )
    assert "unknown user '7'" in table
    metrics = BridgeMetrics()
    daemon = build_daemon(app, metrics=metrics, http=False, stop_timeout=5)
    assert not daemon.runners["distribute"]()
    ok, health = daemon.health()
    job = health["jobs"]["distribute"]
    assert job["failures"] == 1 and "unknown user '7'" in job["last_error"]
    assert metrics.value("crm_bridge_leads_refused_total") == 1
    assert 'crm_bridge_job_runs_total{job="distribute",outcome="error"} 1' in metrics.render().decode()
    fake.add_user("7", "Иван")
    assert daemon.runners["distribute"]()
    assert fake.state.leads[lead.crm_id].manager_user_id == "7"
