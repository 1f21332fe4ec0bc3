"""Exactly-once creation for CRM writes that have no idempotency key of their own (tasks, notes…).

Each draft's external id is recorded in the state store as *pending* before its request is sent, and
with the CRM's id once the answer arrives. A repeated push answers recorded ones from the store
without a request; only drafts left *pending* by a crash between sending and recording are looked up
in the CRM (the adapter's ``recover``), and re-created only when the lookup finds nothing. A refused
write clears its record: nothing was created, so the next push may try again.

    writes = ExactlyOnce(ctx.kv, "mycrm.task:")
    outcomes = writes.create(drafts, key=lambda d: d.external_id, prepare=to_request,
                             recover=find_in_crm, send=send_in_batches)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from crm_bridge.errors import CrmValidationError
from crm_bridge.ports import KeyValueState, WriteOutcome

D = TypeVar("D")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Sent:
    """The answer to one sent write: the CRM's id, or the reason it was refused."""

    crm_id: str | None
    error: str | None = None


class ExactlyOnce(Generic[D, R]):
    def __init__(self, kv: KeyValueState, prefix: str) -> None:
        self.kv = kv
        self.prefix = prefix

    def recorded(self, external_id: str) -> str | None:
        """The CRM id recorded for ``external_id`` (None: never written, refused, or pending)."""
        state = self.kv.get(self.prefix + external_id)
        return str(state["id"]) if isinstance(state, dict) and state.get("id") else None

    def create(
        self,
        drafts: Sequence[D],
        *,
        key: Callable[[D], str],
        prepare: Callable[[D], R],
        recover: Callable[[Sequence[D]], Mapping[str, str]],
        send: Callable[[Sequence[R]], Sequence[Sent]],
    ) -> list[WriteOutcome]:
        """One outcome per draft, in order. ``prepare`` turns a draft into its request (raising
        CrmValidationError for a draft the CRM would refuse); ``recover`` finds pending drafts in the
        CRM (external id -> CRM id); ``send`` writes the requests and answers one ``Sent`` each."""
        known: dict[str, str] = {}
        pending: list[D] = []
        for draft in drafts:
            state = self.kv.get(self.prefix + key(draft))
            if isinstance(state, dict) and state.get("id"):
                known[key(draft)] = str(state["id"])
            elif isinstance(state, dict) and state.get("pending"):
                pending.append(draft)
        for ext, crm_id in recover(pending).items() if pending else ():
            self.kv.set(self.prefix + ext, {"id": crm_id})
            known[ext] = crm_id
        results = {ext: WriteOutcome(ext, crm_id, created=False) for ext, crm_id in known.items()}
        to_send: list[tuple[D, R]] = []
        queued: set[str] = set()
        for draft in drafts:
            ext = key(draft)
            if ext in results or ext in queued:
                continue
            try:
                to_send.append((draft, prepare(draft)))
                queued.add(ext)
            except CrmValidationError as exc:
                results[ext] = WriteOutcome(ext, None, error=str(exc))
        for draft, _ in to_send:
            self.kv.set(self.prefix + key(draft), {"pending": True})
        answers = send([request for _, request in to_send]) if to_send else []
        for (draft, _), sent in zip(to_send, answers, strict=True):
            ext = key(draft)
            if sent.crm_id:
                self.kv.set(self.prefix + ext, {"id": sent.crm_id})
                results[ext] = WriteOutcome(ext, sent.crm_id, created=True)
            else:
                self.kv.set(self.prefix + ext, None)  # refused: nothing was created
                results[ext] = WriteOutcome(ext, None, error=sent.error or "the CRM created nothing")
        return [results[key(d)] for d in drafts]
