"""``BodyLimit``: an ASGI middleware that refuses a request body over the limit with 413 *before*
reading it when Content-Length says so, and stops reading a chunked body as soon as it passes the
limit -- so a huge upload costs neither memory nor time. Bodies under the limit are buffered and
handed on unchanged."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crm_bridge.redaction import redact
from crm_bridge.web.models import problem_body

log = logging.getLogger("crm_bridge.daemon.http")


class RequestLog:
    """One DEBUG line per request: method, path (never the query, headers or body: keys travel in
    headers, customers' data in bodies) and status. The log's formatter keeps it one line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not log.isEnabledFor(logging.DEBUG):
            await self.app(scope, receive, send)
            return
        status = [0]

        async def record(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            log.debug("http %s %s -> %d", scope["method"], redact(str(scope.get("path", ""))), status[0])


class BodyLimit:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body: int,
        on_refused: Callable[[str, str], None] | None = None,
        limits: dict[str, int] | None = None,
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.limits = dict(limits or {})  # path prefix -> its own limit (the CRM event receiver)
        self.on_refused = on_refused  # told (path, error) of each refused request (metrics)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        limit = next((v for k, v in self.limits.items() if path.startswith(k)), self.max_body)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None:
            if not length.isdigit():
                await self._refuse(
                    scope, send, 400, "invalid_request", "the Content-Length header is not a number"
                )
                return
            if int(length) > limit:
                await self._too_large(scope, send, f"the body is {int(length)} bytes", limit)
                return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._too_large(scope, send, f"the body is more than {limit} bytes", limit)
                return
            chunks.append(chunk)
            more = bool(message.get("more_body", False))
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # the disconnect, whenever it comes

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, send: Send, what: str, limit: int) -> None:
        await self._refuse(scope, send, 413, "too_large", f"{what}; the limit is {limit}")

    async def _refuse(self, scope: Scope, send: Send, status: int, error: str, message: str) -> None:
        if self.on_refused is not None:
            self.on_refused(str(scope.get("path", "")), error)
        payload: dict[str, Any] = problem_body(error, message)
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),  # the rest of the body is never read
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
