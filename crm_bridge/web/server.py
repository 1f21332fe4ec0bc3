"""``WebServer``: uvicorn serving an ASGI app on ``host:port`` (port 0 = a free port) in a background
thread of ``crm-bridge run``. ``stop()`` is graceful: the socket stops accepting, requests in flight
finish (up to ``graceful_timeout`` seconds), then the thread ends. Signals stay with the daemon (uvicorn
installs no handlers outside the main thread)."""

from __future__ import annotations

import logging
import socket
import threading
import time

import uvicorn
from starlette.types import ASGIApp

log = logging.getLogger("crm_bridge.daemon.http")


class WebServer:
    def __init__(self, app: ASGIApp, host: str, port: int, *, graceful_timeout: float = 30.0) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # Bound now (not in the thread) so a taken port is an error of ``crm-bridge run`` at once and
        # port 0 is known before start.
        self._socket = socket.create_server((host, port), family=family, backlog=128, reuse_port=False)
        self._socket.set_inheritable(True)
        config = uvicorn.Config(
            app,
            log_config=None,  # crm-bridge's logging (redacted) stays in charge
            access_log=False,  # request lines carry paths only, but stay quiet like before
            lifespan="off",
            timeout_graceful_shutdown=max(1, round(graceful_timeout)),
            server_header=False,
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._socket.getsockname()[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        host, port = self.address
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def start(self) -> WebServer:
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, name="crm-bridge-http", daemon=True
        )
        self._thread.start()
        while not self._server.started and self._thread.is_alive():
            time.sleep(0.01)  # startup is a few milliseconds; a crash ends the thread instead
        if not self._server.started:
            raise RuntimeError("the HTTP server did not start (see the log)")
        return self

    def stop(self, timeout: float | None = None) -> None:
        """Stop accepting, let requests in flight finish, then return."""
        if self._thread is not None:
            self._server.should_exit = True
            limit = timeout if timeout is not None else self._server.config.timeout_graceful_shutdown
            self._thread.join((limit or 30.0) + 5.0)
            self._thread = None
        self._socket.close()

    def __enter__(self) -> WebServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
