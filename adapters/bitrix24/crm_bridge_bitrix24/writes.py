"""RecordWriter and PartnerFieldWriter for Bitrix24: batched, idempotent creates of partner leads and
deals, updates of deals and partner companies.

Idempotency: every deal we create carries ORIGINATOR_ID = "crm-bridge" and ORIGIN_ID = its external id
(plus the external-id user field, visible to admins). Before creating, one ``crm.deal.list`` command per
50 drafts looks those up and one ``crm.company.list`` per 50 distinct partners checks the partners (50
commands to a batch, ``lookup.py``), so a push retried after a crash finds the deals it already made: N
drafts of P distinct partners cost ceil((ceil(N/50) + ceil(P/50)) / 50) lookup requests (ceil(N/2500)
while P <= 50, at most ceil(N/1250)) + at most ceil(N/50) create requests (only new deals are sent).

Loop safety: every write command carries ``auth_connector`` (events/offline-events.md "How to avoid
cycles"), so Bitrix24 keeps our own changes out of the offline-event queue.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from crm_bridge.domain.layout import FieldEntity
from crm_bridge.errors import CrmBridgeError, CrmValidationError, DataError
from crm_bridge.ports import DealDraft, Entity, LeadDraft, PartnerUpdate, RecordUpdate, WriteOutcome
from crm_bridge_bitrix24.catalog import Catalog
from crm_bridge_bitrix24.client import Bitrix24Client, Command, Outcome
from crm_bridge_bitrix24.lookup import lookup_existing
from crm_bridge_bitrix24.mapping import Bitrix24Mapping
from crm_bridge_bitrix24.rows import field_value

_STANDARD = {"title": "title", "amount": "amount", "currency": "currency", "comment": "comment"}


def _fail(external_id: str, error: CrmBridgeError | str) -> WriteOutcome:
    return WriteOutcome(external_id, None, error=str(error))


class RecordWrites:
    def __init__(
        self,
        client: Bitrix24Client,
        mapping: Bitrix24Mapping,
        catalog: Callable[[], Catalog],
        user_ids: Mapping[str, str],
    ) -> None:
        self.client = client
        self.mapping = mapping
        self.catalog = catalog
        self.user_ids = user_ids  # curator key -> CRM user id
        self.r = mapping.records

    def _marked(self, params: dict[str, Any]) -> dict[str, Any]:
        return {**params, "auth_connector": self.mapping.source.auth_connector}

    # -- creates ------------------------------------------------------------------------------------
    def create_leads(self, drafts: Sequence[LeadDraft]) -> list[WriteOutcome]:
        catalog = self.catalog()
        return self._create(drafts, lambda d: self._lead_fields(catalog, d), FieldEntity.LEAD, catalog)

    def create_deals(self, drafts: Sequence[DealDraft]) -> list[WriteOutcome]:
        catalog = self.catalog()
        return self._create(drafts, lambda d: self._deal_fields(catalog, d), FieldEntity.DEAL, catalog)

    def _create(
        self,
        drafts: Sequence[LeadDraft] | Sequence[DealDraft],
        build: Callable[[Any], dict[str, Any]],
        entity: FieldEntity,
        catalog: Catalog,
    ) -> list[WriteOutcome]:
        ref = catalog.field(entity, "partner_ref")
        partner_ids = [str(d.partner_id) for d in drafts if d.partner_id]
        existing, companies = lookup_existing(
            self.client, self.mapping, [d.external_id for d in drafts], ref.code if ref else None, partner_ids
        )
        results: dict[str, WriteOutcome] = {}
        to_create: list[tuple[str, Command]] = []
        for draft in drafts:
            ext = draft.external_id
            if ext in results or any(e == ext for e, _ in to_create):
                continue
            if ext in existing:
                crm_id, partner = existing[ext]
                if ref and partner and draft.partner_id and partner != str(draft.partner_id):
                    results[ext] = _fail(ext, "external id already used by another partner's record")
                else:
                    results[ext] = WriteOutcome(ext, crm_id, created=False)
                continue
            if draft.partner_id and str(draft.partner_id) not in companies:
                results[ext] = _fail(ext, f"partner {draft.partner_id} is not a company on the portal")
                continue
            try:
                fields = build(draft)
            except CrmBridgeError as exc:
                results[ext] = _fail(ext, exc)
                continue
            params = self._marked({"fields": fields, "params": {"REGISTER_SONET_EVENT": "N"}})
            to_create.append((ext, Command("crm.deal.add", params)))
        for (ext, _cmd), outcome in zip(to_create, self.client.run(c for _, c in to_create), strict=True):
            results[ext] = (
                WriteOutcome(ext, str(outcome.result), created=True)
                if outcome.ok
                else _fail(ext, outcome.error or "failed")
            )
        return [results[d.external_id] for d in drafts]

    def _common(
        self, catalog: Catalog, entity: FieldEntity, external_id: str, partner_id: str | None
    ) -> dict[str, Any]:
        fields: dict[str, Any] = {
            self.r.originator: self.mapping.source.originator_id,
            self.r.origin: external_id,
        }
        ext = catalog.field(entity, "external_id")
        if ext:
            fields[ext.code] = external_id
        ref = catalog.field(entity, "partner_ref")
        if ref and partner_id:
            fields[ref.code] = field_value(ref, partner_id, self.user_ids)
        return fields

    def _stage(self, catalog: Catalog, funnel: str, stage: str | None) -> tuple[int, str]:
        if funnel not in catalog.funnels:
            raise CrmValidationError(
                f"funnel {funnel!r} is not on the portal; run crm-bridge provision", crm="bitrix24"
            )
        code = catalog.stage_code(funnel, stage)
        if code is None:
            raise CrmValidationError(f"stage {stage!r} does not exist in funnel {funnel!r}", crm="bitrix24")
        return catalog.funnels[funnel], code

    def _lead_fields(self, catalog: Catalog, draft: LeadDraft) -> dict[str, Any]:
        category, stage = self._stage(catalog, self.mapping.lead_funnel, draft.stage)
        fields = self._common(catalog, FieldEntity.LEAD, draft.external_id, draft.partner_id)
        fields.update({self.r.title: draft.title, self.r.funnel: category, self.r.stage: stage})
        fields[self.r.amount] = format(draft.amount, "f")
        if draft.currency:
            fields[self.r.currency] = draft.currency
        if draft.manager_user_id:
            fields[self.r.responsible] = draft.manager_user_id
        conflict = catalog.field(FieldEntity.LEAD, "conflict")
        if conflict:
            fields[conflict.code] = field_value(conflict, draft.conflict, self.user_ids)
        lines = [draft.comment] if draft.comment else []
        customer = draft.customer
        for label, value in (
            ("Customer", draft.customer_name),
            ("E-mail", customer.email),
            ("Phone", customer.phone),
            ("INN", customer.tax_id),
        ):
            if value:
                lines.append(f"{label}: {value}")
        if lines:
            fields[self.r.comment] = "\n".join(lines)
        return fields

    def _deal_fields(self, catalog: Catalog, draft: DealDraft) -> dict[str, Any]:
        if draft.funnel == self.mapping.lead_funnel:
            raise CrmValidationError("partner leads are created with create_leads", crm="bitrix24")
        category, stage = self._stage(catalog, draft.funnel, draft.stage)
        fields = self._common(catalog, FieldEntity.DEAL, draft.external_id, draft.partner_id)
        fields.update({self.r.title: draft.title, self.r.funnel: category, self.r.stage: stage})
        fields[self.r.amount] = format(draft.amount, "f")
        if draft.currency:
            fields[self.r.currency] = draft.currency
        if draft.responsible_user_id:
            fields[self.r.responsible] = draft.responsible_user_id
        return fields

    # -- updates ------------------------------------------------------------------------------------
    def update_records(self, updates: Sequence[RecordUpdate]) -> list[WriteOutcome]:
        catalog = self.catalog()
        prepared: list[tuple[str, Command | WriteOutcome]] = []
        for update in updates:
            try:
                prepared.append((update.crm_id, self._record_update(catalog, update)))
            except CrmBridgeError as exc:
                prepared.append((update.crm_id, _fail(update.crm_id, exc)))
        return self._send(prepared)

    def _record_update(self, catalog: Catalog, update: RecordUpdate) -> Command:
        if update.entity is Entity.PARTNER:
            raise CrmValidationError("partners are changed with update_partners", crm="bitrix24")
        entity = FieldEntity.LEAD if update.entity is Entity.LEAD else FieldEntity.DEAL
        fields = self._domain_fields(catalog, entity, update.fields)
        if update.responsible_user_id is not None:
            fields[self.r.responsible] = update.responsible_user_id
        funnel = self.mapping.lead_funnel if update.entity is Entity.LEAD else update.funnel
        if update.entity is Entity.LEAD and update.funnel not in (None, self.mapping.lead_funnel):
            raise CrmValidationError("a partner lead stays in the lead funnel", crm="bitrix24")
        if update.stage is not None and funnel is None:
            funnel = self._funnel_of_stage(catalog, update.stage)
        if update.entity is Entity.DEAL and update.funnel is not None:
            # crm.deal.update cannot move a deal between funnels; crm.item.update can (categoryId)
            category, stage = self._stage(catalog, update.funnel, update.stage)
            params = {"entityTypeId": self.mapping.deal_entity_type_id, "id": int(update.crm_id)}
            item_fields = {"categoryId": category, "stageId": stage, **fields}
            return Command(
                "crm.item.update", self._marked({**params, "fields": item_fields, "useOriginalUfNames": "Y"})
            )
        if update.stage is not None and funnel is not None:
            fields[self.r.stage] = self._stage(catalog, funnel, update.stage)[1]
        return Command("crm.deal.update", self._marked({"id": int(update.crm_id), "fields": fields}))

    def _funnel_of_stage(self, catalog: Catalog, stage: str) -> str:
        funnels = {
            i.funnel
            for i in catalog.stages.values()
            if i.key == stage and i.funnel != self.mapping.lead_funnel
        }
        if len(funnels) != 1:
            raise CrmValidationError(
                f"stage {stage!r} is ambiguous or unknown: pass the funnel", crm="bitrix24"
            )
        return funnels.pop()

    def _domain_fields(
        self, catalog: Catalog, entity: FieldEntity, values: Mapping[str, Any]
    ) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        for key, value in values.items():
            if key in _STANDARD:
                attr = getattr(self.r, _STANDARD[key])
                fields[attr] = format(value, "f") if key == "amount" else value
                continue
            info = catalog.field(entity, key)
            if info is None:
                raise DataError(f"unknown field {key!r} on {entity.value}; run crm-bridge provision")
            fields[info.code] = field_value(info, value, self.user_ids)
        return fields

    def update_partners(self, updates: Sequence[PartnerUpdate]) -> list[WriteOutcome]:
        catalog = self.catalog()
        prepared: list[tuple[str, Command | WriteOutcome]] = []
        for update in updates:
            try:
                values = dict(update.fields)
                fields: dict[str, Any] = {}
                if "name" in values:
                    fields[self.r.title] = values.pop("name")
                fields.update(self._domain_fields(catalog, FieldEntity.PARTNER, values))
                params = self._marked({"id": int(update.crm_id), "fields": fields})
                prepared.append((update.crm_id, Command("crm.company.update", params)))
            except CrmBridgeError as exc:
                prepared.append((update.crm_id, _fail(update.crm_id, exc)))
        return self._send(prepared)

    def _send(self, prepared: Sequence[tuple[str, Command | WriteOutcome]]) -> list[WriteOutcome]:
        commands = [p for _, p in prepared if isinstance(p, Command)]
        answers = iter(self.client.run(commands))
        out: list[WriteOutcome] = []
        for crm_id, item in prepared:
            if isinstance(item, WriteOutcome):
                out.append(item)
                continue
            outcome: Outcome = next(answers)
            out.append(
                WriteOutcome(crm_id, crm_id) if outcome.ok else _fail(crm_id, outcome.error or "failed")
            )
        return out
