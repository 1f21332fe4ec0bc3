"""The daemon's HTTP port (crm_bridge.web under uvicorn): routing, limits, the one error shape and the
generated OpenAPI schema, checked against real requests and answers with openapi-core."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from openapi_spec_validator import validate

from crm_bridge.services.intake.api import ApiAnswer
from crm_bridge.services.metrics import BridgeMetrics
from crm_bridge.web import WebContext, create_app
from crm_bridge.web.context import MAX_BODY
from crm_bridge.web.server import WebServer


class RecordingIntake:
    def __init__(self) -> None:
        self.calls: list[tuple[str | None, Any, str | None]] = []

    def submit(
        self, api_key: str | None, payload: Any, idempotency_key: str | None, client: str | None = None
    ) -> ApiAnswer:
        assert client == "127.0.0.1"  # the peer address, for throttling failed keys
        self.calls.append((api_key, payload, idempotency_key))
        if api_key != "cbk_good":
            return ApiAnswer("unauthorized", {"error": "unauthorized", "message": "unknown API key"})
        body = {
            "registration_id": 7,
            "external_id": "api:abc",
            "status": "queued",
            "lead_id": None,
            "conflict": False,
            "status_url": "/v1/leads/7",
        }
        return ApiAnswer("accepted", body)


@pytest.fixture
def intake() -> RecordingIntake:
    return RecordingIntake()


@pytest.fixture
def metrics() -> BridgeMetrics:
    return BridgeMetrics()


@pytest.fixture
def server(intake: RecordingIntake, metrics: BridgeMetrics) -> Iterator[WebServer]:
    metrics.job_runs.labels(job="sync", outcome="ok").inc()
    ctx = WebContext(
        metrics=metrics,
        health=lambda: (True, {"status": "ok", "jobs": {"sync": {"last_success": None, "runs": 0}}}),
        intake=intake,
        max_body=MAX_BODY,
    )
    with WebServer(create_app(ctx), "127.0.0.1", 0) as srv:
        yield srv


def spec_of(server: WebServer) -> OpenAPI:
    return OpenAPI.from_dict(requests.get(f"{server.url}/openapi.json", timeout=5).json())


def test_published_schema_is_a_valid_openapi_document(server: WebServer) -> None:
    doc = requests.get(f"{server.url}/openapi.json", timeout=5).json()
    validate(doc)
    assert {"/v1/leads", "/healthz", "/readyz", "/metrics"} <= set(doc["paths"])
    lead = doc["components"]["schemas"]["LeadSubmission"]
    assert lead["required"] == ["customer_name"] and lead["additionalProperties"] is False
    assert requests.get(f"{server.url}/docs", timeout=5).status_code == 200


def test_lead_post_passes_the_key_body_and_idempotency_key_and_matches_the_schema(
    server: WebServer, intake: RecordingIntake
) -> None:
    spec = spec_of(server)
    body = {"customer_name": "ООО Ромашка", "email": "a@b.ru", "amount": "100.50"}
    req = requests.Request(
        "POST",
        f"{server.url}/v1/leads",
        json=body,
        headers={"Authorization": "Bearer cbk_good", "Idempotency-Key": "crm-77"},
    ).prepare()
    resp = requests.Session().send(req, timeout=5)
    assert resp.status_code == 202 and resp.headers["Location"] == "/v1/leads/7"
    assert intake.calls == [("cbk_good", body, "crm-77")]
    spec.validate_request(RequestsOpenAPIRequest(req))
    spec.validate_response(RequestsOpenAPIRequest(req), RequestsOpenAPIResponse(resp))


def test_the_key_may_also_come_in_the_x_api_key_header(server: WebServer, intake: RecordingIntake) -> None:
    resp = requests.post(f"{server.url}/v1/leads", json={}, headers={"X-Api-Key": "cbk_good"}, timeout=5)
    assert resp.status_code == 202
    assert intake.calls[0][0] == "cbk_good"


def test_unknown_key_is_answered_401(server: WebServer) -> None:
    resp = requests.post(f"{server.url}/v1/leads", json={"customer_name": "x"}, timeout=5)
    assert resp.status_code == 401
    assert resp.json()["error"] == "unauthorized"


def test_body_that_is_not_json_is_refused_before_the_intake_sees_it(
    server: WebServer, intake: RecordingIntake, metrics: BridgeMetrics
) -> None:
    bad = requests.post(
        f"{server.url}/v1/leads", data=b"{nope", headers={"Content-Type": "application/json"}, timeout=5
    )
    form = requests.post(f"{server.url}/v1/leads", data={"customer_name": "x"}, timeout=5)
    assert (bad.status_code, bad.json()["error"]) == (400, "invalid_request")
    assert (form.status_code, form.json()["error"]) == (415, "unsupported_media_type")
    assert intake.calls == []
    assert metrics.value("crm_bridge_intake_requests_total", outcome="unsupported_media_type") == 1
    assert metrics.value("crm_bridge_events_rejected_total", source="intake", reason="invalid") == 1


def test_oversized_body_is_refused_with_413(
    server: WebServer, intake: RecordingIntake, metrics: BridgeMetrics
) -> None:
    resp = requests.post(
        f"{server.url}/v1/leads",
        data=b"x" * (MAX_BODY + 1),
        headers={"Content-Type": "application/json"},
        timeout=5,
    )
    assert resp.status_code == 413
    assert resp.json()["error"] == "too_large"
    assert intake.calls == []
    assert metrics.value("crm_bridge_intake_requests_total", outcome="too_large") == 1


def test_a_huge_declared_body_is_refused_before_it_is_sent(
    server: WebServer, intake: RecordingIntake
) -> None:
    """Content-Length of 1 GB, nothing sent after the headers: the answer comes at once (a server that
    read the body first would wait for the gigabyte)."""
    host, port = server.address
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(
            b"POST /v1/leads HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Authorization: Bearer cbk_good\r\nContent-Length: 1000000000\r\n\r\n"
        )
        received = b""
        while chunk := sock.recv(65536):  # the server closes the connection after the answer
            received += chunk
        answer = received.decode("utf-8", "replace")
    assert answer.startswith("HTTP/1.1 413")
    assert '"too_large"' in answer
    assert intake.calls == []


def test_a_chunked_body_over_the_limit_is_refused_with_413(
    server: WebServer, intake: RecordingIntake
) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(MAX_BODY // 1024 + 2):
            yield b" " * 1024

    resp = requests.post(
        f"{server.url}/v1/leads",
        data=chunks(),
        headers={"Content-Type": "application/json", "Authorization": "Bearer cbk_good"},
        timeout=10,
    )
    assert resp.status_code == 413
    assert intake.calls == []


def test_health_and_metrics_are_served(server: WebServer) -> None:
    health = requests.get(f"{server.url}/healthz", timeout=5)
    metrics = requests.get(f"{server.url}/metrics", timeout=5)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert metrics.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert 'crm_bridge_job_runs_total{job="sync",outcome="ok"} 1.0' in metrics.text


def test_unknown_paths_are_404_in_the_error_shape(server: WebServer) -> None:
    for resp in (
        requests.get(f"{server.url}/admin", timeout=5),
        requests.post(f"{server.url}/v1/partners", json={}, timeout=5),
    ):
        assert resp.status_code == 404
        assert resp.json()["error"] == "not_found" and "no such endpoint" in resp.json()["message"]


def test_unhealthy_daemon_answers_503_on_healthz() -> None:
    ctx = WebContext(health=lambda: (False, {"status": "degraded"}))
    with WebServer(create_app(ctx), "127.0.0.1", 0) as srv:
        resp = requests.get(f"{srv.url}/healthz", timeout=5)
    assert resp.status_code == 503


def test_readyz_names_each_dependency_that_does_not_answer() -> None:
    broken: dict[str, str | None] = {"crm": "bitrix24: could not connect (timed out)"}
    ctx = WebContext(ready_checks={"store": lambda: None, "crm": lambda: broken["crm"]})
    with WebServer(create_app(ctx), "127.0.0.1", 0) as srv:
        down = requests.get(f"{srv.url}/readyz", timeout=5)
        broken["crm"] = None
        up = requests.get(f"{srv.url}/readyz", timeout=5)
    assert down.status_code == 503
    assert down.json() == {
        "status": "not_ready",
        "checks": {"store": "ok", "crm": "bitrix24: could not connect (timed out)"},
    }
    assert (up.status_code, up.json()["status"]) == (200, "ready")


def test_each_app_has_its_own_metrics_registry() -> None:
    first, second = BridgeMetrics(), BridgeMetrics()
    first.leads_refused(3)
    assert first.value("crm_bridge_leads_refused_total") == 3
    assert second.value("crm_bridge_leads_refused_total") == 0


class ClientRecorder:
    def __init__(self) -> None:
        self.clients: list[str | None] = []

    def submit(
        self, api_key: str | None, payload: Any, idempotency_key: str | None, client: str | None = None
    ) -> ApiAnswer:
        self.clients.append(client)
        return ApiAnswer("unauthorized", {"error": "unauthorized", "message": "unknown API key"})


@pytest.mark.parametrize(("trusted", "seen"), [(("127.0.0.1",), "203.0.113.7"), ((), "127.0.0.1")])
def test_the_client_address_comes_from_x_forwarded_for_only_of_a_trusted_proxy(
    trusted: tuple[str, ...], seen: str
) -> None:
    recorder = ClientRecorder()
    app = create_app(WebContext(intake=recorder))
    with WebServer(app, "127.0.0.1", 0, trusted_proxies=trusted) as srv:
        requests.post(f"{srv.url}/v1/leads", json={}, headers={"X-Forwarded-For": "203.0.113.7"}, timeout=5)
    assert recorder.clients == [seen]
