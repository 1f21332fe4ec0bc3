"""``HttpClient``: every request crm-bridge sends to a CRM — shared Session and pool, timeouts, auth,
the rate budgets, retries with back-off (tenacity), error translation, counting and redacted logs."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from crm_bridge.errors import (
    AuthError,
    CrmError,
    CrmFatalError,
    CrmRetriableError,
    CrmValidationError,
    NotFound,
    PermissionDenied,
    RateLimited,
    TransientError,
)
from crm_bridge.http.auth import Auth, NoAuth
from crm_bridge.http.limiter import RateLimiter
from crm_bridge.http.policy import HttpPolicy, parse_retry_after
from crm_bridge.ports import BucketStore
from crm_bridge.redaction import redact

log = logging.getLogger("crm_bridge.http")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
NO_RESPONSE = 0  # the status counted for requests that got no answer (timeout, connection error)


class RequestCounter:
    """Thread-safe count of requests per (HTTP method, status); status 0 = no answer."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def add(self, method: str, status: int) -> None:
        with self._lock:
            self._counts[(method, status)] = self._counts.get((method, status), 0) + 1

    def snapshot(self) -> dict[tuple[str, int], int]:
        with self._lock:
            return dict(self._counts)

    def total(self) -> int:
        with self._lock:
            return sum(self._counts.values())


class _Failed(Exception):
    """One failed attempt: the error to raise and whether sending again is safe."""

    def __init__(self, error: CrmError, resend_safe: bool) -> None:
        super().__init__(error.message)
        self.error = error
        self.resend_safe = resend_safe


