"""LeadIntakeWriter for HubSpot: the partner-lead intake's write path.

* ``send_leads``: ``batch/create`` of 100 deals per request, no lookup first (each input carries our
  external id in a ``hasUniqueValue`` property, so a resent chunk cannot duplicate: HubSpot answers
  409 and ``RecordWrites`` reads those back). Chunks go out ``max_concurrency`` at a time. A chunk
  whose answer is still lost once the HTTP layer's retries are spent makes its drafts *uncertain*.
* ``find_leads``: ``batch/read`` by the unique external-id property, 100 ids per request.
* ``find_partners``: ``companies/batch/read`` of 100 ids with the partner properties; a company without
  a partner type is not a partner.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

from crm_bridge.domain.layout import FieldEntity
from crm_bridge.domain.model import Partner
from crm_bridge.errors import CrmRetriableError, CrmValidationError, DataError
from crm_bridge.ports import LeadDraft, WriteOutcome
from crm_bridge.toolkit.catalog import Catalog
from crm_bridge_hubspot.batch import MAX_INPUTS, chunks
from crm_bridge_hubspot.rows import RowReader
from crm_bridge_hubspot.writes import RecordWrites

LOST = "HubSpot's answer was lost after the request was sent"


class IntakeWrites:
    def __init__(
        self,
        writes: RecordWrites,
        catalog: Callable[[], Catalog[str]],
        curators: Mapping[str, str],
        lead_funnel: str,
        concurrency: int,
    ) -> None:
        self.writes = writes
        self.catalog = catalog
        self.curators = curators  # owner id -> curator key
        self.lead_funnel = lead_funnel
        self.concurrency = max(1, concurrency)

    def send_leads(self, drafts: Sequence[LeadDraft]) -> list[WriteOutcome]:
        parts = [list(part) for part in chunks(list(drafts), MAX_INPUTS)]

        def one(part: list[LeadDraft]) -> list[WriteOutcome]:
            try:
                return self.writes.create_leads(part)
            except CrmRetriableError as exc:
                return [
                    WriteOutcome(d.external_id, None, error=f"{LOST}: {exc}", uncertain=True) for d in part
                ]

        if len(parts) <= 1:
            return [o for part in parts for o in one(part)]
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(parts))) as pool:
            return [o for answers in pool.map(one, parts) for o in answers]

    def find_leads(self, external_ids: Sequence[str]) -> dict[str, str]:
        ext = self.catalog().field(FieldEntity.LEAD, "external_id")
        if ext is None:
            raise CrmValidationError(
                "the external-id property is missing: run crm-bridge provision", crm="hubspot"
            )
        return self.writes.read_by_external_id(list(dict.fromkeys(external_ids)), ext.code)

    def find_partners(self, crm_ids: Sequence[str]) -> dict[str, Partner]:
        reader = RowReader(self.catalog(), self.curators, self.lead_funnel)
        ids = [i for i in dict.fromkeys(crm_ids) if i.isdigit()]
        if not ids:
            return {}
        extra = {"properties": reader.properties(FieldEntity.PARTNER), "propertiesWithHistory": []}
        rows = self.writes.batch.read_rows(
            "/crm/v3/objects/companies/batch/read", [(i, {"id": i}) for i in ids], extra=extra
        )
        partners: dict[str, Partner] = {}
        for row in rows:
            if not reader.is_partner(row):
                continue
            try:
                partner = reader.partner(row)
            except DataError:
                continue
            partners[partner.crm_id] = partner
            self.writes.known_companies.add(partner.crm_id)
        return partners
