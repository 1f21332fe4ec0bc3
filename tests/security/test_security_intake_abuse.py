"""Intake API abuse: failed API-key attempts are throttled per client address and per key id (429 with
Retry-After, before the key is checked), counted in /metrics, shared by every replica on the store;
an unknown key and a wrong key are refused alike and after the same work."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from crm_bridge.domain.funnels import default_funnels, desired_layout
from crm_bridge.fake import FakeClock, FakeCRM
from crm_bridge.ports import Entity
from crm_bridge.services.intake.api import IntakeApi
from crm_bridge.services.intake.keys import ApiKeys, hash_secret
from crm_bridge.services.intake.service import IntakeService
from crm_bridge.services.intake.throttle import AuthLimits, AuthThrottle, Throttled
from crm_bridge.services.metrics import BridgeMetrics
from crm_bridge.services.provision import provision
from crm_bridge.services.sync.pull import sync
from crm_bridge.store import Store, open_store
from crm_bridge.web import WebContext, create_app
from crm_bridge.web.server import WebServer

PORTAL = "fake:test"
LEAD = {"customer_name": "ООО Ромашка", "email": "ivan@romashka.ru"}
LIMITS = AuthLimits(per_address=3, per_key=4, window_seconds=300)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(f"sqlite:///{tmp_path / 'state.db'}") as s:
        yield s


@pytest.fixture
def api(store: Store, fake_clock: FakeClock) -> tuple[IntakeApi, str, BridgeMetrics]:
    crm = FakeCRM(clock=fake_clock)
    provision(crm, desired_layout(default_funnels(), "en", ["bronze", "gold"]))
    partner = crm.seed_partner("ООО Альфа")
    sync(crm, store, PORTAL, now=fake_clock(), entities=[Entity.PARTNER])
    keys = ApiKeys(store.intake, PORTAL)
    key = keys.create(partner.crm_id, now=fake_clock()).key
    metrics = BridgeMetrics()
    throttle = AuthThrottle(store.bucket, fake_clock, LIMITS)
    service = IntakeService(crm, store, PORTAL)
    return IntakeApi(keys, service, fake_clock, throttle, metrics.intake_auth_refused), key, metrics


def wrong(key: str) -> str:
    """The same key id with another secret."""
    return key[:17] + ("A" if key[17] != "A" else "B") + key[18:]


def post(url: str, key: str) -> requests.Response:
    return requests.post(f"{url}/v1/leads", json=LEAD, headers={"Authorization": f"Bearer {key}"}, timeout=10)


def test_an_address_failing_too_often_gets_429_with_retry_after_even_for_a_good_key_until_it_drains(
    api: tuple[IntakeApi, str, BridgeMetrics], fake_clock: FakeClock
) -> None:
    intake, key, metrics = api
    app = create_app(WebContext(metrics=metrics, intake=intake))
    with WebServer(app, "127.0.0.1", 0) as server:
        bad = [post(server.url, f"cbk_{'x' * 12}_{'y' * 43}").status_code for _ in range(3)]
        held = post(server.url, key)
        text = requests.get(f"{server.url}/metrics", timeout=10).text
        fake_clock.advance(100)  # one failure drained (3 per 300 s)
        after = post(server.url, key)

    assert bad == [401, 401, 401]
    assert held.status_code == 429 and held.json()["error"] == "too_many_attempts"
    assert 1 <= int(held.headers["Retry-After"]) <= 100
    assert after.status_code == 202, after.text
    assert 'crm_bridge_intake_auth_refused_total{outcome="unauthorized"} 3.0' in text
    assert 'crm_bridge_intake_auth_refused_total{outcome="throttled"} 1.0' in text
    assert 'crm_bridge_intake_requests_total{outcome="unauthorized"} 3.0' in text


def test_a_key_id_guessed_from_many_addresses_is_held_back_and_other_keys_are_not(
    api: tuple[IntakeApi, str, BridgeMetrics], store: Store, fake_clock: FakeClock
) -> None:
    intake, key, _ = api
    other = ApiKeys(store.intake, PORTAL).create(intake.keys.list()[0].partner_id, now=fake_clock()).key

    kinds = [intake.submit(wrong(key), LEAD, None, client=f"10.0.0.{i}").kind for i in range(5)]

    assert kinds == ["unauthorized"] * 4 + ["throttled"]
    assert intake.submit(key, LEAD, None, client="10.9.9.9").kind == "throttled"  # the key id is held
    assert intake.submit(other, LEAD, None, client="10.9.9.9").kind == "accepted"


def test_replicas_on_one_store_share_the_count_of_failures(
    api: tuple[IntakeApi, str, BridgeMetrics], tmp_path: Path, fake_clock: FakeClock
) -> None:
    intake, key, _ = api
    for _ in range(3):
        intake.submit("cbk_nonsense", LEAD, None, client="192.0.2.7")
    with open_store(f"sqlite:///{tmp_path / 'state.db'}") as replica_store:
        replica = AuthThrottle(replica_store.bucket, fake_clock, LIMITS)
        held = replica.check("192.0.2.7", "")
    assert held is not None and held.scope == "address"


class CountingHasher:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, secret: str, salt: str) -> str:
        self.calls += 1
        return hash_secret(secret, salt)


def test_an_unknown_key_and_a_wrong_key_get_the_same_answer_after_the_same_work(
    api: tuple[IntakeApi, str, BridgeMetrics], store: Store, fake_clock: FakeClock
) -> None:
    intake, key, _ = api
    hasher = CountingHasher()
    keys = ApiKeys(store.intake, PORTAL, hasher=hasher)
    revoked = keys.create(intake.keys.list()[0].partner_id, now=fake_clock())
    keys.revoke(revoked.key_id, now=fake_clock())
    answers: dict[str, Any] = {}
    work: dict[str, int] = {}
    for name, candidate in {
        "unknown": f"cbk_{'q' * 12}_{key[-43:]}",
        "wrong": wrong(key),
        "revoked": revoked.key,
        "right": key,
    }.items():
        hasher.calls = 0
        answers[name] = keys.verify(candidate)
        work[name] = hasher.calls
        api_answer = IntakeApi(keys, intake.service, fake_clock).submit(candidate, {}, None)
        answers[name + " body"] = api_answer.body if api_answer.kind == "unauthorized" else api_answer.kind
    assert work == {"unknown": 1, "wrong": 1, "revoked": 1, "right": 1}
    assert answers["unknown"] is None and answers["wrong"] is None and answers["revoked"] is None
    assert answers["unknown body"] == answers["wrong body"] == answers["revoked body"]
    assert answers["right"] is not None


def test_the_limits_come_from_the_config() -> None:
    from crm_bridge.config import parse_settings

    data = {
        "crm": {"kind": "bitrix24", "bitrix24": {"webhook_url": "${B24_WEBHOOK_URL}"}},
        "intake": {"failed_key_attempts": {"per_address": 5, "per_key": 3, "window_minutes": 60}},
    }
    settings = parse_settings(data, {"B24_WEBHOOK_URL": "https://b24.example.ru/rest/1/abcdef123456/"})
    assert AuthLimits.from_settings(settings) == AuthLimits(5, 3, 3600.0)


def test_a_key_id_failing_too_often_is_held_as_the_key_scope_with_the_seconds_to_drain_one(
    store: Store, fake_clock: FakeClock
) -> None:
    throttle = AuthThrottle(store.bucket, fake_clock, LIMITS)
    for _ in range(4):  # per_key=4, from no known address
        throttle.failed(None, "k1")
    held = throttle.check(None, "k1")
    assert held is not None and (held.scope, held.retry_after) == ("key", 75)  # 300 s / 4 per window


def test_when_address_and_key_are_full_alike_the_address_is_named_and_a_wait_under_a_second_is_one(
    store: Store, fake_clock: FakeClock
) -> None:
    throttle = AuthThrottle(
        store.bucket, fake_clock, AuthLimits(per_address=4, per_key=4, window_seconds=300)
    )
    for _ in range(4):
        throttle.failed("192.0.2.7", "k1")
    assert throttle.check("192.0.2.7", "k1") == Throttled("address", 75)  # both 75 s: the first scope
    fake_clock.advance(74.5)  # half a second of draining left
    assert throttle.check("192.0.2.7", "k1") == Throttled("address", 1)
