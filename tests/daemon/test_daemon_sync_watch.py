"""The daemon tells people what a sync means: a new partner is announced (event new_partner), a failing
sync is told to the head once per run of failures (event sync_failed) and turns /healthz to 503 until a
sync succeeds again. Jobs are run by hand (no scheduler), the HTTP port is real."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from crm_bridge.bootstrap import App, bootstrap
from crm_bridge.config import parse_settings
from crm_bridge.daemon.app import build_daemon
from crm_bridge.daemon.cycle import make_notifier
from crm_bridge.daemon.scheduler import Daemon
from crm_bridge.domain.funnels import default_funnels, desired_layout
from crm_bridge.fake import FakeClock, FakeCRM
from crm_bridge.services.metrics import BridgeMetrics
from crm_bridge.services.provision import provision
from crm_bridge.store import open_store


@pytest.fixture
def app(store_url: str, fake_clock: FakeClock) -> Iterator[App]:
    data = {
        "locale": "en",
        "crm": {"kind": "bitrix24", "bitrix24": {"webhook_url": "${B24_WEBHOOK_URL}"}},
        "head": {"name": "Елена", "crm_user_id": "1"},
        "managers": [{"key": "ivan", "name": "Иван", "crm_user_id": "7"}],
        "curators": [{"key": "anna", "name": "Анна", "crm_user_id": "11"}],
        "schedule": {"report": {"enabled": False}},
    }
    settings = parse_settings(data, {"B24_WEBHOOK_URL": "https://example.bitrix24.ru/rest/1/secret/"})
    fake = FakeCRM(clock=fake_clock)
    for user_id, name in (("1", "Елена"), ("7", "Иван"), ("11", "Анна")):
        fake.add_user(user_id, name)
    provision(fake, desired_layout(default_funnels(), "en", ["bronze", "silver", "gold", "platinum"]))
    store = open_store(store_url)
    with bootstrap(settings, store=store, adapter=fake, clock=fake_clock) as application:
        yield application
    store.close()


@pytest.fixture
def daemon(app: App) -> Iterator[Daemon]:
    metrics = BridgeMetrics()
    built = build_daemon(app, metrics=metrics, notifier=make_notifier(app, metrics), host="127.0.0.1", port=0)
    assert built.http is not None
    with built.http:
        yield built


def _messages(app: App, daemon: Daemon) -> list[tuple[str, str]]:
    assert daemon.runners["notify"]()
    fake: FakeCRM = app.adapter  # type: ignore[assignment]
    return sorted((n.user_id, n.message) for n in fake.state.notifications.values())


def _health(daemon: Daemon) -> tuple[int, dict[str, object]]:
    assert daemon.http is not None
    resp = requests.get(f"{daemon.http.url}/healthz", timeout=10)
    return resp.status_code, resp.json()


def test_a_partner_new_since_the_last_sync_is_announced_to_its_curator_and_the_head(
    app: App, daemon: Daemon, fake_clock: FakeClock
) -> None:
    fake: FakeCRM = app.adapter  # type: ignore[assignment]
    fake.seed_partner("ООО Старый")
    assert daemon.runners["sync"]()  # the backfill announces nobody
    fake_clock.advance(600)
    fresh = fake.seed_partner("ООО Новый", curator_key="anna")
    fake_clock.advance(600)

    assert daemon.runners["sync"]() and daemon.runners["sync"]()

    about_new = [(u, m) for u, m in _messages(app, daemon) if "New partner" in m]
    assert [u for u, _ in about_new] == ["1", "11"]
    assert all("ООО Новый" in m and fresh.crm_id in m for _, m in about_new)


def test_a_failing_sync_is_told_to_the_head_once_and_healthz_answers_503_until_it_recovers(
    app: App, daemon: Daemon, fake_clock: FakeClock
) -> None:
    fake: FakeCRM = app.adapter  # type: ignore[assignment]
    assert daemon.runners["sync"]()
    assert _health(daemon)[0] == 200
    fake.failures.fail_next("transient", method="changed_since", times=2)

    assert not daemon.runners["sync"]()
    fake_clock.advance(600)
    assert not daemon.runners["sync"]()

    status, body = _health(daemon)
    assert (status, body["status"], body["failing"]) == (503, "degraded", ["sync"])
    failed = [(u, m) for u, m in _messages(app, daemon) if "Sync with the CRM failed" in m]
    assert [u for u, _ in failed] == ["1"] and "TransientError" in failed[0][1]
    assert daemon.runners["sync"]()
    assert _health(daemon) == (200, _health(daemon)[1]) and _health(daemon)[1]["status"] == "ok"
