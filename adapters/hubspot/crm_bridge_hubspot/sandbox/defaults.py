"""What a new HubSpot portal holds: the HubSpot-defined properties and groups of contacts, companies,
deals and tasks, the "default" deal pipeline with its seven stages, and a few owners."""

from __future__ import annotations

from typing import Any

from crm_bridge_hubspot.sandbox.store import (
    CREATED_PROPERTY,
    DEFAULT_GROUP,
    MODIFIED_PROPERTY,
    HsState,
    add_owner,
    iso,
    property_model,
    stage_model,
)

# name -> (label, type, fieldType, read only?, options)
_S, _N, _D, _E = ("string", "text"), ("number", "number"), ("datetime", "date"), ("enumeration", "select")
_BUILTIN: dict[str, dict[str, tuple[str, tuple[str, str], bool, list[str]]]] = {
    "contacts": {
        "email": ("Email", _S, False, []),
        "firstname": ("First Name", _S, False, []),
        "lastname": ("Last Name", _S, False, []),
        "phone": ("Phone Number", ("string", "phonenumber"), False, []),
        "company": ("Company Name", _S, False, []),
        "jobtitle": ("Job Title", _S, False, []),
    },
    "companies": {
        "name": ("Name", _S, False, []),
        "domain": ("Company Domain Name", _S, False, []),
        "phone": ("Phone Number", ("string", "phonenumber"), False, []),
        "city": ("City", _S, False, []),
        "country": ("Country/Region", _S, False, []),
        "industry": ("Industry", _S, False, []),
        "annualrevenue": ("Annual Revenue", _N, False, []),
    },
    "deals": {
        "dealname": ("Deal Name", _S, False, []),
        "amount": ("Amount", _N, False, []),
        "closedate": ("Close Date", _D, False, []),
        "pipeline": ("Pipeline", _E, False, []),
        "dealstage": ("Deal Stage", _E, False, []),
        "description": ("Deal Description", ("string", "textarea"), False, []),
    },
    "tasks": {
        "hs_timestamp": ("Due date", _D, False, []),
        "hs_task_subject": ("Task Title", _S, False, []),
        "hs_task_body": ("Notes", ("string", "html"), False, []),
        "hs_task_status": (
            "Task Status",
            _E,
            False,
            ["NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED"],
        ),
        "hs_task_priority": ("Priority", _E, False, ["NONE", "LOW", "MEDIUM", "HIGH"]),
        "hs_task_type": ("Task Type", _E, False, ["CALL", "EMAIL", "TODO", "LINKED_IN", "MEETING"]),
        "hs_task_reminders": ("Reminder", ("string", "text"), False, []),
    },
}
DEFAULT_STAGES = [
    ("appointmentscheduled", "Appointment Scheduled", "0.2"),
    ("qualifiedtobuy", "Qualified To Buy", "0.4"),
    ("presentationscheduled", "Presentation Scheduled", "0.6"),
    ("decisionmakerboughtin", "Decision Maker Bought-In", "0.8"),
    ("contractsent", "Contract Sent", "0.9"),
    ("closedwon", "Closed Won", "1.0"),
    ("closedlost", "Closed Lost", "0.0"),
]


def new_state(now: float, portal_id: int) -> HsState:
    state = HsState(portal_id=portal_id)
    for object_type, group in DEFAULT_GROUP.items():
        state.objects[object_type] = {}
        label = group.replace("information", " information").capitalize()
        state.groups[object_type] = {
            group: {"name": group, "label": label, "displayOrder": 0, "archived": False}
        }
        props: dict[str, dict[str, Any]] = {}
        for name, (plabel, (kind, ftype), _ro, options) in _BUILTIN[object_type].items():
            opts = [
                {"label": o.replace("_", " ").title(), "value": o, "displayOrder": i, "hidden": False}
                for i, o in enumerate(options)
            ]
            props[name] = property_model(
                name,
                plabel,
                kind,
                ftype,
                group,
                now,
                options=opts,
                hubspotDefined=True,
                read_only_definition=True,
                hasUniqueValue=False,
            )
        for name, plabel in (("hs_object_id", "Record ID"), ("hubspot_owner_id", "Owner")):
            kind, ftype = ("number", "number") if name == "hs_object_id" else ("enumeration", "select")
            props[name] = property_model(
                name,
                plabel,
                kind,
                ftype,
                group,
                now,
                hubspotDefined=True,
                read_only=name == "hs_object_id",
                read_only_definition=True,
                **(
                    {"referencedObjectType": "OWNER", "externalOptions": True}
                    if name == "hubspot_owner_id"
                    else {}
                ),
            )
        for name in {CREATED_PROPERTY[object_type], MODIFIED_PROPERTY[object_type], "hs_lastmodifieddate"}:
            props[name] = property_model(
                name,
                name,
                "datetime",
                "date",
                group,
                now,
                hubspotDefined=True,
                read_only=True,
                read_only_definition=True,
            )
        state.properties[object_type] = props
    state.pipelines["deals"] = {}
    default: dict[str, Any] = {
        "id": "default",
        "label": "Sales Pipeline",
        "displayOrder": 0,
        "archived": False,
        "createdAt": iso(now),
        "updatedAt": iso(now),
        "stages": [],
    }
    for order, (sid, label, probability) in enumerate(DEFAULT_STAGES):
        default["stages"].append(stage_model(sid, label, order, {"probability": probability}, now))
    state.pipelines["deals"]["default"] = default
    for i, (first, last) in enumerate((("Anna", "Admin"), ("Boris", "Manager"), ("Vera", "Manager"))):
        add_owner(state, first, last, f"{first.lower()}@example.com", now, owner_id=str(100000001 + i))
    return state
