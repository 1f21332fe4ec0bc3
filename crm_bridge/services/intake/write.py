"""The intake's write path to the CRM, shared by ``intake import`` and the daemon's intake writer: leads
registered in the store go to the CRM in its largest batches, exactly once, through lost answers.

Per batch of registrations, each step safe to repeat after a crash at any line:
1. those never sent (``sent_at`` empty) are marked sent, then created with ``send_leads`` — no lookup;
2. those whose create was sent but never answered for certain (marked sent, still pending: a crash, a
   timeout, a reset or a 5xx after the request left) are looked up by external id with ``find_leads``:
   the found ones are recorded, the missing ones go back to step 1 — in the same run;
3. answers are recorded (created + id binding, or failed with the CRM's reason) in one transaction.
An adapter without the intake port (a partial adapter in tests) gets ``create_leads`` (lookup, then
create) instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from crm_bridge.ports import LeadDraft, LeadIntakeWriter, RecordWriter, WriteOutcome
from crm_bridge.store.intake import IntakeRepository, Registration

log = logging.getLogger("crm_bridge.intake.write")

MAX_ROUNDS = 5  # lookups in a row that still leave a lead uncertain before the run gives up on it


@dataclass
class WriteResult:
    """What one call of ``LeadWrites.write`` did: ``created`` external id -> (CRM id, made by this call),
    ``failed`` external id -> the CRM's reason, ``unresolved`` still uncertain after MAX_ROUNDS (the next
    run looks them up first), ``uncertain`` how many writes lost their answer on the way."""

    created: dict[str, tuple[str, bool]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    unresolved: set[str] = field(default_factory=set)
    uncertain: int = 0


class LeadWrites:
    def __init__(
        self,
        adapter: RecordWriter,
        repo: IntakeRepository,
        portal: str,
        *,
        checkpoint: Callable[[str], None] = lambda step: None,
    ) -> None:
        self._adapter = adapter
        self._repo = repo
        self._portal = portal
        self._checkpoint = checkpoint  # tests inject crashes between steps here

    def write(self, items: Sequence[tuple[Registration, LeadDraft]], *, now: datetime) -> WriteResult:
        """Create the leads of ``items`` (registrations still pending) in the CRM. Raises the CRM's
        errors only when a lookup cannot be answered (the leads stay uncertain for the next run)."""
        result = WriteResult()
        drafts = {reg.external_id: draft for reg, draft in items}
        fresh = [reg.external_id for reg, _ in items if not reg.uncertain]
        doubtful = [reg.external_id for reg, _ in items if reg.uncertain]
        sent_now: set[str] = set()
        rounds = 0
        while fresh or doubtful:
            if doubtful:
                rounds += 1
                if rounds > MAX_ROUNDS:
                    result.unresolved.update(doubtful)
                    log.warning(
                        "intake: %d lead(s) still uncertain; the next run looks them up", len(doubtful)
                    )
                    break
                found = self._find(doubtful)
                done = [(ext, found[ext]) for ext in doubtful if ext in found]
                self._repo.record_results(self._portal, done, at=now)
                for ext, crm_id in done:
                    result.created[ext] = (crm_id, ext in sent_now)
                fresh += [ext for ext in doubtful if ext not in found]
                doubtful = []
            if fresh:
                batch, fresh = fresh, []
                self._repo.mark_sent(self._portal, batch, now)
                self._checkpoint("reserved")
                outcomes = self._send([drafts[ext] for ext in batch])
                sent_now.update(batch)
                self._checkpoint("created")
                doubtful = self._record(batch, outcomes, result, now)
        return result

    def _record(
        self, batch: list[str], outcomes: list[WriteOutcome], result: WriteResult, now: datetime
    ) -> list[str]:
        created: list[tuple[str, str]] = []
        failed: list[tuple[str, str]] = []
        doubtful: list[str] = []
        for ext, out in zip(batch, outcomes, strict=True):
            if out.uncertain:
                doubtful.append(ext)
            elif out.ok and out.crm_id:
                created.append((ext, out.crm_id))
                result.created[ext] = (out.crm_id, out.created)
            else:
                reason = out.error or "the CRM did not return an id"
                failed.append((ext, reason))
                result.failed[ext] = reason
        self._repo.record_results(self._portal, created, failed, at=now)
        if doubtful:
            result.uncertain += len(doubtful)
            log.warning("intake: the answer to %d lead create(s) was lost; looking them up", len(doubtful))
        return doubtful

    def _send(self, drafts: list[LeadDraft]) -> list[WriteOutcome]:
        if isinstance(self._adapter, LeadIntakeWriter):
            return self._adapter.send_leads(drafts)
        return self._adapter.create_leads(drafts)  # looks up first: safe for every draft

    def _find(self, external_ids: list[str]) -> dict[str, str]:
        if isinstance(self._adapter, LeadIntakeWriter):
            return self._adapter.find_leads(external_ids)
        return {}  # create_leads looks up before creating: sending them again is the lookup
