"""RecordWriter and PartnerFieldWriter for amoCRM: partner leads and deals created with their external
id in the ``external_id`` field; updates of leads and companies in PATCH arrays of 250.

Drafts go in units of ``UNIT`` (400), up to ``max_concurrency`` units at once. A unit first looks up
its external ids (``filter[custom_fields_values][<field id>][]=…``, 80 per request), so a push retried
after a crash finds the leads it already made; then it creates the missing ones:

* a lead with a customer through the complex add (``POST /api/v4/leads/complex``, 50 a request, the
  documented maximum): the lead, its new contact (name, PHONE, EMAIL; the INN in the contact's name)
  and the link to the partner company in one request — amoCRM writes them together, so no crash can
  leave a contact without its lead, and the lookup of a rerun finds the lead and so its contact;
* a lead without a customer, and every deal, in arrays of 250 (``POST /api/v4/leads``);
* the intake comment as a note on the lead (``POST /api/v4/leads/notes``, 250 a request, note_type
  ``service_message`` from the service "crm-bridge"). For leads the lookup found already there (a
  rerun), their notes are read first (80 leads a request) and only a missing comment is added.

A unit of n drafts (c with a customer, p without, k with a comment; e of the comment ones found
already there) costs ceil(n/80) + ceil(c/50) + ceil(p/250) + ceil(k/250) requests, + ceil(e/80) on a
rerun, + one request per round of refused items. amoCRM refuses a lead linking a company that does
not exist: that draft fails alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from crm_bridge.domain.layout import FieldEntity
from crm_bridge.errors import CrmBridgeError, CrmRetriableError, CrmValidationError, DataError
from crm_bridge.ports import DealDraft, Entity, LeadDraft, PartnerUpdate, RecordUpdate, WriteOutcome
from crm_bridge_amocrm.catalog import AmoCatalog, field_id, status_of
from crm_bridge_amocrm.client import MAX_BATCH, AmoClient
from crm_bridge_amocrm.mapping import AmoMapping
from crm_bridge_amocrm.rows import field_entry, price_of, values_of

LOOKUP_CHUNK = 80  # external ids per lookup: the URL stays under ~7 KB (servers refuse 8 KB request lines)
COMPLEX_BATCH = 50  # leads per /api/v4/leads/complex request (documented maximum)
UNIT = 400  # drafts per unit of work: 5 lookups of 80, 8 complex adds of 50 (or 2 plain adds)
NOTE_TYPE = "service_message"
NOTE_SERVICE = "crm-bridge"
log = logging.getLogger(__name__)


def _fail(ext: str, error: CrmBridgeError | str) -> WriteOutcome:
    return WriteOutcome(ext, None, error=str(error))


class RecordWrites:
    def __init__(
        self,
        client: AmoClient,
        mapping: AmoMapping,
        catalog: Callable[[], AmoCatalog],
        user_ids: Mapping[str, str],
    ) -> None:
        self.client = client
        self.mapping = mapping
        self.catalog = catalog
        self.user_ids = user_ids  # curator key -> CRM user id

    # -- lookups --------------------------------------------------------------------------------------
    def existing(
        self,
        catalog: AmoCatalog,
        entity: FieldEntity,
        external_ids: Sequence[str],
        *,
        parallel: bool = True,
    ) -> dict[str, str]:
        """External id -> lead id of leads carrying it (the oldest wins if a duplicate slipped in)."""
        info = catalog.field(entity, "external_id")
        if info is None:
            raise CrmValidationError(
                "the external id field is not in amoCRM yet: run crm-bridge provision", crm="amocrm"
            )
        unique = list(dict.fromkeys(external_ids))
        chunks = [unique[i : i + LOOKUP_CHUNK] for i in range(0, len(unique), LOOKUP_CHUNK)]

        def look(part: list[str]) -> list[dict[str, Any]]:
            # brackets left unencoded (as the docs write them): 80 ids of ~40 characters fit in ~7 KB
            key = f"filter[custom_fields_values][{field_id(info)}][]="
            query = "&".join(key + quote(ext, safe=":") for ext in part)
            return self.client.fetch_all(f"api/v4/leads?{query}", "leads", {"order[id]": "asc"})

        found: dict[str, str] = {}
        answers = self.client.map_chunks(look, chunks) if parallel else [look(c) for c in chunks]
        for rows in answers:
            for row in rows:
                value = (values_of(row).get(field_id(info)) or [{}])[0].get("value")
                if value is not None and str(value) not in found:
                    found[str(value)] = str(row["id"])
        return found

    # -- creates --------------------------------------------------------------------------------------
    def create_leads(self, drafts: Sequence[LeadDraft]) -> list[WriteOutcome]:
        catalog = self.catalog()
        return self._create(catalog, drafts, FieldEntity.LEAD, lambda d: self._lead(catalog, d))

    def create_deals(self, drafts: Sequence[DealDraft]) -> list[WriteOutcome]:
        catalog = self.catalog()
        return self._create(catalog, drafts, FieldEntity.DEAL, lambda d: self._deal(catalog, d))

    def _create(
        self,
        catalog: AmoCatalog,
        drafts: Sequence[LeadDraft] | Sequence[DealDraft],
        entity: FieldEntity,
        build: Callable[[Any], dict[str, Any]],
    ) -> list[WriteOutcome]:
        """Units of ``UNIT`` drafts, up to ``max_concurrency`` units at once; each unit looks up its
        external ids, then creates what is missing. Overlapping the units keeps the shared rate limit
        busy while one unit waits for its lookups' answers (no barrier between lookups and adds)."""
        unique = list({d.external_id: d for d in drafts}.values())
        units = [unique[i : i + UNIT] for i in range(0, len(unique), UNIT)]
        results: dict[str, WriteOutcome] = {}
        for part in self.client.map_chunks(lambda u: self._create_unit(catalog, u, entity, build), units):
            results.update(part)
        return [results[d.external_id] for d in drafts]

    def _create_unit(
        self,
        catalog: AmoCatalog,
        drafts: Sequence[Any],
        entity: FieldEntity,
        build: Callable[[Any], dict[str, Any]],
    ) -> dict[str, WriteOutcome]:
        existing = self.existing(catalog, entity, [d.external_id for d in drafts], parallel=False)
        results: dict[str, WriteOutcome] = {}
        built: list[tuple[Any, dict[str, Any]]] = []
        for draft in drafts:
            ext = draft.external_id
            if ext in existing:
                results[ext] = WriteOutcome(ext, existing[ext], created=False)
                continue
            try:
                built.append((draft, build(draft)))
            except CrmBridgeError as exc:
                results[ext] = _fail(ext, exc)
        results.update(self._send(built))
        if entity is FieldEntity.LEAD:
            self._comments(drafts, results)
        return results

    def _send(
        self,
        built: Sequence[tuple[Any, dict[str, Any]]],
        *,
        on_lost: Callable[[CrmRetriableError], str] | None = None,
    ) -> dict[str, WriteOutcome]:
        """Create the ``built`` (draft, body) pairs, external ids unique: a lead with a customer with
        its new contact through the complex add (``COMPLEX_BATCH`` a request), the rest in arrays of
        ``MAX_BATCH``. An item amoCRM refuses fails alone. ``on_lost``: None sends the arrays one after
        another in this thread (the caller is a worker already) and lets a lost answer raise; given, the
        arrays go ``concurrency`` at once and a request whose answer was lost after sending (timeout,
        reset, 5xx: a write is not resent blindly) makes its drafts uncertain, with ``on_lost(error)``
        as their error."""
        combined: list[tuple[Any, dict[str, Any]]] = []
        plain: list[tuple[Any, dict[str, Any]]] = []
        for draft, body in built:
            if _has_customer(draft):
                body.setdefault("_embedded", {})["contacts"] = [self._contact(draft)]
                combined.append((draft, body))
            else:
                plain.append((draft, body))
        requests = [
            ("api/v4/leads/complex", combined[i : i + COMPLEX_BATCH])
            for i in range(0, len(combined), COMPLEX_BATCH)
        ] + [("api/v4/leads", plain[i : i + MAX_BATCH]) for i in range(0, len(plain), MAX_BATCH)]

        def one(request: tuple[str, list[tuple[Any, dict[str, Any]]]]) -> dict[str, WriteOutcome]:
            path, chunk = request
            try:
                answers = self.client.write(
                    "POST", path, "leads", [body for _, body in chunk], batch=len(chunk), parallel=False
                )
            except CrmRetriableError as exc:
                if on_lost is None:
                    raise
                why = on_lost(exc)
                return {
                    d.external_id: WriteOutcome(d.external_id, None, error=why, uncertain=True)
                    for d, _ in chunk
                }
            return {
                draft.external_id: WriteOutcome(draft.external_id, answer.crm_id, created=True)
                if answer.crm_id
                else _fail(draft.external_id, answer.error or "amoCRM gave no reason")
                for (draft, _), answer in zip(chunk, answers, strict=True)
            }

        parts = [one(r) for r in requests] if on_lost is None else self.client.map_chunks(one, requests)
        return {ext: outcome for part in parts for ext, outcome in part.items()}

    def _common(
        self, catalog: AmoCatalog, entity: FieldEntity, ext: str, partner_id: str | None
    ) -> list[dict[str, Any]]:
        values = []
        info = catalog.field(entity, "external_id")
        if info is not None:
            values.append(field_entry(info, ext, self.user_ids))
        ref = catalog.field(entity, "partner_ref")
        if ref is not None and partner_id:
            values.append(field_entry(ref, partner_id, self.user_ids))
        return values

    def _stage(self, catalog: AmoCatalog, funnel: str, stage: str | None) -> dict[str, int]:
        if funnel not in catalog.funnels:
            raise CrmValidationError(
                f"the {funnel} pipeline is not in amoCRM yet: run crm-bridge provision", crm="amocrm"
            )
        code = catalog.stage_code(funnel, stage)
        if code is None:
            raise CrmValidationError(f"no stage {stage!r} in the {funnel} pipeline", crm="amocrm")
        pipeline, status = status_of(code)
        return {"pipeline_id": pipeline, "status_id": status}

    def _lead(self, catalog: AmoCatalog, draft: LeadDraft) -> dict[str, Any]:
        body: dict[str, Any] = {"name": draft.title, "price": price_of(draft.amount)}
        body.update(self._stage(catalog, self.mapping.lead_funnel, draft.stage))
        if draft.manager_user_id:
            body["responsible_user_id"] = int(draft.manager_user_id)
        values = self._common(catalog, FieldEntity.LEAD, draft.external_id, draft.partner_id)
        conflict = catalog.field(FieldEntity.LEAD, "conflict")
        if conflict is not None and draft.conflict:
            values.append(field_entry(conflict, True, self.user_ids))
        body["custom_fields_values"] = values
        if draft.partner_id:
            body["_embedded"] = {"companies": [{"id": _int(draft.partner_id, "partner")}]}
        return body

    def _deal(self, catalog: AmoCatalog, draft: DealDraft) -> dict[str, Any]:
        body: dict[str, Any] = {"name": draft.title, "price": price_of(draft.amount)}
        body.update(self._stage(catalog, draft.funnel, draft.stage))
        if draft.responsible_user_id:
            body["responsible_user_id"] = int(draft.responsible_user_id)
        body["custom_fields_values"] = self._common(
            catalog, FieldEntity.DEAL, draft.external_id, draft.partner_id
        )
        if draft.partner_id:
            body["_embedded"] = {"companies": [{"id": _int(draft.partner_id, "partner")}]}
        return body

    def _contact(self, draft: LeadDraft) -> dict[str, Any]:
        """The customer as the lead's new contact (name, PHONE, EMAIL; the INN in the name line)."""
        codes = self.mapping.contact_fields
        name = draft.customer_name or draft.customer.email or draft.customer.phone or draft.title
        if draft.customer.tax_id:
            name = f"{name} (ИНН {draft.customer.tax_id})"
        values = [
            {"field_code": code, "values": [{"value": value, "enum_code": "WORK"}]}
            for code, value in ((codes.phone, draft.customer.phone), (codes.email, draft.customer.email))
            if value
        ]
        contact: dict[str, Any] = {"name": name[:255]}
        if values:
            contact["custom_fields_values"] = values
        if draft.manager_user_id:
            contact["responsible_user_id"] = int(draft.manager_user_id)
        return contact

    def _comments(self, drafts: Sequence[Any], results: Mapping[str, WriteOutcome]) -> None:
        """Each lead's intake comment as a note on it (``POST /api/v4/leads/notes``, 250 a request,
        note_type ``service_message`` from crm-bridge, so it is not taken for the manager's touch).
        Leads found already there (a rerun after a crash between the lead and its note) get theirs
        only when it is missing: their notes are read first (80 leads a request)."""
        wanted = {
            int(outcome.crm_id): d.comment
            for d in drafts
            if isinstance(d, LeadDraft)
            and d.comment.strip()
            and (outcome := results.get(d.external_id)) is not None
            and outcome.ok
            and outcome.crm_id
        }
        found = [int(o.crm_id) for o in results.values() if o.ok and o.crm_id and not o.created]
        rechecked = [lead for lead in found if lead in wanted]
        for start in range(0, len(rechecked), LOOKUP_CHUNK):
            part = rechecked[start : start + LOOKUP_CHUNK]
            notes = self.client.fetch_all(
                "api/v4/leads/notes",
                "notes",
                {"filter[entity_id][]": part, "filter[note_type]": NOTE_TYPE},
            )
            for note in notes:
                lead = int(note.get("entity_id") or 0)
                if (note.get("params") or {}).get("text") == wanted.get(lead):
                    wanted.pop(lead, None)
        items = [
            {"entity_id": lead, "note_type": NOTE_TYPE, "params": {"service": NOTE_SERVICE, "text": text}}
            for lead, text in wanted.items()
        ]
        if items:  # a refused note does not undo its lead: logged, the lead stays created
            for answer in self.client.write("POST", "api/v4/leads/notes", "notes", items, parallel=False):
                if answer.error:
                    log.warning("amoCRM refused a lead's comment note: %s", answer.error)

    # -- updates --------------------------------------------------------------------------------------
    def update_records(self, updates: Sequence[RecordUpdate]) -> list[WriteOutcome]:
        catalog = self.catalog()
        items: list[tuple[int, dict[str, Any]]] = []
        results: dict[int, WriteOutcome] = {}
        for n, update in enumerate(updates):
            try:
                items.append((n, self._update_body(catalog, update)))
            except CrmBridgeError as exc:
                results[n] = _fail(update.crm_id, exc)
        answers = self.client.write("PATCH", "api/v4/leads", "leads", [b for _, b in items])
        for (n, _), answer in zip(items, answers, strict=True):
            ext = updates[n].crm_id
            results[n] = WriteOutcome(ext, answer.crm_id) if answer.crm_id else _fail(ext, str(answer.error))
        return [results[n] for n in range(len(updates))]

    def _update_body(self, catalog: AmoCatalog, update: RecordUpdate) -> dict[str, Any]:
        entity = FieldEntity.LEAD if update.entity is Entity.LEAD else FieldEntity.DEAL
        body: dict[str, Any] = {"id": _int(update.crm_id, "record")}
        if update.stage is not None or update.funnel is not None:
            funnel = update.funnel or (self.mapping.lead_funnel if update.entity is Entity.LEAD else None)
            if funnel is None:
                funnel = _funnel_of_stage(catalog, update.stage, self.mapping.lead_funnel)
            body.update(self._stage(catalog, funnel, update.stage))
        if update.responsible_user_id:
            body["responsible_user_id"] = _int(update.responsible_user_id, "user")
        values = []
        for key, value in update.fields.items():
            if key == "amount":
                body["price"] = price_of(value)
            elif key == "title":
                body["name"] = str(value)
            else:
                info = catalog.field(entity, key)
                if info is None:
                    raise DataError(f"no field {key!r} on amoCRM leads; run crm-bridge provision")
                values.append(field_entry(info, value, self.user_ids))
        if values:
            body["custom_fields_values"] = values
        return body

    def update_partners(self, updates: Sequence[PartnerUpdate]) -> list[WriteOutcome]:
        catalog = self.catalog()
        items: list[tuple[int, dict[str, Any]]] = []
        results: dict[int, WriteOutcome] = {}
        for n, update in enumerate(updates):
            try:
                values = []
                for key, value in update.fields.items():
                    info = catalog.field(FieldEntity.PARTNER, key)
                    if info is None:
                        raise DataError(f"no partner field {key!r} in amoCRM; run crm-bridge provision")
                    values.append(field_entry(info, value, self.user_ids))
                items.append((n, {"id": _int(update.crm_id, "company"), "custom_fields_values": values}))
            except CrmBridgeError as exc:
                results[n] = _fail(update.crm_id, exc)
        answers = self.client.write("PATCH", "api/v4/companies", "companies", [b for _, b in items])
        for (n, _), answer in zip(items, answers, strict=True):
            crm_id = updates[n].crm_id
            results[n] = (
                WriteOutcome(crm_id, answer.crm_id) if answer.crm_id else _fail(crm_id, str(answer.error))
            )
        return [results[n] for n in range(len(updates))]


def _has_customer(draft: Any) -> bool:
    return isinstance(draft, LeadDraft) and bool(draft.customer_name or not draft.customer.is_empty())


def _int(value: str, what: str) -> int:
    if not str(value).isdigit():
        raise DataError(f"{what} id {value!r} is not an amoCRM id")
    return int(value)


def _funnel_of_stage(catalog: AmoCatalog, stage: str | None, lead_funnel: str) -> str:
    funnels = {
        info.funnel for info in catalog.stages.values() if info.key == stage and info.funnel != lead_funnel
    }
    if len(funnels) != 1:
        raise DataError(f"stage {stage!r} does not name one pipeline: give the funnel")
    return funnels.pop()
