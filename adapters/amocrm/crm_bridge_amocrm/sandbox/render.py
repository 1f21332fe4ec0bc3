"""amoCRM record rendering: leads, contacts and companies in the docs' field order, with HAL
``_links`` and the ``_embedded`` tags, companies, contacts and leads that ``with=`` asks for."""

from __future__ import annotations

import copy
from typing import Any

from crm_bridge_amocrm.sandbox.store import AmoState, Call
from crm_bridge_amocrm.sandbox.wire import self_link

# Field order of the docs' response examples (GET /api/v4/leads/{id} on amocrm.ru and Kommo).
_FIELD_ORDER = {
    "leads": """id name price responsible_user_id group_id status_id pipeline_id loss_reason_id created_by
        updated_by created_at updated_at closed_at closest_task_at is_deleted custom_fields_values score
        account_id labor_cost""".split(),
    "contacts": """id name first_name last_name responsible_user_id group_id created_by updated_by created_at
        updated_at closest_task_at is_deleted is_unsorted custom_fields_values account_id""".split(),
    "companies": """id name responsible_user_id group_id created_by updated_by created_at updated_at
        closest_task_at is_deleted custom_fields_values account_id""".split(),
}


def render(call: Call, entity: str, record: dict[str, Any], with_: set[str]) -> dict[str, Any]:
    state = call.state
    out = {k: copy.deepcopy(record[k]) for k in _FIELD_ORDER[entity] if k in record}
    out["_links"] = self_link(f"{call.base}/api/v4/{entity}/{record['id']}")
    embedded: dict[str, Any] = {"tags": copy.deepcopy(record.get("_tags", []))}
    if entity == "leads":
        if "source_id" in with_:
            out["source_id"] = None
        if "is_price_modified_by_robot" in with_:
            out["is_price_modified_by_robot"] = False
        company = record.get("_company_id")
        embedded["companies"] = [_ref(call, "companies", company)] if company else []
        if "contacts" in with_:
            embedded["contacts"] = [
                {**_ref(call, "contacts", cid), "is_main": i == 0}
                for i, cid in enumerate(record["_contact_ids"])
            ]
    elif entity == "contacts":
        company = record.get("_company_id")
        embedded["companies"] = [_ref(call, "companies", company)] if company else []
        if "leads" in with_:
            embedded["leads"] = [
                _ref(call, "leads", lid) for lid in _leads_linking(state, "contacts", record["id"])
            ]
    else:
        if "leads" in with_:
            embedded["leads"] = [
                _ref(call, "leads", lid) for lid in _leads_linking(state, "companies", record["id"])
            ]
        if "contacts" in with_:
            embedded["contacts"] = [
                _ref(call, "contacts", c["id"])
                for c in state.records["contacts"].values()
                if c.get("_company_id") == record["id"]
            ]
    out["_embedded"] = embedded
    return out


def _ref(call: Call, entity: str, rid: int) -> dict[str, Any]:
    return {"id": rid, "_links": self_link(f"{call.base}/api/v4/{entity}/{rid}")}


def _leads_linking(state: AmoState, entity: str, rid: int) -> list[int]:
    if entity == "contacts":
        return [lead["id"] for lead in state.records["leads"].values() if rid in lead["_contact_ids"]]
    return [lead["id"] for lead in state.records["leads"].values() if lead.get("_company_id") == rid]


def with_params(call: Call) -> set[str]:
    raw = call.query.get("with", "")
    return {part.strip() for part in str(raw).split(",") if part.strip()}
