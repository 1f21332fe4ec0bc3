"""The sandbox HTTP server: one emulated CRM per instance, with latency, fault injection, a request
log and a control API under ``/_sandbox/`` (not part of the emulated CRM).

    with Sandbox("bitrix24") as sb:          # zero latency, rate limits off: for tests
        url = sb.base_url                    # http://127.0.0.1:<free port>
        ...
        sb.counts()                          # {"POST batch": 3, ...}

Control API: POST /_sandbox/seed, GET /_sandbox/state, GET|DELETE /_sandbox/requests,
GET /_sandbox/counts, POST /_sandbox/reset, POST|DELETE /_sandbox/faults, POST /_sandbox/webhooks
({"url": ...}), POST /_sandbox/clock ({"advance": seconds}).
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import entry_points
from typing import Any
from urllib.parse import parse_qs, urlsplit

from crm_bridge.sandbox.core import Emulator, SandboxRequest, SandboxResponse
from crm_bridge.sandbox.faults import FaultInjector, FaultPlan

SANDBOX_GROUP = "crm_bridge.sandboxes"  # name = the CRM kind, value = create_emulator(**options)
CONTROL_PREFIX = "/_sandbox/"
# What a real cloud portal imposes, roughly: used by the CLI and benchmarks (tests pass 0).
DEFAULT_LATENCY_MS = 200.0
DEFAULT_PER_RECORD_MS = 0.2
_MAX_LOGGED_BODY = 20_000


def installed_sandboxes() -> list[str]:
    """The CRM kinds whose emulator is installed (entry-point group ``crm_bridge.sandboxes``)."""
    return sorted({ep.name for ep in entry_points(group=SANDBOX_GROUP)})


def create_emulator(kind: str, **options: Any) -> Emulator:
    """Build the emulator an installed adapter distribution registers for ``kind``; a clear
    ValueError naming the installed ones when there is none."""
    matches = [ep for ep in entry_points(group=SANDBOX_GROUP) if ep.name == kind]
    if not matches:
        known = ", ".join(installed_sandboxes()) or "none"
        raise ValueError(f"unknown CRM kind {kind!r}; choose one of {known}")
    factory: Callable[..., Emulator] = matches[0].load()
    return factory(**options)


class RequestLog:
    """Thread-safe log of the requests the emulated CRM received, and counts per endpoint."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.entries: list[dict[str, Any]] = []
        self._counts: Counter[str] = Counter()

    def add(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self.entries.append(entry)
            self._counts[f"{entry['method']} {entry['endpoint']}"] += 1

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.entries)

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def clear(self) -> None:
        with self._lock:
            self.entries.clear()
            self._counts.clear()


def endpoint_of(emulator: Emulator, path: str) -> str:
    """A stable endpoint name for counting: the emulator's own (``endpoint_of``, e.g. an RPC method
    name) when it has one, else the path with numeric ids as {id}."""
    own = getattr(emulator, "endpoint_of", None)
    if callable(own):
        name = own(path)
        if isinstance(name, str) and name:
            return name
    return re.sub(r"/\d+(?=/|$)", "/{id}", path)


