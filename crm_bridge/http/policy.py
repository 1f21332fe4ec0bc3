"""How crm-bridge talks to one CRM, declared as data: base URL, timeouts, retries and back-off, the
client-side rate limit, and the CRM's hooks for reading waits and errors out of its answers."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import requests

from crm_bridge import __version__
from crm_bridge.errors import CrmError

RetryAfterHook = Callable[[requests.Response, float], "float | None"]
ErrorHook = Callable[[requests.Response], "CrmError | None"]
ResponseTest = Callable[[requests.Response], bool]


@dataclass(frozen=True, slots=True)
class LimiterPolicy:
    """A leaky bucket: up to ``capacity`` requests at once, draining ``drain_per_second``. ``key`` names
    the budget shared by every process (e.g. ``bitrix24:example.bitrix24.ru``); empty = the host of
    the base URL."""

    capacity: float
    drain_per_second: float
    key: str = ""

    def __post_init__(self) -> None:
        if self.capacity < 1 or self.drain_per_second <= 0:
            raise ValueError("a limiter needs capacity >= 1 and drain_per_second > 0")


@dataclass(frozen=True)
class HttpPolicy:
    """One CRM's HTTP behaviour.

    ``retry_statuses``: answers retried (429 and 5xx by default). ``backoff_base``/``backoff_cap``:
    exponential back-off with jitter, in seconds. A Retry-After header (seconds or HTTP-date), or the
    ``retry_after_from(response, now)`` hook, replaces the back-off; a server asking for more than
    ``max_retry_after`` seconds fails the call at once with ``retry_after`` set, so the caller can
    reschedule instead of sleeping. ``translate_error(response)`` maps a failed answer to a crm-bridge
    error (None = use the status code). ``refused_before_running(response)`` marks answers that
    guarantee nothing was executed (e.g. Bitrix24 QUERY_LIMIT_EXCEEDED): those are retried even for
    writes without an idempotency key. ``concurrency`` sizes the connection pool."""

    name: str
    base_url: str
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    max_retries: int = 4
    retry_statuses: frozenset[int] = frozenset({429, 500, 502, 503, 504})
    backoff_base: float = 1.0
    backoff_cap: float = 30.0
    max_retry_after: float = 120.0
    limiter: LimiterPolicy | None = None
    user_agent: str = f"crm-bridge/{__version__}"
    concurrency: int = 4
    retry_after_from: RetryAfterHook | None = None
    translate_error: ErrorHook | None = None
    refused_before_running: ResponseTest | None = None
    default_headers: dict[str, str] = field(default_factory=lambda: {"Accept": "application/json"})

    def __post_init__(self) -> None:
        if not (self.connect_timeout > 0 and self.read_timeout > 0):
            raise ValueError("connect_timeout and read_timeout must be > 0: a request never waits forever")
        if self.max_retries < 0 or self.concurrency < 1:
            raise ValueError("max_retries must be >= 0 and concurrency >= 1")

    @property
    def timeout(self) -> tuple[float, float]:
        return (self.connect_timeout, self.read_timeout)

    @property
    def limiter_key(self) -> str:
        if self.limiter is None:
            return ""
        return self.limiter.key or urlsplit(self.base_url).netloc or self.name

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based): exponential, capped, with "equal
        jitter" (half fixed, half random) so parallel clients spread out but never hammer at once."""
        ceiling = min(self.backoff_cap, self.backoff_base * (2 ** (attempt - 1)))
        return float(ceiling / 2 + rng.uniform(0, ceiling / 2))


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP-date (RFC 9110 §10.2.3),
    relative to ``now`` (Unix time). None when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" / asctime forms: HTTP dates are always GMT
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)
