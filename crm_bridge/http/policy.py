"""How crm-bridge talks to one CRM, declared as data: base URL, timeouts, retries and back-off, the
client-side rate budgets, and the CRM's hooks for reading waits and errors out of its answers."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import requests

from crm_bridge import __version__
from crm_bridge.budgets import Bucket
from crm_bridge.errors import CrmError

RetryAfterHook = Callable[[requests.Response, float], "float | None"]
ErrorHook = Callable[[requests.Response], "CrmError | None"]
ResponseTest = Callable[[requests.Response], bool]


@dataclass(frozen=True, slots=True)
class LimiterPolicy:
    """A leaky bucket: up to ``capacity`` requests at once, draining ``drain_per_second``. ``key`` names
    the budget shared by every process (e.g. ``bitrix24:example.bitrix24.ru``); empty = the host of
    the base URL (a grant that comes back late: ``HttpPolicy.stale_after``)."""

    capacity: float
    drain_per_second: float
    key: str = ""

    def __post_init__(self) -> None:
        if self.capacity < 1 or self.drain_per_second <= 0:
            raise ValueError("a limiter needs capacity >= 1 and drain_per_second > 0")


@dataclass(frozen=True, slots=True)
class RateBudget:
    """One named request budget of a CRM; a request goes only when it fits in every budget that
    applies to it. Build with ``RateBudget.leaky`` (a burst draining at a rate),
    ``RateBudget.per_window`` (N requests per fixed window, e.g. per day) or
    ``RateBudget.rolling_window`` (N requests in any window of so many seconds).

    ``paths``: regular expressions searched in the request's URL path; the budget applies to requests
    matching any of them (a path family such as search endpoints), to every request when empty.
    ``key``: where the budget is kept in the state store; empty = ``<policy's rate key>/<name>``."""

    name: str
    limit: float
    per_second: float = 0.0
    window: float = 0.0
    offset: float = 0.0
    paths: tuple[str, ...] = ()
    key: str = ""
    rolling: bool = False

    def __post_init__(self) -> None:
        if not self.name or self.limit < 1:
            raise ValueError("a rate budget needs a name and a limit >= 1")
        if (self.per_second > 0) == (self.window > 0):
            raise ValueError(f"rate budget {self.name!r}: give either per_second (leaky) or window")
        for pattern in self.paths:
            re.compile(pattern)

    @classmethod
    def leaky(
        cls, name: str, burst: float, per_second: float, *, paths: tuple[str, ...] = (), key: str = ""
    ) -> RateBudget:
        """Up to ``burst`` requests at once, then ``per_second`` (Bitrix24's plan limits)."""
        return cls(name, burst, per_second=per_second, paths=paths, key=key)

    @classmethod
    def per_window(
        cls,
        name: str,
        limit: float,
        seconds: float,
        *,
        offset: float = 0.0,
        paths: tuple[str, ...] = (),
        key: str = "",
    ) -> RateBudget:
        """At most ``limit`` requests per window of ``seconds``; windows start at Unix time multiples of
        ``seconds`` plus ``offset`` (a daily budget resetting at a time zone's midnight: ``offset`` =
        minus the zone's UTC offset in seconds)."""
        return cls(name, limit, window=seconds, offset=offset, paths=paths, key=key)

    @classmethod
    def rolling_window(
        cls, name: str, limit: float, seconds: float, *, paths: tuple[str, ...] = (), key: str = ""
    ) -> RateBudget:
        """At most ``limit`` requests in any ``seconds`` (a rolling window, e.g. HubSpot's 10 seconds):
        a burst of ``limit`` goes at once, and the next request waits only for the oldest request of
        the window to age out."""
        return cls(name, limit, window=seconds, paths=paths, key=key, rolling=True)

    def applies_to(self, url_path: str) -> bool:
        return not self.paths or any(re.search(p, url_path) for p in self.paths)

    def bucket(self, rate_key: str) -> Bucket:
        """The state-store bucket of this budget under the policy's ``rate_key``."""
        key = self.key or f"{rate_key}/{self.name}"
        return Bucket(key, self.limit, self.per_second, self.window, self.offset, self.rolling)


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
    writes without an idempotency key. ``concurrency`` sizes the connection pool.

    Rate limits: ``budgets`` are the CRM's named request budgets (several at once: per 10 s, per day,
    a path family's own), kept in the state store under ``rate_key`` (empty = the host of the base
    URL) so every process shares them. ``limiter`` is the older single leaky bucket (its key as
    before); a policy may give both. ``stale_after`` (seconds, 0 = off): a request whose places were
    booked longer ago than this by the time the store granted them (a slow commit, a stalled process)
    books fresh places in every budget before it leaves, so the requests after it are counted from when
    it really leaves (for a CRM that counts requests on arrival, where a late request bunches with the
    next ones)."""

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
    budgets: tuple[RateBudget, ...] = ()
    rate_key: str = ""
    stale_after: float = 0.0
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
        if self.stale_after < 0:
            raise ValueError("stale_after must be >= 0")
        names = [budget.name for budget in self.budgets]
        if len(names) != len(set(names)):
            raise ValueError(f"{self.name}: rate budget names must be unique, got {names}")

    @property
    def timeout(self) -> tuple[float, float]:
        return (self.connect_timeout, self.read_timeout)

    @property
    def limiter_key(self) -> str:
        if self.limiter is None:
            return ""
        return self.limiter.key or urlsplit(self.base_url).netloc or self.name

    def buckets_for(self, url_path: str) -> list[Bucket]:
        """The buckets one request to ``url_path`` must fit in (empty = not rate limited)."""
        rate_key = self.rate_key or urlsplit(self.base_url).netloc or self.name
        chosen = [budget.bucket(rate_key) for budget in self.budgets if budget.applies_to(url_path)]
        if self.limiter is not None:
            chosen.insert(0, Bucket(self.limiter_key, self.limiter.capacity, self.limiter.drain_per_second))
        return chosen

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
