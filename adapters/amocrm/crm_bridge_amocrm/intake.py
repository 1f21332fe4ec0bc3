"""LeadIntakeWriter for amoCRM: the partner-lead intake's write path.

* ``send_leads``: no lookup first. Leads with a customer go with their new contact in one
  ``POST /api/v4/leads/complex`` (50 a request, as ``RecordWrites`` does: a lead and its contact are
  written together, so a lost answer never leaves a contact to duplicate); leads without one in
  ``POST /api/v4/leads`` arrays of 250 (each lead carrying its external id field). Requests go out
  ``concurrency`` at a time. A request whose answer is lost after it was sent (timeout, reset, 5xx: a
  write is not resent blindly) makes its drafts *uncertain*. Then each created lead's intake comment
  becomes a note (``POST /api/v4/leads/notes``, 250 a request).
* ``find_leads``: ``GET /api/v4/leads`` filtered by the external-id field, 80 ids per request.
* ``find_partners``: ``GET /api/v4/companies?filter[id][]=…``, 250 ids per request; a company without a
  partner type is not a partner.
"""

from __future__ import annotations

import logging
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

log = logging.getLogger("crm_bridge_amocrm")

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
        sent = self.writes._send([(d, b) for _, d, b in built], on_lost=lambda exc: f"{LOST}: {exc}")
        for index, draft, _ in built:
            results[index] = sent[draft.external_id]
        try:
            self.writes._comments([d for _, d, _ in built], sent)
        except CrmRetriableError as exc:  # the leads stand; their comments are not worth an uncertain lead
            log.warning("amoCRM: the intake comments of %d lead(s) were not written: %s", len(built), exc)
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
