"""``POST /api/v4/leads/complex``: leads added together with their contact and company (amoCRM API v4
"Комплексное добавление сделок с контактом и компанией", Kommo "Complex leads").

As documented: at most 50 leads a request; one contact and one company per lead (new ones, or existing
ones by ``id``); at most 40 custom field values per entity; a new contact and a new company of the same
lead are linked together. The answer is a bare JSON array of ``{id, contact_id, company_id,
request_id: [..], merged}``. Duplicate control applies only where the account enabled it for the
integration; this emulated account has it off, so ``merged`` is always false. One invalid item refuses
the whole request (400 ``validation-errors`` naming its request_id): nothing is written.
"""

from __future__ import annotations

from typing import Any

from crm_bridge.sandbox.core import SandboxResponse
from crm_bridge_amocrm.sandbox import entities
from crm_bridge_amocrm.sandbox.store import Call
from crm_bridge_amocrm.sandbox.values import normalize_values
from crm_bridge_amocrm.sandbox.wire import AmoError, field_error, problem, validation_failed

MAX_COMPLEX = 50
MAX_VALUES = 40


def _part(item: dict[str, Any], key: str) -> tuple[dict[str, Any] | None, bool]:
    """The one contact/company of a lead: (its body, is it an existing one by id)."""
    found = ((item.get("_embedded") or {}).get(key)) or []
    if not found:
        return None, False
    first = found[0]
    return first, isinstance(first, dict) and "id" in first and len(first) <= 2


def add_complex(call: Call) -> SandboxResponse:
    items = call.body
    if not isinstance(items, list) or not items or not all(isinstance(x, dict) for x in items):
        raise AmoError(problem(400, "Expected a non-empty array of leads"))
    if len(items) > MAX_COMPLEX:
        raise AmoError(problem(400, f"Too many leads in one request: {len(items)} > {MAX_COMPLEX}"))
    errors = []
    plans = []
    for index, item in enumerate(items):
        problems: list[dict[str, str]] = []
        embedded = dict(item.get("_embedded") or {})
        for key in ("contacts", "companies"):
            if len(embedded.get(key) or []) > 1:
                problems.append(field_error("Count", f"_embedded.{key}", "One per lead."))
        contact, contact_linked = _part(item, "contacts")
        company, company_linked = _part(item, "companies")
        lead = {k: v for k, v in item.items() if k not in ("_embedded", "request_id")}
        lead_embedded = {k: v for k, v in embedded.items() if k in ("tags",)}
        if contact_linked and contact is not None:
            lead_embedded["contacts"] = [{"id": contact["id"]}]
        if company_linked and company is not None:
            lead_embedded["companies"] = [{"id": company["id"]}]
        lead["_embedded"] = lead_embedded
        parts = [("leads", lead)]
        if contact is not None and not contact_linked:
            parts.append(("contacts", dict(contact)))
        if company is not None and not company_linked:
            parts.append(("companies", dict(company)))
        prepared = []
        for entity, body in parts:
            if len(body.get("custom_fields_values") or []) > MAX_VALUES:
                problems.append(field_error("Count", "custom_fields_values", f"At most {MAX_VALUES} values."))
            entities._check_item(call, entity, body, problems, creating=True)
            values = normalize_values(call.state, entity, body.get("custom_fields_values"), problems)
            prepared.append((entity, body, values))
        if problems:
            errors.append({"request_id": str(item.get("request_id", index)), "errors": problems})
        plans.append((item, prepared))
    if errors:
        raise validation_failed(errors)
    answers = []
    for index, (item, prepared) in enumerate(plans):
        made: dict[str, int] = {}
        for entity, body, changes in reversed(prepared):  # company, contact, then the lead
            if entity == "contacts" and "companies" in made:
                body["_embedded"] = {"companies": [{"id": made["companies"]}]}
            if entity == "leads":
                links = body.setdefault("_embedded", {})
                if "contacts" in made:
                    links["contacts"] = [{"id": made["contacts"]}]
                if "companies" in made:
                    links["companies"] = [{"id": made["companies"]}]
            rid = call.state.next_id(entity)
            record = entities._blank(call, entity, rid, body)
            entities._apply(call, entity, record, body, changes, creating=True)
            call.state.records[entity][rid] = record
            call.emit(entity, "add", record)
            entities.record_added(call, entity, record)
            made[entity] = rid
        lead = call.state.records["leads"][made["leads"]]
        answers.append(
            {
                "id": lead["id"],
                "contact_id": (lead["_contact_ids"] or [None])[0],
                "company_id": lead.get("_company_id"),
                "request_id": [str(item.get("request_id", index))],
                "merged": False,
            }
        )
    return SandboxResponse(body=answers, records=len(answers))
