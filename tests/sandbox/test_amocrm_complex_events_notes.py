"""The amoCRM v4 emulator's complex add, notes and events answer as the docs describe: leads with a
new contact and company in one request (at most 50, a bare array of ``{id, contact_id, company_id,
request_id[], merged}``), notes of leads, and the events list (100 a page, at most 10 entity ids)."""

from __future__ import annotations

import pytest
from test_amocrm_support import Client, ManualClock, doc

from crm_bridge_amocrm.sandbox.emulator import create_emulator

TOKEN = "sandbox-amocrm-long-lived-token"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def amo(clock: ManualClock) -> Client:
    return Client(create_emulator(clock=clock, rate_limit=False), token=TOKEN)


def _complex(i: int) -> dict:
    return {
        "name": f"Lead {i}",
        "price": 100,
        "request_id": str(i),
        "_embedded": {
            "contacts": [
                {
                    "first_name": "Ivan",
                    "last_name": f"Buyer {i}",
                    "custom_fields_values": [
                        {"field_code": "PHONE", "values": [{"value": f"+7999{i:07d}", "enum_code": "WORK"}]}
                    ],
                }
            ],
            "companies": [{"name": f"Company {i}"}],
        },
    }


def test_a_complex_add_makes_the_lead_its_contact_and_company_linked_together(amo: Client) -> None:
    reply = amo.post("/api/v4/leads/complex", [_complex(1), _complex(2)])

    assert reply.status == 200, reply.body
    example = doc("amocrm/complex_add_response.json")["items"][0]
    assert isinstance(reply.body, list) and all(set(item) == set(example) for item in reply.body)
    first = reply.body[0]
    assert first["request_id"] == ["1"] and first["merged"] is False
    lead = amo.get(f"/api/v4/leads/{first['id']}", params={"with": "contacts"}).body
    assert [c["id"] for c in lead["_embedded"]["contacts"]] == [first["contact_id"]]
    assert [c["id"] for c in lead["_embedded"]["companies"]] == [first["company_id"]]
    contact = amo.get(f"/api/v4/contacts/{first['contact_id']}").body
    assert contact["name"] == "Ivan Buyer 1"
    assert [c["id"] for c in contact["_embedded"]["companies"]] == [first["company_id"]]


def test_a_complex_add_takes_at_most_50_leads_and_refuses_a_bad_one_whole(amo: Client) -> None:
    too_many = amo.post("/api/v4/leads/complex", [_complex(i) for i in range(51)])
    bad = _complex(3)
    bad["_embedded"]["contacts"][0]["responsible_user_id"] = 999
    refused = amo.post("/api/v4/leads/complex", [_complex(2), bad])

    assert too_many.status == 400
    assert refused.status == 400
    assert [e["request_id"] for e in refused.body["validation-errors"]] == ["3"]
    assert amo.get("/api/v4/leads").status == 204 and amo.get("/api/v4/contacts").status == 204


def test_notes_of_a_lead_and_its_stage_moves_are_in_the_events_list(amo: Client, clock: ManualClock) -> None:
    [made] = amo.post("/api/v4/leads/complex", [_complex(1)]).body
    pipeline = amo.get(f"/api/v4/leads/{made['id']}").body["pipeline_id"]
    statuses = amo.get(f"/api/v4/leads/pipelines/{pipeline}").body["_embedded"]["statuses"]
    target = next(s["id"] for s in statuses if s["type"] == 0 and s["is_editable"] and s["sort"] > 20)
    clock.advance(60)
    amo.patch("/api/v4/leads", [{"id": made["id"], "status_id": target}])
    notes = amo.post(
        "/api/v4/leads/notes",
        [{"entity_id": made["id"], "note_type": "common", "params": {"text": "Called, no answer"}}],
    )

    assert notes.status == 200 and notes.body["_embedded"]["notes"][0]["entity_id"] == made["id"]
    listed = amo.get("/api/v4/leads/notes", params={"filter[entity_id][]": str(made["id"])}).body
    assert [n["params"]["text"] for n in listed["_embedded"]["notes"]] == ["Called, no answer"]
    events = amo.get(
        "/api/v4/events",
        params={"filter[entity]": "lead", "filter[entity_id]": str(made["id"]), "limit": "100"},
    ).body["_embedded"]["events"]
    assert [e["type"] for e in events] == ["common_note_added", "lead_status_changed", "lead_added"]
    moved = events[1]
    assert moved["value_after"] == [{"lead_status": {"id": target, "pipeline_id": pipeline}}]
    assert moved["created_at"] > events[2]["created_at"] and isinstance(moved["id"], str)
    typed = amo.get("/api/v4/events", params={"filter[type]": "lead_status_changed"}).body
    assert [e["type"] for e in typed["_embedded"]["events"]] == ["lead_status_changed"]


def test_the_events_list_takes_at_most_10_entity_ids(amo: Client) -> None:
    ids = ",".join(str(20000001 + i) for i in range(11))

    reply = amo.get("/api/v4/events", params={"filter[entity]": "lead", "filter[entity_id]": ids})

    assert reply.status == 400 and "validation-errors" in reply.body
