"""Array writes and paged reads over ``AmoTransport``.

amoCRM takes adds and updates as JSON arrays of up to 250 items (``MAX_BATCH``) and answers one item
per ``request_id``. One invalid item makes it refuse the whole request with 400 ``validation-errors``
naming that item's request_id: nothing was written, so the refused items get their error and the rest
are sent again (one extra request per round of refusals). Chunks of one call go out in parallel, up to
``max_concurrency`` at once, all through the shared rate limiter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from crm_bridge.errors import CrmBridgeError
from crm_bridge_amocrm.transport import AmoTransport, AmoValidationError

MAX_BATCH = 250  # items per add/update array, rows per list page (amoCRM API v4: limit 250)


@dataclass(frozen=True, slots=True)
class ItemResult:
    """One item of an array write: the record's id, or the reason amoCRM refused it."""

    crm_id: str | None
    error: str | None = None


class AmoClient:
    def __init__(self, transport: AmoTransport, concurrency: int = 4) -> None:
        self.transport = transport
        self.concurrency = max(1, concurrency)

    # -- reads --------------------------------------------------------------------------------------
    def get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any] | None:
        return self.transport.get(path, params)

    def pages(
        self, path: str, key: str, params: dict[str, Any], limit: int = MAX_BATCH
    ) -> Iterator[list[Any]]:
        """Every page of a list by ``page``/``limit`` until an empty answer (204) or no ``next`` link."""
        page = 1
        while True:
            body = self.transport.get(path, {**params, "page": page, "limit": limit})
            if body is None:
                return
            rows = list((body.get("_embedded") or {}).get(key) or [])
            yield rows
            if not rows or "next" not in (body.get("_links") or {}):
                return
            page += 1

    def fetch_all(self, path: str, key: str, params: dict[str, Any], limit: int = MAX_BATCH) -> list[Any]:
        return [row for rows in self.pages(path, key, params, limit) for row in rows]

    def map_chunks(self, func: Callable[[Any], Any], chunks: Sequence[Any]) -> list[Any]:
        """``func`` over ``chunks`` with up to ``concurrency`` in flight; results in input order."""
        if len(chunks) <= 1 or self.concurrency == 1:
            return [func(c) for c in chunks]
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(chunks))) as pool:
            return list(pool.map(func, chunks))

    # -- array writes ---------------------------------------------------------------------------------
    def write(
        self,
        method: str,
        path: str,
        key: str,
        items: Sequence[dict[str, Any]],
        *,
        batch: int = MAX_BATCH,
        parallel: bool = True,
    ) -> list[ItemResult]:
        """POST (add) or PATCH (update) ``items`` in arrays of ``batch``; one result per item, in
        order. Raises only for failures of the whole request (auth, block, exhausted retries).
        ``parallel=False``: the arrays one after another (the caller already runs in a worker)."""
        chunks = [list(range(i, min(i + batch, len(items)))) for i in range(0, len(items), batch)]
        results: list[ItemResult | None] = [None] * len(items)

        def run(indexes: list[int]) -> None:
            for index, result in self._write_chunk(method, path, key, items, indexes).items():
                results[index] = result

        if parallel:
            self.map_chunks(run, chunks)
        else:
            for chunk in chunks:
                run(chunk)
        return [r or ItemResult(None, "no answer for this item") for r in results]

    def _write_chunk(
        self, method: str, path: str, key: str, items: Sequence[dict[str, Any]], indexes: list[int]
    ) -> dict[int, ItemResult]:
        out: dict[int, ItemResult] = {}
        pending = list(indexes)
        while pending:
            payload = [{**items[i], "request_id": str(i)} for i in pending]
            try:
                body: Any
                if method == "POST" and path.endswith("/complex"):
                    body = self.transport.post_array(path, payload)
                elif method == "POST":
                    body = self.transport.post(path, payload)
                else:
                    body = self.transport.patch(path, payload)
            except AmoValidationError as exc:
                refused = {int(r) for r in exc.problems if r.isdigit() and int(r) in pending}
                if not refused:  # amoCRM did not say which item: fail them all with its words
                    return {**out, **{i: ItemResult(None, str(exc)) for i in pending}}
                for i in refused:
                    out[i] = ItemResult(None, exc.problems[str(i)])
                pending = [i for i in pending if i not in refused]
                continue
            answered = body if isinstance(body, list) else (body.get("_embedded") or {}).get(key) or []
            by_request = {_request_id(a): a for a in answered if isinstance(a, dict)}
            for position, i in enumerate(pending):
                answer = by_request.get(str(i))
                if answer is None and position < len(answered) and "request_id" not in answered[position]:
                    answer = answered[position]
                out[i] = (
                    ItemResult(str(answer["id"]))
                    if answer and answer.get("id") is not None
                    else ItemResult(None, "amoCRM returned no id for this item")
                )
            pending = []
        return out


def _request_id(answer: dict[str, Any]) -> str:
    """An answer's request_id: a string, or (complex add) the array of the request_ids merged into it."""
    rid = answer.get("request_id")
    if isinstance(rid, list):
        return str(rid[0]) if rid else ""
    return str(rid)


def fail_all(count: int, error: CrmBridgeError | str) -> list[ItemResult]:
    return [ItemResult(None, str(error)) for _ in range(count)]
