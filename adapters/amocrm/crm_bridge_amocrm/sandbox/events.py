"""amoCRM events (``GET /api/v4/events``) and notes of leads (``GET/POST /api/v4/leads/notes``).

Events, as amoCRM API v4 "События и примечания" describes them: ``{id, type, entity_id, entity_type,
created_by, created_at, value_after, value_before, account_id}``, the id a 26-character string; at
most 100 a page (``limit`` above is cut to 100); filters ``filter[type]``, ``filter[entity]``,
``filter[entity_id]`` (at most 10 ids, and only with one ``filter[entity]``), ``filter[created_at]``
(a Unix time = "after", or ``{from, to}``); newest first; 204 when nothing matches. The emulator
records ``lead_added``, ``lead_status_changed`` (value_before/value_after ``[{"lead_status": {"id",
"pipeline_id"}}]``) and ``<note_type>_note_added`` (``common_note_added``, ``service_note_added``).

Notes: an array of ``{entity_id, note_type, params}`` (``common``: ``params.text``;
``service_message``: ``params.service`` and ``params.text``), answered with ``{id, entity_id,
request_id}`` per note; a note does not change the lead's ``updated_at``.
"""

from __future__ import annotations

from typing import Any

from crm_bridge.sandbox.core import SandboxResponse
from crm_bridge_amocrm.sandbox.listing import filter_of, in_range, page_of
from crm_bridge_amocrm.sandbox.store import MAX_BATCH, Call
from crm_bridge_amocrm.sandbox.wire import (
    AmoError,
    as_int,
    as_int_list,
    field_error,
    no_content,
    problem,
    self_link,
    validation_failed,
)

EVENTS_LIMIT = 100
MAXENTITY_NAMES_IDS = 10
NOTE_TYPES = {"common": "common_note_added", "service_message": "service_note_added"}
_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
ENTITY_NAMES = {"leads": "lead", "contacts": "contact", "companies": "company"}


def record(
    call: Call,
    kind: str,
    entity: str,
    entity_id: int,
    value_after: list[dict[str, Any]] | None = None,
    value_before: list[dict[str, Any]] | None = None,
    *,
    at: int | None = None,
) -> None:
    number = call.state.next_id("event")
    text = ""
    while number:
        number, digit = divmod(number, 32)
        text = _ALPHABET[digit] + text
    call.state.events.append(
        {
            "id": "01" + text.rjust(24, "0"),
            "type": kind,
            "entity_id": entity_id,
            "entity_type": ENTITY_NAMES.get(entity, entity),
            "created_by": call.user_id,
            "created_at": call.now if at is None else at,
            "value_after": value_after or [],
            "value_before": value_before or [],
            "account_id": call.state.account_id,
        }
    )


def status_value(pipeline_id: int, status_id: int) -> list[dict[str, Any]]:
    return [{"lead_status": {"id": status_id, "pipeline_id": pipeline_id}}]


def _names(value: Any) -> list[str]:
    if isinstance(value, dict):
        value = list(value.values())
    items = value if isinstance(value, list) else [value]
    return [part.strip() for item in items for part in str(item).split(",") if part.strip()]


def list_events(call: Call) -> SandboxResponse:
    flt = filter_of(call.query)
    types = set(_names(flt.get("type"))) if "type" in flt else None
    entities = set(_names(flt.get("entity"))) if "entity" in flt else None
    ids = None
    if "entity_id" in flt:
        ids = set(as_int_list(",".join(_names(flt["entity_id"]))))
        if entities is None or len(entities) != 1 or len(ids) > MAXENTITY_NAMES_IDS:
            raise validation_failed(
                [
                    {
                        "request_id": "0",
                        "errors": [
                            field_error(
                                "InvalidFilter",
                                "filter.entity_id",
                                f"entity_id takes at most {MAXENTITY_NAMES_IDS} ids and one filter[entity]",
                            )
                        ],
                    }
                ]
            )
    created = flt.get("created_at")
    if created is not None and not isinstance(created, dict):
        created = {"from": as_int(created)}
    found = [
        e
        for e in call.state.events
        if (types is None or e["type"] in types)
        and (entities is None or e["entity_type"] in entities)
        and (ids is None or e["entity_id"] in ids)
        and (created is None or in_range(e["created_at"], created))
    ]
    found.reverse()  # newest first
    page = max(as_int(call.query.get("page")) or 1, 1)
    limit = min(max(as_int(call.query.get("limit")) or 50, 1), EVENTS_LIMIT)
    chunk = found[(page - 1) * limit : page * limit]
    if not chunk:
        return no_content()
    links: dict[str, Any] = {"self": {"href": f"{call.base}/api/v4/events?page={page}&limit={limit}"}}
    if page * limit < len(found):
        links["next"] = {"href": f"{call.base}/api/v4/events?page={page + 1}&limit={limit}"}
    body = {
        "_page": page,
        "_links": links,
        "_embedded": {
            "events": [
                {
                    **e,
                    "_links": self_link(f"{call.base}/api/v4/events/{e['id']}"),
                    "_embedded": {"entity": {"id": e["entity_id"]}},
                }
                for e in chunk
            ]
        },
    }
    return SandboxResponse(body=body, records=len(chunk))


