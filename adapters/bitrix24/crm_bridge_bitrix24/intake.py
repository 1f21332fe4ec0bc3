"""LeadIntakeWriter for Bitrix24: the partner-lead intake's write path at the portal's full speed.

* ``send_leads``: one ``crm.deal.add`` per lead, 50 commands per ``batch`` request, the batches sent
  ``concurrency`` at a time (the HTTP layer's leaky bucket paces them): N new leads cost ceil(N/50)
  requests, no lookup first. A batch whose answer is lost after it was sent (timeout, connection reset,
  5xx: the HTTP layer does not resend a write) makes its 50 drafts *uncertain* instead of failing the
  run; the caller looks them up with ``find_leads``.
* ``find_leads``: ``crm.deal.list`` filtered by ORIGINATOR_ID and an IN filter (``@ORIGIN_ID``) of 50
  external ids per command, 50 commands per batch: 2,500 ids per request.
* ``find_partners``: ``crm.company.list`` by ``@ID`` (50 per command) and a set partner type.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future

from crm_bridge.domain.layout import FieldEntity
from crm_bridge.domain.model import Partner
from crm_bridge.errors import CrmBridgeError, CrmRetriableError, DataError, NotFound
from crm_bridge.ports import LeadDraft, WriteOutcome
from crm_bridge_bitrix24.catalog import Catalog
from crm_bridge_bitrix24.client import BATCH_LIMIT, BatchAnswer, Bitrix24Client, Command
from crm_bridge_bitrix24.lookup import LOOKUP_CHUNK, lookup_existing
from crm_bridge_bitrix24.mapping import Bitrix24Mapping
from crm_bridge_bitrix24.rows import RowReader
from crm_bridge_bitrix24.writes import RecordWrites

LOST = "the portal's answer was lost after the request was sent"


class IntakeWrites:
    def __init__(
        self,
        client: Bitrix24Client,
        mapping: Bitrix24Mapping,
        catalog: Callable[[], Catalog],
        writes: RecordWrites,
        curators: Mapping[str, str],
    ) -> None:
        self.client = client
        self.mapping = mapping
        self.catalog = catalog
        self.writes = writes
        self.curators = curators  # CRM user id -> curator key (partner rows)

    def send_leads(self, drafts: Sequence[LeadDraft]) -> list[WriteOutcome]:
        catalog = self.catalog()
        results: dict[int, WriteOutcome] = {}
        commands: list[tuple[int, Command]] = []
        seen: set[str] = set()
        for index, draft in enumerate(drafts):
            ext = draft.external_id
            if ext in seen:
                results[index] = WriteOutcome(ext, None, error="the same external id twice in one call")
                continue
            seen.add(ext)
            try:
                fields = self.writes._lead_fields(catalog, draft)
            except CrmBridgeError as exc:
                results[index] = WriteOutcome(ext, None, error=str(exc))
                continue
            params = self.writes._marked({"fields": fields, "params": {"REGISTER_SONET_EVENT": "N"}})
            commands.append((index, Command("crm.deal.add", params)))
        chunks = [commands[i : i + BATCH_LIMIT] for i in range(0, len(commands), BATCH_LIMIT)]
        futures: list[Future[BatchAnswer]] = [
            self.client.submit_batch([c for _, c in chunk], lambda answer: answer) for chunk in chunks
        ]
        for chunk, future in zip(chunks, futures, strict=True):
            try:
                answer = future.result()
            except CrmRetriableError as exc:  # sent, answer lost: maybe created, maybe not
                for index, _ in chunk:
                    ext = drafts[index].external_id
                    results[index] = WriteOutcome(ext, None, error=f"{LOST}: {exc}", uncertain=True)
                continue
            for (index, _), outcome in zip(chunk, answer.outcomes, strict=True):
                ext = drafts[index].external_id
                results[index] = (
                    WriteOutcome(ext, str(outcome.result), created=True)
                    if outcome.ok
                    else WriteOutcome(ext, None, error=str(outcome.error or "failed"))
                )
        return [results[i] for i in range(len(drafts))]

    def find_leads(self, external_ids: Sequence[str]) -> dict[str, str]:
        found, _ = lookup_existing(self.client, self.mapping, external_ids, None, [])
        return {ext: crm_id for ext, (crm_id, _partner) in found.items()}

    def find_partners(self, crm_ids: Sequence[str]) -> dict[str, Partner]:
        catalog = self.catalog()
        ptype = catalog.field(FieldEntity.PARTNER, "partner_type")
        if ptype is None:
            raise NotFound(
                "the partner fields are not on the portal yet: run crm-bridge provision", crm="bitrix24"
            )
        reader = RowReader(self.mapping, catalog, self.curators)
        ids = [i for i in dict.fromkeys(crm_ids) if i.isdigit()]
        commands = [
            Command(
                "crm.company.list",
                {
                    "filter": {"@ID": ids[i : i + LOOKUP_CHUNK], ">" + ptype.code: 0},
                    "select": list(reader.select(FieldEntity.PARTNER)),
                    "start": -1,
                },
            )
            for i in range(0, len(ids), LOOKUP_CHUNK)
        ]
        partners: dict[str, Partner] = {}
        for outcome in self.client.run(commands):
            if outcome.error is not None:
                raise outcome.error
            for row in outcome.result or []:
                try:
                    partner = reader.partner(row)
                except DataError:
                    continue
                partners[partner.crm_id] = partner
        return partners
