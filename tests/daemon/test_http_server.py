"""The daemon's HTTP port: routing, limits and the published OpenAPI schema (crm_bridge.daemon.server)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from openapi_spec_validator import validate

import crm_bridge
from crm_bridge.daemon.server import MAX_BODY, DaemonHttpServer, HttpApp, Reply

SPEC_PATH = Path(crm_bridge.__file__).parent / "openapi" / "intake.json"


class RecordingIntake:
    def __init__(self) -> None:
        self.calls: list[tuple[str | None, Any, str | None]] = []

    def __call__(
        self, api_key: str | None, payload: Any, idempotency_key: str | None, client: str | None = None
    ) -> Reply:
        assert client == "127.0.0.1"  # the peer address, for throttling failed keys
        self.calls.append((api_key, payload, idempotency_key))
        if api_key != "cbk_good":
            return Reply(401, {"error": "unauthorized", "message": "unknown API key"})
        return Reply(201, {"lead_id": "42", "external_id": "api:abc", "status": "created", "conflict": False})


@pytest.fixture
def intake() -> RecordingIntake:
    return RecordingIntake()


@pytest.fixture
def server(intake: RecordingIntake) -> Iterator[DaemonHttpServer]:
    app = HttpApp(
        health=lambda: (True, {"status": "ok", "jobs": {"sync": {"last_success": None, "runs": 0}}}),
        metrics=lambda: "# TYPE crm_bridge_up gauge\ncrm_bridge_up 1\n",
        openapi=SPEC_PATH.read_bytes(),
        intake=intake,
        max_body=MAX_BODY,
    )
    with DaemonHttpServer("127.0.0.1", 0, app) as srv:
        yield srv


def test_published_schema_is_a_valid_openapi_document(server: DaemonHttpServer) -> None:
    doc = requests.get(f"{server.url}/openapi.json", timeout=5).json()
    validate(doc)
    assert "/v1/leads" in doc["paths"]


def test_lead_post_passes_the_key_body_and_idempotency_key_and_matches_the_schema(
    server: DaemonHttpServer, intake: RecordingIntake
) -> None:
    spec = OpenAPI.from_dict(json.loads(SPEC_PATH.read_text()))
    body = {"customer_name": "ООО Ромашка", "email": "a@b.ru", "amount": "100.50"}
    req = requests.Request(
        "POST",
        f"{server.url}/v1/leads",
        json=body,
        headers={"Authorization": "Bearer cbk_good", "Idempotency-Key": "crm-77"},
    ).prepare()
    resp = requests.Session().send(req, timeout=5)
    assert resp.status_code == 201
    assert intake.calls == [("cbk_good", body, "crm-77")]
    spec.validate_request(RequestsOpenAPIRequest(req))
    spec.validate_response(RequestsOpenAPIRequest(req), RequestsOpenAPIResponse(resp))


def test_the_key_may_also_come_in_the_x_api_key_header(
    server: DaemonHttpServer, intake: RecordingIntake
) -> None:
    resp = requests.post(f"{server.url}/v1/leads", json={}, headers={"X-Api-Key": "cbk_good"}, timeout=5)
    assert resp.status_code == 201
    assert intake.calls[0][0] == "cbk_good"


def test_unknown_key_is_answered_401(server: DaemonHttpServer) -> None:
    resp = requests.post(f"{server.url}/v1/leads", json={"customer_name": "x"}, timeout=5)
    assert resp.status_code == 401
    assert resp.json()["error"] == "unauthorized"


def test_body_that_is_not_json_is_refused_before_the_intake_sees_it(
    server: DaemonHttpServer, intake: RecordingIntake
) -> None:
    bad = requests.post(
        f"{server.url}/v1/leads", data=b"{nope", headers={"Content-Type": "application/json"}, timeout=5
    )
    form = requests.post(f"{server.url}/v1/leads", data={"customer_name": "x"}, timeout=5)
    assert (bad.status_code, bad.json()["error"]) == (400, "invalid_request")
    assert (form.status_code, form.json()["error"]) == (415, "unsupported_media_type")
    assert intake.calls == []


def test_oversized_body_is_refused_with_413(server: DaemonHttpServer, intake: RecordingIntake) -> None:
    resp = requests.post(
        f"{server.url}/v1/leads",
        data=b"x" * (MAX_BODY + 1),
        headers={"Content-Type": "application/json"},
        timeout=5,
    )
    assert resp.status_code == 413
    assert intake.calls == []


def test_health_and_metrics_are_served(server: DaemonHttpServer) -> None:
    health = requests.get(f"{server.url}/healthz", timeout=5)
    metrics = requests.get(f"{server.url}/metrics", timeout=5)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert metrics.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert "crm_bridge_up 1" in metrics.text


def test_unknown_paths_are_404(server: DaemonHttpServer) -> None:
    assert requests.get(f"{server.url}/admin", timeout=5).status_code == 404
    assert requests.post(f"{server.url}/v1/partners", json={}, timeout=5).status_code == 404


def test_unhealthy_daemon_answers_503_on_healthz() -> None:
    app = HttpApp(health=lambda: (False, {"status": "degraded"}), metrics=lambda: "", openapi=b"{}")
    with DaemonHttpServer("127.0.0.1", 0, app) as srv:
        resp = requests.get(f"{srv.url}/healthz", timeout=5)
    assert resp.status_code == 503
