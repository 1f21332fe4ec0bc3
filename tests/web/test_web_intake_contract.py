"""The intake as wired by ``crm-bridge run`` (real IntakeApi over a FakeCRM and the state store, served
by uvicorn): every answer a partner can get -- created, existing, invalid with the field named,
unauthorized, too large, wrong media type, flooding -- checked against the generated ``/openapi.json``
with openapi-core (requests and responses), and /readyz over the real store and CRM checks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

from crm_bridge.bootstrap import App, bootstrap
from crm_bridge.config import parse_settings
from crm_bridge.daemon.app import build_web_context
from crm_bridge.daemon.engine import Engine
from crm_bridge.domain.funnels import default_funnels, desired_layout
from crm_bridge.fake import FakeClock, FakeCRM
from crm_bridge.ports import HealthCheck
from crm_bridge.services.intake.keys import ApiKeys
from crm_bridge.services.metrics import BridgeMetrics
from crm_bridge.services.provision import provision
from crm_bridge.store import open_store
from crm_bridge.web import create_app
from crm_bridge.web.server import WebServer

LEAD = {"customer_name": "ООО Ромашка", "email": "ivan@romashka.ru", "amount": 1500.5}


@pytest.fixture
def app(store_url: str, fake_clock: FakeClock) -> Iterator[App]:
    data = {
        "locale": "en",
        "crm": {"kind": "bitrix24", "bitrix24": {"webhook_url": "${B24_WEBHOOK_URL}"}},
        "intake": {"requests_per_minute": 3, "max_body_kb": 1},
    }
    settings = parse_settings(data, {"B24_WEBHOOK_URL": "https://example.bitrix24.ru/rest/1/secret/"})
    fake = FakeCRM(clock=fake_clock)
    provision(fake, desired_layout(default_funnels(), "en", ["bronze", "silver", "gold", "platinum"]))
    store = open_store(store_url)
    with bootstrap(settings, store=store, adapter=fake, clock=fake_clock) as application:
        yield application
    store.close()


@pytest.fixture
def served(app: App) -> Iterator[tuple[str, BridgeMetrics]]:
    metrics = BridgeMetrics()
    engine = Engine(app, metrics=metrics)
    ctx = build_web_context(app, metrics, engine, lambda: (True, {"status": "ok", "jobs": {}}))
    with WebServer(create_app(ctx), "127.0.0.1", 0) as server:
        yield server.url, metrics


def partner_key(app: App, fake_clock: FakeClock, name: str) -> str:
    fake: FakeCRM = app.adapter  # type: ignore[assignment]
    partner = fake.seed_partner(name)
    from crm_bridge.ports import Entity
    from crm_bridge.services.sync.pull import sync

    fake_clock.advance(60)
    sync(fake, app.store, app.portal, now=fake_clock(), entities=[Entity.PARTNER])
    return ApiKeys(app.store.intake, app.portal).create(partner.crm_id, now=fake_clock()).key


def send(spec: OpenAPI, url: str, *, key: str | None, body: Any = None, **kwargs: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    headers.update(kwargs.pop("headers", {}))
    if body is not None:
        kwargs["json"] = body
    req = requests.Request("POST", f"{url}/v1/leads", headers=headers, **kwargs).prepare()
    resp = requests.Session().send(req, timeout=30)
    # every answer is one the schema describes (status, media type, body, headers)
    spec.validate_response(RequestsOpenAPIRequest(req), RequestsOpenAPIResponse(resp))
    return resp


def get(spec: OpenAPI, url: str, path: str, *, key: str) -> requests.Response:
    req = requests.Request("GET", f"{url}{path}", headers={"X-Api-Key": key}).prepare()
    resp = requests.Session().send(req, timeout=30)
    spec.validate_response(RequestsOpenAPIRequest(req), RequestsOpenAPIResponse(resp))
    return resp


def test_every_intake_answer_is_described_by_the_published_schema(
    app: App, served: tuple[str, BridgeMetrics], fake_clock: FakeClock
) -> None:
    url, metrics = served
    spec = OpenAPI.from_dict(requests.get(f"{url}/openapi.json", timeout=30).json())
    key = partner_key(app, fake_clock, "ООО Альфа")

    created = send(spec, url, key=key, body=LEAD, headers={"Idempotency-Key": "A-1"})
    spec.validate_request(RequestsOpenAPIRequest(created.request))  # what we sent is what it documents
    again = send(spec, url, key=key, body=LEAD, headers={"Idempotency-Key": "A-1"})
    invalid = send(spec, url, key=key, body={"customer_name": "", "email": "nope", "colour": "red"})
    unknown = send(spec, url, key="cbk_nope", body=LEAD)
    media = send(spec, url, key=key, data="customer_name=x", headers={"Content-Type": "text/plain"})
    large = send(spec, url, key=key, body={"customer_name": "x" * 2000, "email": "a@b.ru"})
    flood = send(spec, url, key=key, body={**LEAD, "email": "other@romashka.ru"})

    assert (created.status_code, created.json()["status"]) == (202, "queued")
    assert created.headers["Location"] == created.json()["status_url"]
    assert (again.status_code, again.json()["registration_id"]) == (200, created.json()["registration_id"])
    status = get(spec, url, created.json()["status_url"], key=key)
    assert (status.status_code, status.json()["status"]) == (200, "queued")
    assert get(spec, url, "/v1/leads/999999", key=key).status_code == 404
    assert get(spec, url, created.json()["status_url"], key="cbk_nope").status_code == 401
    assert invalid.status_code == 422 and invalid.json()["error"] == "invalid_request"
    assert {p["field"] for p in invalid.json()["problems"]} == {"colour", "customer_name", "email"}
    assert (unknown.status_code, media.status_code, large.status_code) == (401, 415, 413)
    # requests_per_minute: 3 -- the fourth lead of this key within the minute is held back
    assert flood.status_code == 429 and flood.json()["error"] == "too_many_requests"
    assert int(flood.headers["Retry-After"]) >= 1
    other = send(spec, url, key=partner_key(app, fake_clock, "ООО Бета"), body=LEAD)
    assert other.status_code == 202  # another partner's key is not held back
    assert metrics.value("crm_bridge_intake_requests_total", outcome="rate_limited") == 1
    assert metrics.value("crm_bridge_intake_requests_total", outcome="accepted") == 2
    assert metrics.value("crm_bridge_events_rejected_total", source="intake", reason="invalid") == 1


def test_readyz_checks_the_store_and_the_crm(app: App, served: tuple[str, BridgeMetrics]) -> None:
    url, _ = served
    up = requests.get(f"{url}/readyz", timeout=30)
    assert (up.status_code, up.json()) == (200, {"status": "ready", "checks": {"store": "ok", "crm": "ok"}})


def test_readyz_is_503_naming_the_crm_when_it_does_not_answer(app: App, fake_clock: FakeClock) -> None:
    def down() -> list[HealthCheck]:
        return [HealthCheck("connection", False, "could not connect (timed out)")]

    app.adapter.check = down  # type: ignore[method-assign]
    metrics = BridgeMetrics()
    ctx = build_web_context(app, metrics, Engine(app, metrics=metrics), lambda: (True, {"status": "ok"}))
    with WebServer(create_app(ctx), "127.0.0.1", 0) as server:
        resp = requests.get(f"{server.url}/readyz", timeout=30)
    assert resp.status_code == 503
    assert resp.json()["checks"] == {"store": "ok", "crm": "fake: could not connect (timed out)"}
