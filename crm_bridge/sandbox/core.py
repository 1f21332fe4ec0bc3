"""The contract between the sandbox HTTP server and each CRM emulator.

The server (``crm_bridge.sandbox.server``) parses HTTP into a ``SandboxRequest``, applies latency,
fault injection and logging, and hands CRM paths to the emulator of the configured CRM, which
answers with a ``SandboxResponse`` shaped exactly as the real CRM documents it. Emulators keep
their records in memory, take time from an injected clock, and enforce their CRM's own rate limits.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qs


@dataclass
class SandboxRequest:
    method: str  # upper case
    path: str  # without the query string, e.g. /rest/1/secret/crm.deal.list.json
    query: dict[str, list[str]]
    headers: dict[str, str]  # keys lower-cased
    body: bytes = b""

    def json(self) -> Any:
        """The body parsed as JSON (None when empty). Raises ValueError on bad JSON."""
        if not self.body.strip():
            return None
        return json.loads(self.body.decode("utf-8"))

    def form(self) -> dict[str, list[str]]:
        """The body parsed as application/x-www-form-urlencoded."""
        return parse_qs(self.body.decode("utf-8"), keep_blank_values=True)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


@dataclass
class SandboxResponse:
    status: int = 200
    body: Any = None  # dict/list -> JSON; bytes/str sent as is; None -> empty body
    headers: dict[str, str] = field(default_factory=dict)
    records: int = 0  # records read or written: the server adds per-record latency for them
    drop_connection: bool = False  # close the socket without answering (fault injection)


class Emulator(Protocol):
    """One CRM's API. ``clock`` returns Unix time (injected; the server passes its own)."""

    kind: str  # "bitrix24" | "amocrm" | "hubspot"

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        """Answer a request to the emulated CRM API (never the /_sandbox control prefix)."""
        ...

    def error_response(self, status: int) -> SandboxResponse:
        """The body and headers this CRM sends with ``status`` (429, 500, 503, 401…) — used by
        fault injection so an injected failure looks exactly like a real one."""
        ...

    def seed(self, data: dict[str, Any]) -> dict[str, Any]:
        """Load records (JSON shape documented per emulator); returns the ids created."""
        ...

    def dump(self) -> dict[str, Any]:
        """The whole state as JSON-able data."""
        ...

    def reset(self) -> None: ...

    def config_snippet(self, base_url: str) -> dict[str, Any]:
        """The ``crm:`` config section (and env vars) that points crm-bridge at this sandbox."""
        ...

    def set_clock(self, clock: Callable[[], float]) -> None: ...

    def set_rate_limit(self, enabled: bool) -> None: ...
