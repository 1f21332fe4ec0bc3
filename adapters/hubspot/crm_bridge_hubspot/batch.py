"""HubSpot's batch endpoints: at most 100 inputs per request, answers 200/201 or 207 multi-status.

``BatchWriter.run`` sends inputs in chunks of 100 and maps each result and each error back to the one
input it concerns: results by ``objectWriteTraceId`` (we send our key there) or record id, errors by
the ids HubSpot lists in the error's ``context`` (``ids``, ``objectWriteTraceId``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from crm_bridge.errors import CrmBridgeError, CrmError
from crm_bridge_hubspot.transport import HubSpotTransport

MAX_INPUTS = 100


def chunks(items: Sequence[Any], size: int = MAX_INPUTS) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(frozen=True, slots=True)
class Answer:
    """What one input got: the record's id (when it succeeded) or an error line. Only the id is kept,
    so a push of many records holds a few bytes per record, not HubSpot's whole answer."""

    crm_id: str | None = None
    error: str | None = None


def error_line(error: dict[str, Any]) -> str:
    text = f"{error.get('category', 'ERROR')}: {error.get('message', 'failed')}"
    return text + (f" (correlationId {error['correlationId']})" if error.get("correlationId") else "")


def map_answer(keys: Sequence[str], body: dict[str, Any], by: str) -> dict[str, Answer]:
    """Results and 207 errors of one batch -> input key -> Answer. ``by``: how results name their
    input (``trace`` = objectWriteTraceId, ``id`` = record id, or a property name)."""
    out: dict[str, Answer] = {}
    results = body.get("results") or []
    for position, record in enumerate(results):
        if by == "trace":
            key = record.get("objectWriteTraceId")
        elif by == "id":
            key = record.get("id")
        else:
            key = (record.get("properties") or {}).get(by)
        if key is None and position < len(keys) and len(results) == len(keys):
            key = keys[position]
        if key is not None:
            out[str(key)] = Answer(crm_id=str(record["id"]))
    for error in body.get("errors") or []:
        context = error.get("context") or {}
        named = [str(v) for name in ("ids", "objectWriteTraceId", "id") for v in context.get(name) or []]
        for key in named:
            if key in keys and key not in out:
                out[key] = Answer(error=error_line(error))
    for key in keys:
        if key not in out:
            out[key] = Answer(error="HubSpot returned no result for this input")
    return out


class BatchWriter:
    """Chunks go out ``concurrency`` at a time (the transport's budgets still pace them)."""

    def __init__(self, transport: HubSpotTransport) -> None:
        self.transport = transport
        self.concurrency = transport.config.max_concurrency

    def run(
        self,
        path: str,
        items: Sequence[tuple[str, Any]],
        *,
        by: str,
        extra: dict[str, Any] | None = None,
        idempotent: bool = False,
        build: Callable[[Any], dict[str, Any]] | None = None,
    ) -> dict[str, Answer]:
        """POST ``items`` (key, input) to the batch ``path`` 100 at a time. A refused chunk (400/409…)
        gives every input of that chunk the error; other failures raise. ``build``: items are turned
        into inputs as their chunk goes (so only the chunks in flight are held); an item it refuses
        with a crm-bridge error gets that error and is left out of the chunk."""

        def one(chunk: Sequence[tuple[str, Any]]) -> dict[str, Answer]:
            keys: list[str] = []
            inputs: list[Any] = []
            refused: dict[str, Answer] = {}
            for key, item in chunk:
                try:
                    inputs.append(build(item) if build is not None else item)
                except CrmBridgeError as exc:
                    refused[key] = Answer(error=str(exc))
                    continue
                keys.append(key)
            if not inputs:
                return refused
            body = {"inputs": inputs, **(extra or {})}
            try:
                answer = self.transport.call("POST", path, json=body, idempotent=idempotent)
            except CrmError as exc:
                if exc.status not in (400, 404, 409, 422):
                    raise
                return {**{k: Answer(error=str(exc)) for k in keys}, **refused}
            return {**map_answer(keys, answer or {}, by), **refused}

        parts = list(chunks(items))
        out: dict[str, Answer] = {}
        if len(parts) <= 1 or self.concurrency <= 1:
            for part in parts:
                out.update(one(part))
            return out
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(parts))) as pool:
            for answers in pool.map(one, parts):
                out.update(answers)
        return out

    def read_rows(
        self, path: str, items: Sequence[tuple[str, dict[str, Any]]], *, extra: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """The records a ``batch/read`` finds, 100 inputs per request (ids it does not find are left
        out: HubSpot answers them as 207 errors)."""
        rows: list[dict[str, Any]] = []
        for part in chunks(items):
            body = {"inputs": [i for _, i in part], **extra}
            answer = self.transport.call("POST", path, json=body, idempotent=True)
            rows.extend((answer or {}).get("results") or [])
        return rows
