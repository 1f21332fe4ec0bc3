"""A graceful stop of ``crm-bridge run``'s daemon: a request in flight when the stop begins is answered,
new connections are refused, and only then are the jobs told to stop (uvicorn under the Daemon)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import requests
from fastapi import APIRouter

from crm_bridge.bootstrap import App, bootstrap
from crm_bridge.config import parse_settings
from crm_bridge.daemon.app import build_daemon
from crm_bridge.fake import FakeClock, FakeCRM
from crm_bridge.services.metrics import BridgeMetrics
from crm_bridge.store import open_store

WAIT = 60.0  # only so a broken build cannot hang; nothing is timed


@pytest.fixture
def app(tmp_path: object, fake_clock: FakeClock) -> Iterator[App]:
    data = {
        "locale": "en",
        "crm": {"kind": "bitrix24", "bitrix24": {"webhook_url": "${B24_WEBHOOK_URL}"}},
        "schedule": {"report": {"enabled": False}},
    }
    settings = parse_settings(data, {"B24_WEBHOOK_URL": "https://example.bitrix24.ru/rest/1/secret/"})
    store = open_store("sqlite://")
    with bootstrap(settings, store=store, adapter=FakeCRM(clock=fake_clock), clock=fake_clock) as application:
        yield application
    store.close()


def test_a_request_in_flight_is_answered_before_the_jobs_are_told_to_stop(app: App) -> None:
    entered, release = threading.Event(), threading.Event()
    seen: dict[str, bool] = {}
    slow = APIRouter()
    daemon_box: list[object] = []

    @slow.get("/slow")
    def slow_endpoint() -> dict[str, bool]:  # a mounted router, run in uvicorn's thread pool
        entered.set()
        release.wait(WAIT)
        seen["jobs_stopping_while_answering"] = daemon_box[0].stopping.is_set()  # type: ignore[attr-defined]
        return {"done": True}

    daemon = build_daemon(
        app, metrics=BridgeMetrics(), host="127.0.0.1", port=0, routers=[slow], stop_timeout=WAIT
    )
    daemon_box.append(daemon)
    daemon.start()
    assert daemon.http is not None
    url = daemon.http.url
    answer: dict[str, requests.Response] = {}
    client = threading.Thread(target=lambda: answer.update(r=requests.get(f"{url}/slow", timeout=WAIT)))
    client.start()
    assert entered.wait(WAIT)

    stopper = threading.Thread(target=daemon.stop)
    stopper.start()
    for _ in range(int(WAIT / 0.01)):  # the listening socket closes first
        try:
            requests.get(f"{url}/healthz", timeout=WAIT)
        except requests.ConnectionError:
            break
        threading.Event().wait(0.01)
    else:
        pytest.fail("the port still accepted connections during the stop")
    assert not daemon.stopping.is_set()  # the jobs are told only after the HTTP side drained
    release.set()
    client.join(WAIT)
    stopper.join(WAIT)

    assert answer["r"].status_code == 200 and answer["r"].json() == {"done": True}
    assert seen == {"jobs_stopping_while_answering": False}
    assert daemon.stopping.is_set()
