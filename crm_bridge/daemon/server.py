"""The daemon's HTTP port (stdlib ThreadingHTTPServer): POST /v1/leads (partner intake: 202 and queued),
GET /v1/leads/{registration_id} (what became of it), GET /healthz,
GET /metrics (Prometheus text) and GET /openapi.json. Knows HTTP only; the work is done by callables."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

log = logging.getLogger("crm_bridge.daemon.http")

MAX_BODY = 256 * 1024  # default of intake.max_body_kb
PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass(frozen=True, slots=True)
class Reply:
    """What an endpoint answers: status, a JSON body, extra headers."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class IntakeEndpoint(Protocol):
    def __call__(
        self, api_key: str | None, payload: Any, idempotency_key: str | None, client: str | None = None
    ) -> Reply:
        """Authenticate ``api_key`` (failed attempts throttled per ``client`` address) and register the
        lead in ``payload`` (parsed JSON, any type)."""
        ...


def problem(status: int, error: str, message: str, **extra: Any) -> Reply:
    return Reply(status, {"error": error, "message": message, **extra})


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "crm-bridge"
    sys_version = ""

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        path = self.path.split("?", 1)[0]
        app = self.server.app
        if path == "/healthz":
            ok, body = app.health()
            self._send_json(Reply(200 if ok else 503, body))
        elif path == "/metrics":
            self._send(200, app.metrics().encode("utf-8"), PROMETHEUS_CONTENT_TYPE)
        elif path == "/openapi.json":
            self._send(200, app.openapi, "application/json")
        elif path.startswith("/v1/leads/") and app.lead_status is not None:
            auth = self.headers.get("Authorization", "")
            api_key = (
                auth[7:].strip() if auth.lower().startswith("bearer ") else self.headers.get("X-Api-Key")
            )
            registration_id = path[len("/v1/leads/") :]
            self._send_json(
                app.lead_status(api_key or None, registration_id, client=str(self.client_address[0]))
            )
        else:
            self._send_json(problem(404, "not_found", f"no such endpoint: GET {path}"))

    def do_POST(self) -> None:  # noqa: N802
        path = self.path.split("?", 1)[0]
        if path != "/v1/leads" or self.server.app.intake is None:
            self._drain()
            self._send_json(problem(404, "not_found", f"no such endpoint: POST {path}"))
            return
        self._send_json(self._intake())

    def _intake(self) -> Reply:
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        length_text = self.headers.get("Content-Length")
        if length_text is None or not length_text.isdigit():
            self.close_connection = True
            return problem(400, "invalid_request", "a Content-Length header is required")
        length = int(length_text)
        limit = self.server.app.max_body
        if length > limit:
            self.close_connection = True
            return problem(413, "too_large", f"the body is {length} bytes; the limit is {limit}")
        raw = self.rfile.read(length)
        if ctype != "application/json":
            return problem(415, "unsupported_media_type", "send the lead as Content-Type: application/json")
        try:
            payload = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            return problem(400, "invalid_request", f"the body is not valid UTF-8 JSON: {exc}")
        auth = self.headers.get("Authorization", "")
        api_key = auth[7:].strip() if auth.lower().startswith("bearer ") else self.headers.get("X-Api-Key")
        intake = self.server.app.intake
        assert intake is not None  # noqa: S101 (narrows a type; checked by the caller)
        client = str(self.client_address[0])
        return intake(api_key or None, payload, self.headers.get("Idempotency-Key"), client=client)

    def _drain(self) -> None:
        length = self.headers.get("Content-Length", "0")
        if length.isdigit() and int(length) <= self.server.app.max_body:
            self.rfile.read(int(length))
        else:
            self.close_connection = True

    def _send_json(self, reply: Reply) -> None:
        body = json.dumps(reply.body, ensure_ascii=False).encode("utf-8")
        self._send(reply.status, body, "application/json; charset=utf-8", reply.headers)

    def _send(self, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (signature of the base class)
        # The request line holds only the path (keys travel in headers), never bodies or headers.
        log.debug("http %s", format % args)


@dataclass
class HttpApp:
    """The callables behind the port. ``health`` returns (ok, JSON body); ``metrics`` Prometheus text."""

    health: Callable[[], tuple[bool, dict[str, Any]]]
    metrics: Callable[[], str]
    openapi: bytes
    intake: IntakeEndpoint | None = None
    max_body: int = MAX_BODY  # bytes (intake.max_body_kb)
    lead_status: Callable[..., Reply] | None = None  # (api_key, registration_id, client=) -> Reply


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: HttpApp) -> None:
        self.app = app
        super().__init__(address, _Handler)


class DaemonHttpServer:
    """Serve ``app`` on ``host:port`` (port 0 = a free port) in a background thread."""

    def __init__(self, host: str, port: int, app: HttpApp) -> None:
        self._server = _Server((host, port), app)
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        host, port = self.address
        return f"http://{host}:{port}"

    def start(self) -> DaemonHttpServer:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="crm-bridge-http",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting requests; requests in flight finish on their own threads."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout)
        self._server.server_close()

    def __enter__(self) -> DaemonHttpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
