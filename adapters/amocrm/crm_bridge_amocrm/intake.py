"""LeadIntakeWriter for amoCRM: the partner-lead intake's write path.

* ``send_leads``: ``POST /api/v4/leads`` arrays of 250 (each lead carrying its external id field), no
  lookup first; the customers become contacts first (``POST /api/v4/contacts``, 250 per array) as in
  ``RecordWrites``. Arrays go out ``concurrency`` at a time. An array whose answer is lost after it was
  sent (timeout, reset, 5xx: a write is not resent blindly) makes its drafts *uncertain*.
* ``find_leads``: ``GET /api/v4/leads`` filtered by the external-id field, 80 ids per request.
* ``find_partners``: ``GET /api/v4/companies?filter[id][]=…``, 250 ids per request; a company without a
  partner type is not a partner.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from crm_bridge.domain.layout import FieldEntity
from crm_bridge.domain.model import Partner
from crm_bridge.errors import CrmBridgeError, CrmRetriableError, DataError
from crm_bridge.ports import LeadDraft, WriteOutcome
from crm_bridge_amocrm.catalog import AmoCatalog
from crm_bridge_amocrm.client import MAX_BATCH, AmoClient
from crm_bridge_amocrm.rows import RowReader, values_of
from crm_bridge_amocrm.writes import RecordWrites

LOST = "amoCRM's answer was lost after the request was sent"


class IntakeWrites:
    def __init__(
        self,
        client: AmoClient,
        writes: RecordWrites,
        catalog: Callable[[], AmoCatalog],
        curators: Mapping[str, str],
    ) -> None:
        self.client = client
        self.writes = writes
        self.catalog = catalog
        self.curators = curators  # user id -> curator key

    def send_leads(self, drafts: Sequence[LeadDraft]) -> list[WriteOutcome]:
        catalog = self.catalog()
        results: dict[int, WriteOutcome] = {}
        built: list[tuple[int, LeadDraft, dict[str, Any]]] = []
        seen: set[str] = set()
        for index, draft in enumerate(drafts):
            if draft.external_id in seen:
                results[index] = WriteOutcome(
                    draft.external_id, None, error="the same external id twice in one call"
                )
                continue
            seen.add(draft.external_id)
            try:
                built.append((index, draft, self.writes._lead(catalog, draft)))
            except CrmBridgeError as exc:
                results[index] = WriteOutcome(draft.external_id, None, error=str(exc))
        chunks = [built[i : i + MAX_BATCH] for i in range(0, len(built), MAX_BATCH)]

        def one(chunk: list[tuple[int, LeadDraft, dict[str, Any]]]) -> dict[int, WriteOutcome]:
            out: dict[int, WriteOutcome] = {}
            try:
                pairs: list[tuple[Any, dict[str, Any]]] = [(d, body) for _, d, body in chunk]
                self.writes._attach_contacts(pairs)
                answers = self.client.write("POST", "api/v4/leads", "leads", [body for _, body in pairs])
            except CrmRetriableError as exc:
                return {
                    i: WriteOutcome(d.external_id, None, error=f"{LOST}: {exc}", uncertain=True)
                    for i, d, _ in chunk
                }
            for (index, draft, _), answer in zip(chunk, answers, strict=True):
                out[index] = (
                    WriteOutcome(draft.external_id, answer.crm_id, created=True)
                    if answer.crm_id
                    else WriteOutcome(
                        draft.external_id, None, error=f"amoCRM refused the lead: {answer.error}"
                    )
                )
            return out

        for part in self.client.map_chunks(one, chunks):
            results.update(part)
        return [results[i] for i in range(len(drafts))]

    def find_leads(self, external_ids: Sequence[str]) -> dict[str, str]:
        return self.writes.existing(self.catalog(), FieldEntity.LEAD, external_ids)

    def find_partners(self, crm_ids: Sequence[str]) -> dict[str, Partner]:
        reader = RowReader(self.catalog(), self.curators)
        ids = [i for i in dict.fromkeys(crm_ids) if i.isdigit()]
        chunks = [ids[i : i + MAX_BATCH] for i in range(0, len(ids), MAX_BATCH)]

        def look(part: list[str]) -> list[dict[str, Any]]:
            params = {"filter[id][]": part, "limit": MAX_BATCH}
            body = self.client.get("api/v4/companies", params)
            return list(((body or {}).get("_embedded") or {}).get("companies") or [])

        partners: dict[str, Partner] = {}
        for rows in self.client.map_chunks(look, chunks):
            for row in rows:
                if reader._option(values_of(row), FieldEntity.PARTNER, "partner_type") is None:
                    continue  # a company, not a partner
                try:
                    partner = reader.partner(row)
                except DataError:
                    continue
                partners[partner.crm_id] = partner
        return partners
