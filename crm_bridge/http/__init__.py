"""The one HTTP layer: the only code in crm-bridge that talks HTTP to a CRM.

An adapter declares an ``HttpPolicy`` per CRM (base URL, connect/read timeouts, retries, back-off,
its named ``RateBudget``s, hooks reading waits and errors from the CRM's answers) and builds one
``HttpClient`` from it with an ``Auth`` (``NoAuth``, ``BearerAuth``/``QueryParamAuth`` over a
``StaticToken`` or a single-flight ``RefreshingToken``), the state store's bucket and locks, and an
injected clock and sleep::

    policy = HttpPolicy(name="mycrm", base_url=url, rate_key="mycrm:portal-42", budgets=(
        RateBudget.per_window("ten_seconds", 100, 10),             # each budget that applies to a
        RateBudget.per_window("daily", 250_000, 86_400),           # request must admit it; all are
        RateBudget.per_window("search", 5, 1, paths=(r"/search$",)),  # kept in ctx.bucket (the store)
    ))
    client = HttpClient(policy, auth=BearerAuth(StaticToken(token)), bucket=ctx.bucket,
                        clock=ctx.clock, sleep=ctx.sleep, on_request=ctx.on_request)
    response = client.get("/api/v4/leads", params={"limit": 250})
    client.post("/api/v4/leads", json=[...], idempotent=False)   # never blindly resent

A budget spent for longer than the limiter's ``max_wait`` (a daily one) raises ``RateLimited`` with
``retry_after`` at once instead of sleeping. ``MemoryLedger``/``ports.SpendLedger`` keep sliding
windows of spent amounts (a CRM's server time per method) for adapters that need them.

Redaction of tokens, webhook secrets, e-mails and phones is not here: ``crm_bridge.redaction`` is
its one home (installed for every log record by the CLI's entry and the daemon).
"""

from __future__ import annotations

from crm_bridge.http.auth import (
    Auth,
    BearerAuth,
    KvTokenStore,
    NoAuth,
    QueryParamAuth,
    RefreshingToken,
    StaticToken,
    TokenPair,
    TokenSource,
)
from crm_bridge.http.client import NO_RESPONSE, HttpClient, RequestCounter
from crm_bridge.http.limiter import MemoryBucket, MemoryLedger, RateLimiter
from crm_bridge.http.policy import HttpPolicy, LimiterPolicy, RateBudget, parse_retry_after

__all__ = [
    "NO_RESPONSE",
    "Auth",
    "BearerAuth",
    "HttpClient",
    "HttpPolicy",
    "KvTokenStore",
    "LimiterPolicy",
    "MemoryBucket",
    "MemoryLedger",
    "NoAuth",
    "QueryParamAuth",
    "RateBudget",
    "RateLimiter",
    "RefreshingToken",
    "RequestCounter",
    "StaticToken",
    "TokenPair",
    "TokenSource",
    "parse_retry_after",
]