class Sandbox:
    """An emulated CRM on a local port. ``latency_ms``/``per_record_ms`` are added to every answer
    (0 for tests); ``rate_limit`` switches the CRM's own documented limits on or off."""

    def __init__(
        self,
        kind: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency_ms: float = 0.0,
        per_record_ms: float = 0.0,
        rate_limit: bool = False,
        seed: dict[str, Any] | None = None,
        faults: FaultPlan | None = None,
        emulator_options: dict[str, Any] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        emulator: Emulator | None = None,
    ) -> None:
        self.kind = kind
        self._offset = 0.0
        # ``emulator``: a ready one (e.g. the Telegram Bot API stand-in, which is no CRM plugin)
        self.emulator = emulator or create_emulator(kind, **(emulator_options or {}))
        self.emulator.set_clock(self.clock)
        self.emulator.set_rate_limit(rate_limit)
        self.latency = latency_ms / 1000.0
        self.per_record = per_record_ms / 1000.0
        self.faults = FaultInjector(faults)
        if hasattr(self.emulator, "set_fault_injector"):
            self.emulator.set_fault_injector(self.faults)
        self.log = RequestLog()
        self._sleep = sleep
        self._host, self._port = host, port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        if seed:
            self.emulator.seed(seed)

    # -- time ----------------------------------------------------------------------------------------
    def clock(self) -> float:
        """Sandbox time: wall time plus any ``advance()`` offset (token expiry tests)."""
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        self._offset += seconds

    # -- lifecycle -----------------------------------------------------------------------------------
    def start(self) -> str:
        handler = _make_handler(self)
        self._server = _QuietServer((self._host, self._port), handler)
        self._server.daemon_threads = True
        server = self._server
        self._thread = threading.Thread(  # a short poll interval makes stop() quick (tests stop many)
            target=lambda: server.serve_forever(poll_interval=0.05), name=f"sandbox-{self.kind}", daemon=True
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the sandbox is not started")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self.port}"

    # -- inspection ----------------------------------------------------------------------------------
    def requests(self) -> list[dict[str, Any]]:
        return self.log.snapshot()

    def counts(self) -> dict[str, int]:
        return self.log.counts()

    def request_count(self) -> int:
        return len(self.log.entries)

    def reset(self) -> None:
        self.emulator.reset()
        self.log.clear()
        self.faults.clear()

    def config_snippet(self) -> dict[str, Any]:
        return self.emulator.config_snippet(self.base_url)

    # -- request handling ----------------------------------------------------------------------------
    def dispatch(self, request: SandboxRequest) -> SandboxResponse:
        """Run one request through faults, the emulator, latency and the log."""
        if request.path.startswith(CONTROL_PREFIX):
            return self._control(request)
        started = time.monotonic()
        described = ""
        if self.faults.plan.drop_after_match:
            described = request.path + " " + request.body.decode("utf-8", "replace")
        decision = self.faults.decide(described)
        if decision.drop:
            response = SandboxResponse(status=0, drop_connection=True)
        elif decision.expire_token:
            response = self.emulator.error_response(401)
        elif decision.status:
            response = self.emulator.error_response(decision.status)
        else:
            try:
                response = self.emulator.handle(request)
            except Exception as exc:  # an emulator bug must look like a CRM 500, and be visible
                response = self.emulator.error_response(500)
                response.headers["X-Sandbox-Error"] = type(exc).__name__
            if decision.malformed:
                response = malform(response, decision.malformed)
        if decision.drop_after:  # the CRM did the work; the answer never reaches the caller
            response = SandboxResponse(
                status=0, drop_connection=True, records=response.records, headers=response.headers
            )
        delay = self.latency + self.per_record * response.records + decision.extra_delay
        if delay > 0:  # called even when the work took longer: a test's sleep may hold the answer here
            self._sleep(max(0.0, delay - (time.monotonic() - started)))
        self.log.add(
            {
                "method": request.method,
                "path": request.path,
                "endpoint": endpoint_of(self.emulator, request.path),
                "query": request.query,
                "body": request.body[:_MAX_LOGGED_BODY].decode("utf-8", "replace"),
                "status": response.status,
                "records": response.records,
                "at": self.clock(),
            }
        )
        return response

    def _control(self, request: SandboxRequest) -> SandboxResponse:
        action = request.path[len(CONTROL_PREFIX) :].strip("/")
        method = request.method
        try:
            body = request.json() or {}
        except ValueError:
            return SandboxResponse(400, {"error": "control API bodies are JSON"})
        if action == "seed" and method == "POST":
            try:
                created = self.emulator.seed(body)
            except (ValueError, TypeError) as exc:  # a bad seed is the caller's mistake: say what is wrong
                return SandboxResponse(400, {"error": f"bad seed: {exc}"})
            return SandboxResponse(200, {"created": created})
        if action == "state" and method == "GET":
            return SandboxResponse(200, self.emulator.dump())
        if action == "requests" and method == "GET":
            return SandboxResponse(200, {"requests": self.requests()})
        if action == "requests" and method == "DELETE":
            self.log.clear()
            return SandboxResponse(200, {"cleared": True})
        if action == "counts" and method == "GET":
            return SandboxResponse(200, {"total": self.request_count(), "by_endpoint": self.counts()})
        if action == "reset" and method == "POST":
            self.reset()
            return SandboxResponse(200, {"reset": True})
        if action == "faults" and method == "POST":
            try:
                if not isinstance(body, dict):
                    raise ValueError("the fault plan is a JSON object")
                self.faults.set(FaultPlan.from_dict(body))
            except (TypeError, ValueError) as exc:
                return SandboxResponse(400, {"error": str(exc)})
            return SandboxResponse(200, {"faults": body})
        if action == "faults" and method == "DELETE":
            self.faults.clear()
            return SandboxResponse(200, {"faults": {}})
        if action == "webhooks" and method == "POST":
            register = getattr(self.emulator, "register_webhook", None)
            if register is None or not isinstance(body, dict) or not body.get("url"):
                return SandboxResponse(
                    400, {"error": "POST {'url': ...}; this emulator registers webhooks through its own API"}
                )
            try:
                registered = register(body["url"], **(body.get("options") or {}))
            except (TypeError, ValueError) as exc:
                return SandboxResponse(400, {"error": f"bad webhook registration: {exc}"})
            return SandboxResponse(200, {"registered": registered})
        if action == "clock" and method == "POST":
            try:
                self.advance(float(body.get("advance", 0)))
            except (TypeError, ValueError, AttributeError):
                return SandboxResponse(400, {"error": "POST {'advance': seconds}"})
            return SandboxResponse(200, {"now": self.clock()})
        return SandboxResponse(404, {"error": f"unknown control endpoint {method} {request.path}"})


class _QuietServer(ThreadingHTTPServer):
    """A client that hung up before its answer (a timeout, a killed process) is the client's business:
    no traceback on standard error for it; anything else is still printed."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


def _make_handler(sandbox: Sandbox) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True
        server_version = "crm-bridge-sandbox"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            return  # the request log is the record; stderr stays quiet

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request = SandboxRequest(
                method=self.command.upper(),
                path=parts.path,
                query=parse_qs(parts.query, keep_blank_values=True),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
            response = sandbox.dispatch(request)
            if response.drop_connection:
                self.close_connection = True
                try:
                    self.connection.shutdown(2)
                except OSError:
                    pass
                return
            payload, ctype = _encode(response.body)
            self.send_response(response.status)
            headers = {"Content-Type": ctype, **response.headers}
            for key, value in headers.items():
                if key.lower() != "content-length":
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

    return Handler


def malform(response: SandboxResponse, how: str) -> SandboxResponse:
    """The answer broken as ``how`` says (``FaultPlan.malformed``), with status 200."""
    if how == "html":
        page = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
        return SandboxResponse(200, page.encode(), {"Content-Type": "text/html; charset=utf-8"})
    text, _ = _encode(response.body)
    if how == "truncated":
        return SandboxResponse(200, text[: max(1, len(text) // 2)], {"Content-Type": "application/json"})
    body = response.body
    if isinstance(body, dict):
        body = {key: str(value) for key, value in body.items()}
    elif isinstance(body, list):
        body = [str(value) for value in body]
    else:
        body = {"result": str(body)}
    return SandboxResponse(200, body)


def _encode(body: Any) -> tuple[bytes, str]:
    if body is None:
        return b"", "application/json"
    if isinstance(body, bytes):
        return body, "application/octet-stream"
    if isinstance(body, str):
        return body.encode("utf-8"), "text/plain; charset=utf-8"
    return json.dumps(body, ensure_ascii=False).encode("utf-8"), "application/json"
