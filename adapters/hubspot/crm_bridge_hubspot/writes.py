"""RecordWriter and PartnerFieldWriter for HubSpot.

Creates (leads, deals): one ``batch/create`` per 100 drafts, each input carrying our external id in
the ``hasUniqueValue`` property and as ``objectWriteTraceId``, associated at creation to the partner's
company and the customer's contact (upserted by e-mail, one ``batch/upsert`` per 100 e-mails). The
partner's company carries the partner association label besides the unlabeled type on leads and deals
alike; a deal outside the lead pipeline also names its partner in the partner property, which sync
reads (no association read per 100 deals). Because the external id is unique, a resent create cannot
duplicate: HubSpot answers 409 for the chunk, and
the chunk is resolved with one ``batch/read`` by the external id (those exist: ``created=False``) and a
create of the rest. Partners are checked to exist first (one ``batch/read`` per 100 unknown ids).
Requests for N new leads or deals of P partners: ceil(N/100) + ceil(P/100) (+ ceil(E/100) with E
e-mails for leads); pushed again by a fresh process: ceil(P/100) + 2 * ceil(N/100).

Updates: one ``batch/update`` per 100 records; 207 errors go to the input they name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from crm_bridge.domain.layout import FieldEntity
from crm_bridge.errors import CrmBridgeError, CrmValidationError, DataError
from crm_bridge.ports import DealDraft, Entity, LeadDraft, PartnerUpdate, RecordUpdate, WriteOutcome
from crm_bridge.toolkit.catalog import Catalog
from crm_bridge_hubspot.batch import Answer, BatchWriter
from crm_bridge_hubspot.mapping import LABEL_FIELD, HubSpotMapping
from crm_bridge_hubspot.rows import decimal_text, property_value
from crm_bridge_hubspot.transport import HubSpotTransport

_STANDARD = {"title": "dealname", "amount": "amount", "comment": "description", "name": "name"}
DEALS = "/crm/v3/objects/deals"


def _fail(key: str, error: object) -> WriteOutcome:
    return WriteOutcome(key, None, error=str(error))


class RecordWrites:
    def __init__(
        self,
        transport: HubSpotTransport,
        mapping: HubSpotMapping,
        catalog: Callable[[], Catalog[str]],
        owners: Mapping[str, str],
    ) -> None:
        self.transport = transport
        self.batch = BatchWriter(transport)
        self.mapping = mapping
        self.catalog = catalog
        self.owners = owners  # curator key -> owner id
        self.known_companies: set[str] = set()

    # -- creates ------------------------------------------------------------------------------------
    def create_leads(self, drafts: Sequence[LeadDraft]) -> list[WriteOutcome]:
        catalog = self.catalog()
        emails = self._contacts([d.customer.email for d in drafts if d.customer.email])
        return self._create(drafts, lambda d: self._lead_input(catalog, d, emails), FieldEntity.LEAD, catalog)

    def create_deals(self, drafts: Sequence[DealDraft]) -> list[WriteOutcome]:
        catalog = self.catalog()
        return self._create(drafts, lambda d: self._deal_input(catalog, d), FieldEntity.DEAL, catalog)

    def _create(
        self,
        drafts: Sequence[LeadDraft | DealDraft],
        build: Callable[[Any], dict[str, Any]],
        entity: FieldEntity,
        catalog: Catalog[str],
    ) -> list[WriteOutcome]:
        ext = catalog.field(entity, "external_id")
        if ext is None:
            raise CrmValidationError(
                "the external-id property is missing: run crm-bridge provision", crm="hubspot"
            )
        missing = self.missing_companies([d.partner_id for d in drafts if d.partner_id])
        results: dict[str, WriteOutcome] = {}
        pending: list[tuple[str, LeadDraft | DealDraft]] = []
        queued: set[str] = set()  # keys already pending (a set: a list scan made 10,000 drafts take s)
        for draft in drafts:
            key = draft.external_id
            if key in results or key in queued:
                continue
            if draft.partner_id and draft.partner_id in missing:
                results[key] = _fail(key, f"partner company {draft.partner_id} does not exist in HubSpot")
                continue
            pending.append((key, draft))
            queued.add(key)

        def body(draft: LeadDraft | DealDraft) -> dict[str, Any]:
            made = build(draft)  # CrmBridgeError: that input fails (BatchWriter.run)
            made["properties"][ext.code] = draft.external_id
            return {**made, "objectWriteTraceId": draft.external_id}

        results.update(self._create_items(pending, body, ext.code))
        return [results[d.external_id] for d in drafts]

    def _create_items(
        self,
        items: list[tuple[str, LeadDraft | DealDraft]],
        body: Callable[[Any], dict[str, Any]],
        ext: str,
    ) -> dict[str, WriteOutcome]:
        """Inputs are built as their batch goes (memory: the batches in flight, not all N)."""
        out: dict[str, WriteOutcome] = {}
        path = f"{DEALS}/batch/create"
        answers = self.batch.run(path, items, by=ext, idempotent=True, build=body)
        conflicted = [(k, i) for k, i in items if _conflict(answers[k])]
        for key, answer in answers.items():
            if answer.crm_id is not None:
                out[key] = WriteOutcome(key, answer.crm_id, created=True)
            elif not _conflict(answer):
                out[key] = _fail(key, answer.error)
        if conflicted:  # some external ids exist already: read them, create the rest
            existing = self.read_by_external_id([k for k, _ in conflicted], ext)
            out.update({k: WriteOutcome(k, cid, created=False) for k, cid in existing.items()})
            rest = [(k, i) for k, i in conflicted if k not in existing]
            if rest:
                again = self.batch.run(path, rest, by=ext, idempotent=True, build=body)
                for key, answer in again.items():
                    out[key] = (
                        WriteOutcome(key, answer.crm_id, created=True)
                        if answer.crm_id
                        else _fail(key, answer.error)
                    )
        return out

    def read_by_external_id(self, keys: Sequence[str], ext: str) -> dict[str, str]:
        items = [(k, {"id": k}) for k in keys]
        extra = {"idProperty": ext, "properties": [ext], "propertiesWithHistory": []}
        answers = self.batch.run(f"{DEALS}/batch/read", items, by=ext, extra=extra, idempotent=True)
        return {k: a.crm_id for k, a in answers.items() if a.crm_id is not None}

    def missing_companies(self, ids: Sequence[str]) -> set[str]:
        unknown = sorted({i for i in ids if i not in self.known_companies})
        if not unknown:
            return set()
        if not all(i.isdigit() for i in unknown):
            return {i for i in unknown if not i.isdigit()} | self.missing_companies(
                [i for i in unknown if i.isdigit()]
            )
        items = [(i, {"id": i}) for i in unknown]
        extra = {"properties": ["name"], "propertiesWithHistory": []}
        answers = self.batch.run(
            "/crm/v3/objects/companies/batch/read", items, by="id", extra=extra, idempotent=True
        )
        found = {k for k, a in answers.items() if a.crm_id is not None}
        self.known_companies |= found
        return set(unknown) - found

    def _contacts(self, emails: Sequence[str]) -> dict[str, str]:
        """E-mail -> contact id, upserting contacts by e-mail (HubSpot's unique key for contacts)."""
        unique = sorted({e.strip().lower() for e in emails if e.strip()})
        items = [(e, {"id": e, "idProperty": "email", "properties": {"email": e}}) for e in unique]
        answers = self.batch.run("/crm/v3/objects/contacts/batch/upsert", items, by="email", idempotent=True)
        return {k: a.crm_id for k, a in answers.items() if a.crm_id is not None}

    def _associations(
        self, partner_id: str | None, contact_id: str | None, label: int | None = None
    ) -> list[dict[str, Any]]:
        """The partner's company (with the partner label) and the customer's contact."""
        links = []
        if partner_id:
            links.append(_link(partner_id, self.mapping.associations.deal_to_company, label))
        if contact_id:
            links.append(_link(contact_id, self.mapping.associations.deal_to_contact))
        return links

    def _stage(self, catalog: Catalog[str], funnel: str, stage: str | None) -> tuple[str, str]:
        pipeline = catalog.funnels.get(funnel)
        stage_id = catalog.stage_code(funnel, stage)
        if pipeline is None or stage_id is None:
            what = f"stage {stage!r} of funnel {funnel!r}" if pipeline else f"funnel {funnel!r}"
            raise CrmValidationError(f"unknown {what}; run crm-bridge provision", crm="hubspot")
        return pipeline, stage_id

    def _common(self, catalog: Catalog[str], entity: FieldEntity, partner_id: str | None) -> dict[str, str]:
        props: dict[str, str] = {}
        ref = catalog.field(entity, "partner_ref")
        if ref is not None and partner_id and (entity, "partner_ref") != LABEL_FIELD:
            props[ref.code] = partner_id
        return props

    def _lead_input(
        self, catalog: Catalog[str], draft: LeadDraft, contacts: Mapping[str, str]
    ) -> dict[str, Any]:
        pipeline, stage = self._stage(catalog, self.mapping.lead_funnel, draft.stage)
        props = self._common(catalog, FieldEntity.LEAD, draft.partner_id)
        props.update({"dealname": draft.title, "pipeline": pipeline, "dealstage": stage})
        props["amount"] = decimal_text(draft.amount, "amount")
        if draft.manager_user_id:
            props["hubspot_owner_id"] = draft.manager_user_id
        conflict = catalog.field(FieldEntity.LEAD, "conflict")
        if conflict is not None and draft.conflict:
            props[conflict.code] = property_value(conflict, True, self.owners)
        lines = [draft.comment] if draft.comment else []
        for label, value in (("Customer", draft.customer_name), ("Phone", draft.customer.phone)):
            if value:
                lines.append(f"{label}: {value}")
        if draft.customer.tax_id:
            lines.append(f"INN: {draft.customer.tax_id}")
        if lines:
            props["description"] = "\n".join(lines)
        contact = contacts.get(draft.customer.email.strip().lower()) if draft.customer.email else None
        found = catalog.field(*LABEL_FIELD)
        if found is None and draft.partner_id:
            raise CrmValidationError(
                "the partner association label is missing: run crm-bridge provision", crm="hubspot"
            )
        partner_label = int(found.code) if found is not None else None
        return {
            "properties": props,
            "associations": self._associations(draft.partner_id, contact, partner_label),
        }

    def _deal_input(self, catalog: Catalog[str], draft: DealDraft) -> dict[str, Any]:
        if draft.funnel == self.mapping.lead_funnel:
            raise CrmValidationError("partner leads are created with create_leads", crm="hubspot")
        pipeline, stage = self._stage(catalog, draft.funnel, draft.stage)
        props = self._common(catalog, FieldEntity.DEAL, draft.partner_id)
        props.update({"dealname": draft.title, "pipeline": pipeline, "dealstage": stage})
        props["amount"] = decimal_text(draft.amount, "amount")
        if draft.responsible_user_id:
            props["hubspot_owner_id"] = draft.responsible_user_id
        # the partner's company carries the partner label on every deal crm-bridge creates, as on a
        # lead; the partner property (the "partner reference" on deals) is what sync reads
        found = catalog.field(*LABEL_FIELD)
        label = int(found.code) if found is not None else None
        return {"properties": props, "associations": self._associations(draft.partner_id, None, label)}

    # -- updates ------------------------------------------------------------------------------------
    def update_records(self, updates: Sequence[RecordUpdate]) -> list[WriteOutcome]:
        catalog = self.catalog()
        prepared: list[tuple[str, dict[str, str] | WriteOutcome]] = []
        for update in updates:
            try:
                prepared.append((update.crm_id, self._record_update(catalog, update)))
            except CrmBridgeError as exc:
                prepared.append((update.crm_id, _fail(update.crm_id, exc)))
        return self._send(DEALS, prepared)

    def _record_update(self, catalog: Catalog[str], update: RecordUpdate) -> dict[str, str]:
        if update.entity is Entity.PARTNER:
            raise CrmValidationError("partners are changed with update_partners", crm="hubspot")
        entity = FieldEntity.LEAD if update.entity is Entity.LEAD else FieldEntity.DEAL
        props = self._fields(catalog, entity, update.fields)
        if update.responsible_user_id is not None:
            props["hubspot_owner_id"] = update.responsible_user_id
        if update.entity is Entity.LEAD and update.funnel not in (None, self.mapping.lead_funnel):
            raise CrmValidationError("a partner lead stays in the lead funnel", crm="hubspot")
        funnel = self.mapping.lead_funnel if update.entity is Entity.LEAD else update.funnel
        if update.stage is not None and funnel is None:
            funnels = {i.funnel for i in catalog.stages.values() if i.key == update.stage}
            funnels.discard(self.mapping.lead_funnel)
            if len(funnels) != 1:
                raise CrmValidationError(
                    f"stage {update.stage!r} is ambiguous or unknown: pass the funnel", crm="hubspot"
                )
            funnel = funnels.pop()
        if funnel is not None and (update.stage is not None or update.funnel is not None):
            props["pipeline"], props["dealstage"] = self._stage(catalog, funnel, update.stage)
        return props

    def _fields(
        self, catalog: Catalog[str], entity: FieldEntity, values: Mapping[str, Any]
    ) -> dict[str, str]:
        props: dict[str, str] = {}
        for key, value in values.items():
            if key in _STANDARD:
                props[_STANDARD[key]] = decimal_text(value, key) if key == "amount" else str(value)
                continue
            info = catalog.field(entity, key)
            if info is None:
                raise DataError(f"unknown field {key!r} on {entity.value}; run crm-bridge provision")
            props[info.code] = property_value(info, value, self.owners)
        return props

    def update_partners(self, updates: Sequence[PartnerUpdate]) -> list[WriteOutcome]:
        catalog = self.catalog()
        prepared: list[tuple[str, dict[str, str] | WriteOutcome]] = []
        for update in updates:
            try:
                prepared.append((update.crm_id, self._fields(catalog, FieldEntity.PARTNER, update.fields)))
            except CrmBridgeError as exc:
                prepared.append((update.crm_id, _fail(update.crm_id, exc)))
        return self._send("/crm/v3/objects/companies", prepared)

    def _send(self, path: str, prepared: Sequence[tuple[str, Any]]) -> list[WriteOutcome]:
        items = [
            (cid, {"id": cid, "properties": p}) for cid, p in prepared if not isinstance(p, WriteOutcome)
        ]
        answers: dict[str, Answer] = self.batch.run(f"{path}/batch/update", items, by="id", idempotent=True)
        out = []
        for cid, item in prepared:
            if isinstance(item, WriteOutcome):
                out.append(item)
            elif answers[cid].crm_id is not None:
                out.append(WriteOutcome(cid, cid))
            else:
                out.append(_fail(cid, answers[cid].error))
        return out


def _conflict(answer: Answer) -> bool:
    return answer.crm_id is None and bool(answer.error) and "CONFLICT" in (answer.error or "")


def _link(to_id: str, type_id: int, label: int | None = None) -> dict[str, Any]:
    types = [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}]
    if label is not None:
        types.append({"associationCategory": "USER_DEFINED", "associationTypeId": label})
    return {"to": {"id": to_id}, "types": types}
