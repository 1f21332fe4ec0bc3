"""What the HubSpot adapter writes for leads, deals, updates and partners (exact ``batch`` bodies on the
emulator), the refusals it gives one input without sending it, and a task whose answer was lost found
again by its owner, due time and subject instead of being created twice."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hs_support import LEAD_STAGES
from hs_support import field_code as _code
from hs_support import request_bodies as _bodies
from hs_support import seeded_partner as _partner

from crm_bridge.domain.layout import FieldEntity
from crm_bridge.errors import CrmError
from crm_bridge.ports import (
    CustomerIdentity,
    DealDraft,
    Entity,
    LeadDraft,
    PartnerUpdate,
    RecordUpdate,
    TaskDraft,
    WriteOutcome,
)
from crm_bridge.sandbox.faults import FaultPlan
from crm_bridge.sandbox.server import Sandbox
from crm_bridge_hubspot import HubSpotAdapter


def test_a_lead_is_created_with_its_owner_conflict_flag_notes_and_contact(
    provisioned: HubSpotAdapter, sandbox: Sandbox
) -> None:
    partner = _partner(sandbox, provisioned)
    owner = provisioned.list_users()[0].crm_id
    customer = CustomerIdentity(email=" Buyer@Example.com ", phone="+7 900", tax_id="7700")
    draft = LeadDraft(
        "ext-1",
        partner,
        "Lead 1",
        customer_name="Buyer LLC",
        customer=customer,
        amount=Decimal("1200.50"),
        comment="Wants a demo",
        manager_user_id=owner,
        conflict=True,
    )
    sandbox.log.clear()

    [outcome, plain] = provisioned.create_leads([draft, LeadDraft("ext-2", partner, "Lead 2")])

    catalog = provisioned.catalog()
    [upsert] = _bodies(sandbox, "/contacts/batch/upsert")
    assert upsert == {
        "inputs": [
            {"id": "buyer@example.com", "idProperty": "email", "properties": {"email": "buyer@example.com"}}
        ]
    }
    [create] = _bodies(sandbox, "/deals/batch/create")
    sent, other = create["inputs"]
    assert sent["objectWriteTraceId"] == "ext-1" and plain.ok
    assert other["properties"] == {
        "dealname": "Lead 2",
        "pipeline": catalog.funnels["leads"],
        "dealstage": catalog.stage_code("leads", LEAD_STAGES[0]),
        "amount": "0",
        _code(provisioned, FieldEntity.LEAD, "external_id"): "ext-2",
    }
    assert sent["properties"] == {
        "dealname": "Lead 1",
        "pipeline": catalog.funnels["leads"],
        "dealstage": catalog.stage_code("leads", LEAD_STAGES[0]),
        "amount": "1200.50",
        "hubspot_owner_id": owner,
        _code(provisioned, FieldEntity.LEAD, "conflict"): "yes",
        "description": "Wants a demo\nCustomer: Buyer LLC\nPhone: +7 900\nINN: 7700",
        _code(provisioned, FieldEntity.LEAD, "external_id"): "ext-1",
    }
    contact = sandbox.emulator.dump()["objects"]["contacts"]
    label = int(_code(provisioned, FieldEntity.LEAD, "partner_ref"))
    assert sent["associations"] == [
        {
            "to": {"id": partner},
            "types": [
                {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 341},
                {"associationCategory": "USER_DEFINED", "associationTypeId": label},
            ],
        },
        {
            "to": {"id": str(next(iter(contact)) if isinstance(contact, dict) else contact[0]["id"])},
            "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 3}],
        },
    ]
    assert outcome.ok and outcome.created


def test_a_deal_is_created_with_its_amount_owner_and_partner_property(
    provisioned: HubSpotAdapter, sandbox: Sandbox
) -> None:
    partner = _partner(sandbox, provisioned)
    owner = provisioned.list_users()[0].crm_id
    sandbox.log.clear()

    [outcome] = provisioned.create_deals(
        [
            DealDraft(
                "d-1", "repeat", "Deal 1", partner, "repeat_won", Decimal("99.90"), responsible_user_id=owner
            )
        ]
    )

    catalog = provisioned.catalog()
    [sent] = _bodies(sandbox, "/deals/batch/create")[0]["inputs"]
    assert sent["properties"] == {
        _code(provisioned, FieldEntity.DEAL, "partner_ref"): partner,
        "dealname": "Deal 1",
        "pipeline": catalog.funnels["repeat"],
        "dealstage": catalog.stage_code("repeat", "repeat_won"),
        "amount": "99.90",
        "hubspot_owner_id": owner,
        _code(provisioned, FieldEntity.DEAL, "external_id"): "d-1",
    }
    assert outcome.ok and outcome.created


def test_a_partner_id_that_is_not_a_hubspot_id_fails_its_draft_without_a_request(
    provisioned: HubSpotAdapter, sandbox: Sandbox
) -> None:
    partner = _partner(sandbox, provisioned)
    sandbox.log.clear()

    outcomes = provisioned.create_deals(
        [DealDraft("d-1", "repeat", "Deal 1", "abc"), DealDraft("d-2", "repeat", "Deal 2", partner)]
    )

    assert outcomes[0] == WriteOutcome("d-1", None, error="partner company abc does not exist in HubSpot")
    assert outcomes[1].ok
    [read] = _bodies(sandbox, "/companies/batch/read")
    assert read["inputs"] == [{"id": partner}]


def test_updates_are_sent_with_hubspots_names_and_refusals_name_the_problem(
    provisioned: HubSpotAdapter, sandbox: Sandbox
) -> None:
    partner = _partner(sandbox, provisioned)
    [deal] = provisioned.create_deals([DealDraft("d-1", "repeat", "Deal 1", partner)])
    did = str(deal.crm_id)
    owner = provisioned.list_users()[0].crm_id
    sandbox.log.clear()

    outcomes = provisioned.update_records(
        [
            RecordUpdate(
                Entity.DEAL,
                did,
                stage="repeat_won",
                responsible_user_id=owner,
                fields={"title": "Renamed", "amount": Decimal("10.5"), "comment": "note"},
            ),
            RecordUpdate(Entity.PARTNER, partner, fields={"tier": "gold"}),
            RecordUpdate(Entity.LEAD, did, funnel="repeat", stage="repeat_won"),
            RecordUpdate(Entity.DEAL, did, stage="negotiation"),
            RecordUpdate(Entity.DEAL, did, stage="nowhere"),
            RecordUpdate(Entity.DEAL, did, fields={"colour": "red"}),
            RecordUpdate(Entity.DEAL, did, funnel="repeat", stage="nowhere"),
            RecordUpdate(Entity.DEAL, did, funnel="nowhere", stage="nowhere"),
        ]
    )

    catalog = provisioned.catalog()
    [update] = _bodies(sandbox, "/deals/batch/update")
    assert update["inputs"] == [
        {
            "id": did,
            "properties": {
                "dealname": "Renamed",
                "amount": "10.5",
                "description": "note",
                "hubspot_owner_id": owner,
                "pipeline": catalog.funnels["repeat"],
                "dealstage": catalog.stage_code("repeat", "repeat_won"),
            },
        }
    ]
    assert [o.error for o in outcomes] == [
        None,
        "partners are changed with update_partners",
        "a partner lead stays in the lead funnel",
        "stage 'negotiation' is ambiguous or unknown: pass the funnel",
        "stage 'nowhere' is ambiguous or unknown: pass the funnel",
        "unknown field 'colour' on deal; run crm-bridge provision",
        "unknown stage 'nowhere' of funnel 'repeat'; run crm-bridge provision",
        "unknown funnel 'nowhere'; run crm-bridge provision",
    ]
    assert outcomes[0] == WriteOutcome(did, did)


def test_partner_fields_are_written_as_hubspot_stores_them(
    provisioned: HubSpotAdapter, sandbox: Sandbox
) -> None:
    p1, p2, p3, p4 = (_partner(sandbox, provisioned) for _ in range(4))
    sandbox.log.clear()

    outcomes = provisioned.update_partners(
        [
            PartnerUpdate(
                p1,
                {
                    "partner_since": date(2026, 3, 1),
                    "training_completed": True,
                    "score_total": 87,
                    "tier": None,
                },
            ),
            PartnerUpdate(
                p2, {"partner_since": datetime(2026, 3, 2, 1, 30, tzinfo=timezone(timedelta(hours=3)))}
            ),
            PartnerUpdate(p3, {"training_completed": False, "score_total": Decimal("1.50")}),
            PartnerUpdate(p4, {"partner_type": "vendor"}),
        ]
    )

    def code(key: str) -> str:
        return _code(provisioned, FieldEntity.PARTNER, key)

    inputs = [i["properties"] for i in _bodies(sandbox, "/companies/batch/update")[0]["inputs"]]
    first = {
        code("partner_since"): "2026-03-01",
        code("training_completed"): "yes",
        code("score_total"): "87",
    }
    first[code("tier")] = ""
    assert inputs[0] == first
    assert inputs[1] == {code("partner_since"): "2026-03-01"}
    assert inputs[2] == {code("training_completed"): "no", code("score_total"): "1.50"}
    assert [o for o in outcomes[:3]] == [WriteOutcome(p, p) for p in (p1, p2, p3)]
    assert (
        outcomes[3].error
        == f"option 'vendor' does not exist in {code('partner_type')}; run crm-bridge provision"
    )


def test_a_task_whose_answer_was_lost_is_found_again_not_created_twice(
    provisioned: HubSpotAdapter, sandbox: Sandbox
) -> None:
    owner = provisioned.list_users()[0].crm_id
    due = datetime(2026, 12, 7, 13, 0, tzinfo=UTC)
    draft = TaskDraft("t-1", "Call the partner", "SLA", owner, due)
    sandbox.faults.set(FaultPlan(drop_after_at=[1]))  # HubSpot creates it; the answer never arrives

    with pytest.raises(CrmError):
        provisioned.create_tasks([draft])
    sandbox.faults.clear()
    sandbox.log.clear()
    [again] = provisioned.create_tasks([draft])

    tasks = sandbox.emulator.dump()["objects"]["tasks"]
    assert len(tasks) == 1 and again.ok and not again.created
    [search] = _bodies(sandbox, "/tasks/search")
    assert search == {
        "filterGroups": [
            {
                "filters": [
                    {"propertyName": "hubspot_owner_id", "operator": "EQ", "value": owner},
                    {"propertyName": "hs_timestamp", "operator": "EQ", "value": "1796648400000"},
                    {"propertyName": "hs_task_subject", "operator": "EQ", "value": "Call the partner"},
                ]
            }
        ],
        "sorts": ["hs_createdate"],
        "properties": ["hs_task_subject"],
        "limit": 1,
        "after": "0",
    }
    assert sandbox.request_count() == 1


def test_a_task_is_written_with_its_subject_body_due_time_owner_and_record(
    provisioned: HubSpotAdapter, sandbox: Sandbox
) -> None:
    from crm_bridge.ports import RecordRef

    partner = _partner(sandbox, provisioned)
    owner = provisioned.list_users()[0].crm_id
    due = datetime(2026, 12, 7, 13, 0, tzinfo=UTC)
    sandbox.log.clear()

    provisioned.create_tasks(
        [
            TaskDraft("t-1", "Call", "SLA", owner, due, RecordRef(Entity.PARTNER, partner)),
            TaskDraft("t-2", "Mail", "SLA 2", owner, due, RecordRef(Entity.LEAD, "123")),
        ]
    )

    [create] = _bodies(sandbox, "/tasks/batch/create")
    props = {
        "hs_task_subject": "Call",
        "hs_task_body": "SLA",
        "hs_timestamp": "1796648400000",
        "hubspot_owner_id": owner,
        "hs_task_status": "NOT_STARTED",
        "hs_task_type": "TODO",
    }
    assert create["inputs"][0] == {
        "properties": props,
        "associations": [
            {
                "to": {"id": partner},
                "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 192}],
            }
        ],
        "objectWriteTraceId": "t-1",
    }
    assert create["inputs"][1]["associations"][0]["types"][0]["associationTypeId"] == 216


def test_a_refused_batch_fails_each_of_its_inputs_and_a_server_error_is_raised(
    provisioned: HubSpotAdapter, sandbox: Sandbox
) -> None:
    p1, p2 = (_partner(sandbox, provisioned) for _ in range(2))
    updates = [PartnerUpdate(p1, {"tier": "gold"}), PartnerUpdate(p2, {"tier": "gold"})]
    sandbox.faults.set(FaultPlan(sequence=[409]))

    refused = provisioned.update_partners(updates)
    sandbox.faults.set(FaultPlan(sequence=[503] * 10))
    with pytest.raises(CrmError) as caught:
        provisioned.update_partners(updates)

    assert [o.crm_id for o in refused] == [None, None]
    assert all(
        (o.error or "").startswith(
            "hubspot: POST /crm/v3/objects/companies/batch/update answered HTTP 409 ERROR: error "
            "(correlationId "
        )
        for o in refused
    )
    assert refused[0].error == refused[1].error and caught.value.status == 503


def test_drafts_refused_before_sending_cost_no_create(provisioned: HubSpotAdapter, sandbox: Sandbox) -> None:
    partner = _partner(sandbox, provisioned)
    provisioned.create_leads([LeadDraft("warm", partner, "Warm-up")])  # the partner is known now
    sandbox.log.clear()

    outcomes = provisioned.create_leads([LeadDraft(f"e{i}", partner, "L", stage="nowhere") for i in range(2)])

    assert [o.error for o in outcomes] == [
        "unknown stage 'nowhere' of funnel 'leads'; run crm-bridge provision"
    ] * 2
    assert sandbox.request_count() == 0