class HttpClient:
    """Sends requests for one CRM according to ``policy``.

    ``auth`` injects credentials per request (default: none). ``bucket`` shares the rate budgets across
    processes (``Store.bucket``); without it they are per process. ``clock`` (Unix time) and
    ``sleep`` drive the limiter, Retry-After dates and back-off, so tests run without real time.
    ``on_request(crm, "METHOD path", status)`` is called after every attempt (metrics); when it also
    has ``retried(crm, reason)`` and ``waited(crm, seconds)`` (``ports.HttpObserver``), those hear of
    each retry and each client-side rate-limit wait."""

    def __init__(
        self,
        policy: HttpPolicy,
        *,
        auth: Auth | None = None,
        bucket: BucketStore | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        on_request: Callable[[str, str, int], None] | None = None,
        session: requests.Session | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.policy = policy
        self.auth: Auth = auth or NoAuth()
        self.counter = RequestCounter()
        self._clock = clock
        self._sleep = sleep
        self._on_request = on_request
        self._rng = rng or random.Random()  # noqa: S311 (retry jitter, not security)
        self._owns_session = session is None
        self.session = session or requests.Session()
        pool = HTTPAdapter(pool_connections=1, pool_maxsize=policy.concurrency, max_retries=0)
        self.session.mount("https://", pool)
        self.session.mount("http://", pool)
        retried = getattr(on_request, "retried", None)
        waited = getattr(on_request, "waited", None)
        self._on_retry: Callable[[str, str], None] | None = retried if callable(retried) else None
        on_wait: Callable[[str, float], None] | None = waited if callable(waited) else None
        self.limiter = RateLimiter(
            policy.limiter,
            policy.limiter_key,
            bucket=bucket,
            clock=clock,
            sleep=sleep,
            on_wait=(lambda seconds: on_wait(policy.name, seconds)) if on_wait is not None else None,
            stale_after=policy.stale_after,
        )

    def close(self) -> None:
        if self._owns_session:
            self.session.close()

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool = False,
    ) -> requests.Response:
        """Send ``method`` to ``path`` (relative to the base URL, or absolute) and return the 2xx/3xx
        response. Reads are retried on retriable failures; writes only with ``idempotent=True`` (the
        request carries an idempotency key) or when the answer proves nothing ran. Raises AuthError,
        PermissionDenied, NotFound, CrmValidationError (or what the policy's hook returns), and
        RateLimited/TransientError with ``retry_after`` once retries are exhausted."""
        method = method.upper()
        resend_ok = idempotent or method in SAFE_METHODS
        retrying = Retrying(
            stop=stop_after_attempt(self.policy.max_retries + 1),
            retry=retry_if_exception(lambda exc: self._retriable(exc, resend_ok)),
            wait=self._wait,
            sleep=self._sleep,
            before_sleep=self._before_retry,
            reraise=True,
        )
        try:
            return retrying(self._attempt, method, path, params, json, data, headers)
        except _Failed as failed:
            attempts = retrying.statistics.get("attempt_number", 1)
            error = failed.error
            if attempts > 1:
                error.message = f"{error.message} (gave up after {attempts} attempts)"
                error.args = (error.message,)
            raise error from failed.__cause__

    # -- one attempt ------------------------------------------------------------------------------
    def _attempt(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        json: Any,
        data: Any,
        headers: Mapping[str, str] | None,
    ) -> requests.Response:
        renewed = False
        while True:
            self.limiter.acquire(self.policy.buckets_for(urlsplit(self._url(path)).path))
            all_headers = {
                **self.policy.default_headers,
                "User-Agent": self.policy.user_agent,
                **(headers or {}),
            }
            all_params = dict(params or {})
            used = self.auth.apply(all_headers, all_params)
            response = self._send(method, path, all_params, json, data, all_headers)
            if response.status_code == 401 and not renewed and self.auth.renew(response, used):
                renewed = True  # a fresh credential: send once more (401 means nothing ran)
                continue
            if response.status_code < 400:
                return response
            raise self._failure(method, path, response)

    def _send(
        self,
        method: str,
        path: str,
        params: dict[str, Any],
        json: Any,
        data: Any,
        headers: dict[str, str],
    ) -> requests.Response:
        url = self._url(path)
        started = time.perf_counter()
        try:
            response = self.session.request(
                method, url, params=params, json=json, data=data, headers=headers, timeout=self.policy.timeout
            )
        except requests.ConnectTimeout as exc:  # never reached the server: safe to resend anything
            self._count(method, path, NO_RESPONSE)
            error = TransientError(
                self._describe(method, path, "could not connect (timed out)"), crm=self.policy.name
            )
            raise _Failed(error, resend_safe=True) from exc
        except (requests.ConnectionError, requests.Timeout) as exc:
            self._count(method, path, NO_RESPONSE)
            reason = redact(f"{type(exc).__name__}: {exc}")[:300]
            error = TransientError(self._describe(method, path, f"failed: {reason}"), crm=self.policy.name)
            raise _Failed(error, resend_safe=False) from exc
        except requests.RequestException as exc:
            self._count(method, path, NO_RESPONSE)
            reason = redact(f"{type(exc).__name__}: {exc}")[:300]
            raise CrmFatalError(
                self._describe(method, path, f"failed: {reason}"), crm=self.policy.name
            ) from exc
        self._count(method, path, response.status_code)
        if log.isEnabledFor(logging.DEBUG):
            elapsed_ms = (time.perf_counter() - started) * 1000
            log.debug(
                "%s %s -> %d in %.0f ms",
                method,
                redact(response.url or url),
                response.status_code,
                elapsed_ms,
            )
        return response

    def _failure(self, method: str, path: str, response: requests.Response) -> _Failed:
        hook = self.policy.translate_error
        error = (hook(response) if hook is not None else None) or self._by_status(method, path, response)
        error.message = redact(error.message)
        error.args = (error.message,)
        if isinstance(error, CrmRetriableError) and error.retry_after is None:
            error.retry_after = self._retry_after(response)
        refused = self.policy.refused_before_running
        return _Failed(error, resend_safe=bool(refused and refused(response)))

    def _by_status(self, method: str, path: str, response: requests.Response) -> CrmError:
        status = response.status_code
        message = self._describe(method, path, f"answered HTTP {status}")
        fields: dict[str, Any] = {"crm": self.policy.name, "status": status}
        if status == 429:
            return RateLimited(message, **fields)
        if status in self.policy.retry_statuses:
            return TransientError(message, **fields)
        kinds: dict[int, type[CrmError]] = {
            401: AuthError,
            403: PermissionDenied,
            404: NotFound,
            400: CrmValidationError,
            409: CrmValidationError,
            422: CrmValidationError,
        }
        return kinds.get(status, CrmFatalError)(message, **fields)

    # -- retry policy -----------------------------------------------------------------------------
    def _retriable(self, exc: BaseException, resend_ok: bool) -> bool:
        if not isinstance(exc, _Failed) or not isinstance(exc.error, CrmRetriableError):
            return False
        wait = exc.error.retry_after
        if wait is not None and wait > self.policy.max_retry_after:
            return False  # the caller reschedules rather than sleeping that long
        return resend_ok or exc.resend_safe

    def _before_retry(self, state: RetryCallState) -> None:
        if self._on_retry is None:
            return
        exc = state.outcome.exception() if state.outcome is not None else None
        status = getattr(exc.error, "status", None) if isinstance(exc, _Failed) else None
        self._on_retry(self.policy.name, str(status or NO_RESPONSE))

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        if (
            isinstance(exc, _Failed)
            and isinstance(exc.error, CrmRetriableError)
            and exc.error.retry_after is not None
        ):
            return exc.error.retry_after
        return self.policy.backoff(state.attempt_number, self._rng)

    def _retry_after(self, response: requests.Response) -> float | None:
        hook = self.policy.retry_after_from
        from_body = hook(response, self._clock()) if hook is not None else None
        if from_body is not None:
            return max(0.0, from_body)
        return parse_retry_after(response.headers.get("Retry-After"), self._clock())

    # -- helpers ----------------------------------------------------------------------------------
    def _url(self, path: str) -> str:
        if path.startswith(("https://", "http://")):
            return path
        return f"{self.policy.base_url.rstrip('/')}/{path.lstrip('/')}"

    def _describe(self, method: str, path: str, what: str) -> str:
        return redact(f"{self.policy.name}: {method} {path.split('?', 1)[0]} {what}")

    def _count(self, method: str, path: str, status: int) -> None:
        self.counter.add(method, status)
        if self._on_request is not None:
            self._on_request(self.policy.name, f"{method} {redact(path.split('?', 1)[0])}", status)
