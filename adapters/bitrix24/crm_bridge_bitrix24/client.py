"""The typed Bitrix24 REST client: single calls, ``batch`` packing of up to 50 commands with per-command
results and errors, waves of batches in parallel, and the per-method operating-time budget.

Every HTTP request goes through ``Transport`` (the adapter's glue to ``crm_bridge.http``), which owns the
session, the leaky bucket, retries of whole requests and the error table for whole-request failures.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from crm_bridge.errors import CrmError, RateLimited
from crm_bridge_bitrix24.budget import OperatingBudget
from crm_bridge_bitrix24.encoding import command as encode_command
from crm_bridge_bitrix24.failures import to_error
from crm_bridge_bitrix24.wire import BatchBody, Envelope

T = TypeVar("T")

BATCH_LIMIT = 50  # batch.md: at most 50 commands per batch
PAGE_SIZE = 50  # list methods always return pages of 50 rows


class Transport(Protocol):
    def post(self, method: str, payload: Mapping[str, Any], *, idempotent: bool) -> Any:
        """POST ``payload`` as JSON to ``<portal>/rest/.../<method>``; return the parsed body of a
        successful answer. Raises crm-bridge errors (already translated) for failed requests.
        ``idempotent=False`` forbids blind retries of answers that may follow a partial write."""
        ...


def is_idempotent(method: str) -> bool:
    """Reads, updates and deletes may be repeated; ``*.add`` and notifications may not."""
    return not (method.endswith(".add") or method.startswith("im.notify"))


# Refused before anything ran (limits.md): safe to send again after waiting, whatever the method.
REFUSED_BEFORE_RUNNING = frozenset({"QUERY_LIMIT_EXCEEDED", "OPERATION_TIME_LIMIT"})


@dataclass(frozen=True, slots=True)
class Command:
    method: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Outcome:
    """The answer to one command of a batch: ``result`` or ``error``, plus list totals."""

    result: Any = None
    total: int | None = None
    next: int | None = None
    error: CrmError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True)
class BatchAnswer:
    outcomes: list[Outcome]
    server_time: float | None  # ``time.start`` of the batch request (the portal's clock)


class Bitrix24Client:
    """``concurrency`` batch requests may be in flight at once (the shared session's pool and the HTTP
    layer's leaky bucket decide when each actually goes). ``clock``/``sleep`` are injected."""

    def __init__(
        self,
        transport: Transport,
        *,
        budget: OperatingBudget | None = None,
        concurrency: int = 1,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        blocked_retries: int = 3,
    ) -> None:
        self.transport = transport
        self.budget = budget or OperatingBudget()
        self.concurrency = max(1, concurrency)
        self.clock = clock
        self.sleep = sleep
        self.blocked_retries = blocked_retries
        self._pool: ThreadPoolExecutor | None = None

    # -- single calls -------------------------------------------------------------------------------
    def call(self, method: str, params: Mapping[str, Any] | None = None) -> Envelope:
        """Call one method. Raises crm-bridge errors; returns the parsed envelope."""
        self._respect_budget({method})
        body = self._post(method, dict(params or {}), is_idempotent(method))
        envelope = parse_answer(Envelope, body, method)
        if envelope.time is not None:
            spent = envelope.time
            self.budget.record_all(
                [(method, spent.duration, spent.operating, spent.operating_reset_at)], self.clock()
            )
        return envelope

    # -- batches ------------------------------------------------------------------------------------
    def batch(self, commands: Sequence[Command]) -> BatchAnswer:
        """Run up to 50 commands in one ``batch`` request (halt=0); per-command failures come back as
        ``Outcome.error``; commands blocked by OPERATION_TIME_LIMIT are re-sent after the reset."""
        if len(commands) > BATCH_LIMIT:
            raise ValueError(f"a batch holds at most {BATCH_LIMIT} commands, got {len(commands)}")
        outcomes: list[Outcome | None] = [None] * len(commands)
        pending = list(range(len(commands)))
        server_time: float | None = None
        for attempt in range(self.blocked_retries + 1):
            answer = self._send([commands[i] for i in pending])
            server_time = server_time if server_time is not None else answer.server_time
            retry: list[int] = []
            for index, outcome in zip(pending, answer.outcomes, strict=True):
                outcomes[index] = outcome
                if isinstance(outcome.error, RateLimited) and attempt < self.blocked_retries:
                    retry.append(index)
            if not retry:
                break
            self._wait_blocked({commands[i].method for i in retry}, answer.outcomes)
            pending = retry
        return BatchAnswer([o for o in outcomes if o is not None], server_time)

    def run(self, commands: Iterable[Command]) -> Iterator[Outcome]:
        """Run any number of commands in batches of 50, several batches in flight; outcomes in order."""
        for answer in self.run_batches(_chunks(commands, BATCH_LIMIT)):
            yield from answer.outcomes

    def run_batches(
        self, chunks: Iterable[Sequence[Command]], *, max_in_flight: int | None = None
    ) -> Iterator[BatchAnswer]:
        """Send each chunk as one batch, up to ``concurrency`` (or ``max_in_flight``) at once; answers
        in input order. At most that many answers are held at a time, so memory stays flat however
        many chunks come."""
        limit = max(1, min(self.concurrency, max_in_flight or self.concurrency))
        in_flight: deque[Future[BatchAnswer]] = deque()
        pool = self._executor()
        for chunk in chunks:
            if limit == 1:
                yield self.batch(chunk)
                continue
            in_flight.append(pool.submit(self.batch, list(chunk)))
            if len(in_flight) >= limit:
                yield in_flight.popleft().result()
        while in_flight:
            yield in_flight.popleft().result()

    def submit_batch(self, commands: Sequence[Command], then: Callable[[BatchAnswer], T]) -> Future[T]:
        """``then(batch(commands))`` on the client's pool: the answer is digested in the worker, so a
        finished future holds only what ``then`` kept. Callers bound how many they keep in flight."""
        batch = list(commands)
        return self._executor().submit(lambda: then(self.batch(batch)))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    # -- internals ----------------------------------------------------------------------------------
    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="bitrix24")
        return self._pool

    def _send(self, commands: Sequence[Command]) -> BatchAnswer:
        keys = [f"c{i}" for i in range(len(commands))]
        self._respect_budget({c.method for c in commands})
        encoded = {k: encode_command(c.method, c.params) for k, c in zip(keys, commands, strict=True)}
        payload = {"halt": 0, "cmd": encoded}
        idempotent = all(is_idempotent(c.method) for c in commands)
        envelope = parse_answer(Envelope, self._post("batch", payload, idempotent), "batch")
        body = parse_answer(BatchBody, envelope.result or {}, "batch")
        now = self.clock()
        self.budget.record_all(
            [
                (cmd.method, spent.duration, spent.operating, spent.operating_reset_at)
                for key, cmd in zip(keys, commands, strict=True)
                if (spent := body.result_time.get(key)) is not None
            ],
            now,
        )
        outcomes: list[Outcome] = []
        for key in keys:
            if key in body.result_error:
                err = body.result_error[key]
                code = str(err.error)
                outcomes.append(Outcome(error=to_error(code, err.error_description, status=None)))
            elif key in body.result:
                outcomes.append(
                    Outcome(body.result[key], body.result_total.get(key), body.result_next.get(key))
                )
            else:  # halt or a silently skipped command: report it, never invent a result
                outcomes.append(Outcome(error=to_error("", "command was not executed", status=None)))
        server_time = envelope.time.start if envelope.time and envelope.time.start else None
        return BatchAnswer(outcomes, server_time)

    def _post(self, method: str, payload: Mapping[str, Any], idempotent: bool) -> Any:
        """Send through the transport; the HTTP layer resends reads, and writes only when the portal
        proves nothing ran (QUERY_LIMIT_EXCEEDED / OPERATION_TIME_LIMIT)."""
        return self.transport.post(method, payload, idempotent=idempotent)

    def _respect_budget(self, methods: set[str]) -> None:
        wait = self.budget.wait_for(methods, self.clock())
        if wait > 0:
            self.sleep(wait)

    def _wait_blocked(self, methods: set[str], outcomes: Sequence[Outcome]) -> None:
        now = self.clock()
        waits = [self.budget.reset_at(m) for m in methods]
        wait = max((w - now for w in waits if w is not None), default=0.0)
        hinted = [o.error.retry_after for o in outcomes if isinstance(o.error, RateLimited)]
        wait = max([wait, *[h for h in hinted if h is not None]])
        self.sleep(wait if wait > 0 else 1.0)


def _chunks(items: Iterable[Command], size: int) -> Iterator[list[Command]]:
    chunk: list[Command] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


_Model = TypeVar("_Model", bound=BaseModel)


def parse_answer(model: type[_Model], body: Any, method: str) -> _Model:
    """``body`` as ``model``; an answer of unexpected shape is a CrmError naming the call and the first
    field that did not fit (never the values: they may hold customers' data)."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the answer"
        raise to_error(
            "ERROR_UNEXPECTED_ANSWER",
            f"{method} answered an unexpected shape ({where}: {first['msg'].lower()})",
            status=200,
        ) from None