def add_notes(call: Call, entity: str) -> SandboxResponse:
    items = call.body
    if not isinstance(items, list) or not items or not all(isinstance(x, dict) for x in items):
        raise AmoError(problem(400, "Expected a non-empty array of notes"))
    if len(items) > MAX_BATCH:
        raise AmoError(problem(400, f"Too many entities in one request: {len(items)} > {MAX_BATCH}"))
    errors = []
    for index, item in enumerate(items):
        problems = []
        rid = as_int(item.get("entity_id"))
        if rid is None or rid not in call.state.records[entity]:
            problems.append(field_error("NotSupportedChoice", "entity_id", "No such entity."))
        kind = item.get("note_type")
        params = item.get("params") if isinstance(item.get("params"), dict) else {}
        if kind not in NOTE_TYPES:
            problems.append(field_error("NotSupportedChoice", "note_type", "Unknown note type."))
        elif not str(params.get("text") or "").strip():
            problems.append(field_error("NotBlank", "params.text", "This value should not be blank."))
        elif kind == "service_message" and not str(params.get("service") or "").strip():
            problems.append(field_error("NotBlank", "params.service", "This value should not be blank."))
        if problems:
            errors.append({"request_id": str(item.get("request_id", index)), "errors": problems})
    if errors:
        raise validation_failed(errors)
    answers = []
    for index, item in enumerate(items):
        nid = call.state.next_id("note")
        note = {
            "id": nid,
            "entity_id": int(item["entity_id"]),
            "entity_type": entity,
            "created_by": call.user_id,
            "updated_by": call.user_id,
            "created_at": call.now,
            "updated_at": call.now,
            "responsible_user_id": call.user_id,
            "group_id": 0,
            "note_type": item["note_type"],
            "params": {k: str(v) for k, v in item["params"].items()},
            "account_id": call.state.account_id,
        }
        call.state.notes[nid] = note
        record(call, NOTE_TYPES[note["note_type"]], entity, note["entity_id"], [{"note": {"id": nid}}])
        href = f"{call.base}/api/v4/{entity}/{note['entity_id']}/notes/{nid}"
        answers.append(
            {
                "id": nid,
                "entity_id": note["entity_id"],
                "request_id": str(item.get("request_id", index)),
                "_links": self_link(href),
            }
        )
    body = {"_links": self_link(f"{call.base}/api/v4/{entity}/notes"), "_embedded": {"notes": answers}}
    return SandboxResponse(body=body, records=len(answers))


def list_notes(call: Call, entity: str) -> SandboxResponse:
    flt = filter_of(call.query)
    ids = set(as_int_list(flt["entity_id"])) if "entity_id" in flt else None
    types = set(_names(flt["note_type"])) if "note_type" in flt else None
    found = [
        n
        for n in call.state.notes.values()
        if n["entity_type"] == entity
        and (ids is None or n["entity_id"] in ids)
        and (types is None or n["note_type"] in types)
    ]
    return page_of(
        call,
        f"/api/v4/{entity}/notes",
        "notes",
        found,
        lambda n: {
            **{k: v for k, v in n.items() if k != "entity_type"},
            "_links": self_link(f"{call.base}/api/v4/{entity}/{n['entity_id']}/notes/{n['id']}"),
        },
    )
