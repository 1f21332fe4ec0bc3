"""The LMS webhooks over HTTP (``POST /v1/training/completions`` and ``/v1/training/talentlms`` under
uvicorn): the secret, both body shapes, the one error shape, the body limit, the events metrics, and
every request and answer checked against the published /openapi.json with openapi-core."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

from crm_bridge.config import parse_settings
from crm_bridge.fake import FakeClock, FakeCRM
from crm_bridge.ports import Entity
from crm_bridge.services.metrics import BridgeMetrics
from crm_bridge.services.partners.context import Lifecycle
from crm_bridge.services.partners.training import TrainingService
from crm_bridge.services.partners.training_webhook import TrainingWebhook
from crm_bridge.services.sync.pull import sync
from crm_bridge.store import Store, open_store
from crm_bridge.web import WebContext, create_app
from crm_bridge.web.server import WebServer

PORTAL = "fake:training-http"
SECRET = "lms-s3cret-value"
MAX_BODY = 4096


@pytest.fixture
def world(store_url: str, fake_clock: FakeClock) -> Iterator[dict[str, Any]]:
    crm = FakeCRM(clock=fake_clock)
    partner = crm.seed_partner("ООО Ромашка")
    settings = parse_settings(
        {
            "locale": "en",
            "timezone": "Europe/Moscow",
            "crm": {"kind": "bitrix24", "bitrix24": {"webhook_url": "${B24}"}},
            "training": {"partner_domains": {"romashka.ru": partner.crm_id}, "webhook_secret": "${LMS}"},
        },
        {"B24": "https://b24.example.ru/rest/1/abcdef123456/", "LMS": SECRET},
    )
    store: Store = open_store(store_url)
    sync(crm, store, PORTAL, now=fake_clock(), entities=[Entity.PARTNER])
    hook = TrainingWebhook(TrainingService(Lifecycle(crm, store, PORTAL, settings)))
    metrics = BridgeMetrics()
    ctx = WebContext(metrics=metrics, store=store, max_body=MAX_BODY, services={"training_webhook": hook})
    with WebServer(create_app(ctx), "127.0.0.1", 0) as srv:
        yield {"url": srv.url, "store": store, "metrics": metrics, "partner": partner.crm_id}
    store.close()


def _post(world: dict[str, Any], path: str, body: Any, **kw: Any) -> requests.Response:
    spec = OpenAPI.from_dict(requests.get(f"{world['url']}/openapi.json", timeout=5).json())
    req = requests.Request("POST", f"{world['url']}{path}", json=body, **kw).prepare()
    resp = requests.Session().send(req, timeout=5)
    spec.validate_response(RequestsOpenAPIRequest(req), RequestsOpenAPIResponse(resp))
    return resp


def _stored(world: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(c.person_email, c.course_id, c.source) for c in world["store"].training.all(PORTAL)}


COMPLETION = {
    "email": "anna@romashka.ru",
    "course_id": "sales-101",
    "completed_at": "2026-11-05T14:30:00+03:00",
}


def test_a_generic_completion_with_the_secret_is_recorded_once(world: dict[str, Any]) -> None:
    auth = {"Authorization": f"Bearer {SECRET}"}
    first = _post(world, "/v1/training/completions", COMPLETION, headers=auth)
    again = _post(world, "/v1/training/completions", {"completions": [COMPLETION]}, headers=auth)

    assert (first.status_code, first.json()) == (200, {"received": 1, "new": 1})
    assert (again.status_code, again.json()) == (200, {"received": 1, "new": 0})
    assert _stored(world) == {("anna@romashka.ru", "sales-101", "webhook")}
    assert world["metrics"].value("crm_bridge_events_received_total", source="training") == 2


def test_talentlms_posts_with_the_token_in_the_url_and_other_events_are_ignored(
    world: dict[str, Any],
) -> None:
    event = {
        "event": "user_completed_course",
        "data": {
            "user": {"email": "ivan@romashka.ru", "first_name": "Ivan", "last_name": "Petrov"},
            "course": {"id": 42, "name": "Product certification"},
            "completed_at": "2026-11-06 12:00:00",
        },
    }
    done = _post(world, "/v1/training/talentlms", event, params={"token": SECRET})
    other = _post(
        world, "/v1/training/talentlms", {"event": "user_signup", "data": {}}, params={"token": SECRET}
    )

    assert (done.status_code, done.json()) == (200, {"received": 1, "new": 1})
    assert other.status_code == 200 and "not a course completion" in other.json()["ignored"]
    assert _stored(world) == {("ivan@romashka.ru", "42", "talentlms")}


def test_refusals_keep_the_error_shape_record_nothing_and_count_as_rejected(world: dict[str, Any]) -> None:
    wrong = _post(world, "/v1/training/completions", COMPLETION, headers={"Authorization": "Bearer nope"})
    none = _post(world, "/v1/training/completions", COMPLETION)
    stranger = _post(
        world, "/v1/training/completions", {**COMPLETION, "email": "x@nowhere.org"}, params={"token": SECRET}
    )
    not_json = requests.post(
        f"{world['url']}/v1/training/completions?token={SECRET}",
        data=b"{oops",
        headers={"Content-Type": "application/json"},
        timeout=5,
    )
    huge = requests.post(
        f"{world['url']}/v1/training/completions?token={SECRET}",
        json={**COMPLETION, "name": "x" * (MAX_BODY + 1)},
        timeout=5,
    )

    assert [r.status_code for r in (wrong, none, stranger, not_json, huge)] == [401, 401, 422, 400, 413]
    assert [r.json()["error"] for r in (wrong, stranger, not_json, huge)] == [
        "unauthorized",
        "invalid_request",
        "invalid_request",
        "too_large",
    ]
    assert "partner_domains" in stranger.json()["message"]
    assert _stored(world) == set()
    metrics = world["metrics"]
    assert metrics.value("crm_bridge_events_received_total", source="training") == 5
    assert metrics.value("crm_bridge_events_rejected_total", source="training", reason="unauthorized") == 2
    assert metrics.value("crm_bridge_events_rejected_total", source="training", reason="too_large") == 1


def test_the_routes_and_their_bodies_are_in_the_published_schema(world: dict[str, Any]) -> None:
    doc = requests.get(f"{world['url']}/openapi.json", timeout=5).json()
    assert {"/v1/training/completions", "/v1/training/talentlms"} <= set(doc["paths"])
    schemas = doc["components"]["schemas"]
    assert schemas["TrainingCompletion"]["required"] == ["email", "course_id", "completed_at"]
    assert {"TrainingCompletions", "TalentLmsEvent", "TrainingRecorded"} <= set(schemas)
