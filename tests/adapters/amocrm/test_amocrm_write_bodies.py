"""What the adapter writes to amoCRM, body for body (read from the sandbox's request log): leads with
and without a customer, deals, updates of leads and companies, refusals of single items, the intake's
send path (no lookup, a lost answer made uncertain) and the partner lookup by id."""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from amo_support import LEAD_STAGES, counts, seed_partner

from crm_bridge.domain.layout import FieldEntity
from crm_bridge.domain.model import CustomerIdentity, PartnerType
from crm_bridge.errors import CrmValidationError
from crm_bridge.ports import DealDraft, Entity, LeadDraft, PartnerUpdate, RecordUpdate, WriteOutcome
from crm_bridge.sandbox.faults import FaultPlan
from crm_bridge.sandbox.server import Sandbox
from crm_bridge_amocrm import AmoCrmAdapter

# the sandbox's ids after provisioning the default layout
LEADS_PIPELINE, REPEAT_PIPELINE = 7000003, 7000005
FIRST, SECOND = 60000011, 60000012  # the lead pipeline's first two statuses
# field and enum ids depend on which entity's fields amoCRM created first: read from the catalog


def _fid(adapter: AmoCrmAdapter, entity: FieldEntity, key: str) -> int:
    info = adapter.catalog().field(entity, key)
    assert info is not None
    return int(info.code)


def _enum(adapter: AmoCrmAdapter, entity: FieldEntity, key: str, option: str) -> int:
    info = adapter.catalog().field(entity, key)
    assert info is not None
    return info.options[option]


def _bodies(sandbox: Sandbox, method: str, endpoint: str) -> list[Any]:
    return [
        json.loads(e["body"])
        for e in sandbox.requests()
        if e["method"] == method and e["endpoint"] == endpoint
    ]


def test_a_lead_with_a_customer_goes_with_its_contact_and_comment(
    provisioned: AmoCrmAdapter, sandbox: Sandbox
) -> None:
    partner = seed_partner(sandbox, provisioned)
    sandbox.log.clear()
    draft = LeadDraft(
        "ext-1",
        partner,
        "Lead one",
        customer=CustomerIdentity(phone="+79161234567", email="buyer@example.com"),
        amount=Decimal("10.5"),
        stage=LEAD_STAGES[1],
        manager_user_id="8000003",
        conflict=True,
        comment="Call after 5 pm",
    )

    outcomes = provisioned.create_leads([draft])

    assert outcomes == [WriteOutcome("ext-1", "20000001", created=True)]
    assert _bodies(sandbox, "POST", "/api/v4/leads/complex") == [
        [
            {
                "name": "Lead one",
                "price": 11,  # half up
                "pipeline_id": LEADS_PIPELINE,
                "status_id": SECOND,
                "responsible_user_id": 8000003,
                "custom_fields_values": [
                    {
                        "field_id": _fid(provisioned, FieldEntity.LEAD, "external_id"),
                        "values": [{"value": "ext-1"}],
                    },
                    {
                        "field_id": _fid(provisioned, FieldEntity.LEAD, "partner_ref"),
                        "values": [{"value": int(partner)}],
                    },
                    {
                        "field_id": _fid(provisioned, FieldEntity.LEAD, "conflict"),
                        "values": [{"enum_id": _enum(provisioned, FieldEntity.LEAD, "conflict", "yes")}],
                    },
                ],
                "_embedded": {
                    "companies": [{"id": int(partner)}],
                    "contacts": [
                        {
                            "name": "buyer@example.com",  # no name: the e-mail
                            "custom_fields_values": [
                                {
                                    "field_code": "PHONE",
                                    "values": [{"value": "+79161234567", "enum_code": "WORK"}],
                                },
                                {
                                    "field_code": "EMAIL",
                                    "values": [{"value": "buyer@example.com", "enum_code": "WORK"}],
                                },
                            ],
                            "responsible_user_id": 8000003,
                        }
                    ],
                },
                "request_id": "0",
            }
        ]
    ]
    assert _bodies(sandbox, "POST", "/api/v4/leads/notes") == [
        [
            {
                "entity_id": 20000001,
                "note_type": "service_message",
                "params": {"service": "crm-bridge", "text": "Call after 5 pm"},
                "request_id": "0",
            }
        ]
    ]
    lookup = next(e for e in sandbox.requests() if e["method"] == "GET")
    assert lookup["query"] == {
        f"filter[custom_fields_values][{_fid(provisioned, FieldEntity.LEAD, 'external_id')}][]": ["ext-1"],
        "order[id]": ["asc"],
        "page": ["1"],
        "limit": ["250"],
    }


@pytest.mark.parametrize(
    ("customer_name", "customer", "expected"),
    [
        ("Buyer", CustomerIdentity(email="b@example.com", tax_id="7707083893"), "Buyer (ИНН 7707083893)"),
        ("", CustomerIdentity(phone="+79160000000"), "+79160000000"),
        ("", CustomerIdentity(tax_id="7707083893"), "Lead (ИНН 7707083893)"),
        ("Б" * 300, CustomerIdentity(), "Б" * 255),
    ],
)
def test_the_contacts_name_falls_back_to_email_phone_then_title(
    provisioned: AmoCrmAdapter,
    sandbox: Sandbox,
    customer_name: str,
    customer: CustomerIdentity,
    expected: str,
) -> None:
    draft = LeadDraft("ext-1", "", "Lead", customer_name=customer_name, customer=customer)

    [outcome] = provisioned.create_leads([draft])

    [[body]] = _bodies(sandbox, "POST", "/api/v4/leads/complex")
    [contact] = body["_embedded"]["contacts"]
    assert outcome.created and contact["name"] == expected
    assert "responsible_user_id" not in contact and "companies" not in body["_embedded"]
    fields = [v["field_code"] for v in contact.get("custom_fields_values", [])]
    assert fields == [c for c, v in (("PHONE", customer.phone), ("EMAIL", customer.email)) if v]


def test_a_lead_without_customer_partner_or_manager_is_a_plain_add(
    provisioned: AmoCrmAdapter, sandbox: Sandbox
) -> None:
    [outcome] = provisioned.create_leads([LeadDraft("ext-1", "", "Lead")])

    assert outcome.created
    assert _bodies(sandbox, "POST", "/api/v4/leads") == [
        [
            {
                "name": "Lead",
                "price": 0,
                "pipeline_id": LEADS_PIPELINE,
                "status_id": FIRST,
                "custom_fields_values": [
                    {
                        "field_id": _fid(provisioned, FieldEntity.LEAD, "external_id"),
                        "values": [{"value": "ext-1"}],
                    }
                ],
                "request_id": "0",
            }
        ]
    ]
    assert "POST /api/v4/leads/notes" not in counts(sandbox)  # no comment, no note


def test_a_deal_goes_to_its_pipeline_with_its_partner_and_responsible(
    provisioned: AmoCrmAdapter, sandbox: Sandbox
) -> None:
    partner = seed_partner(sandbox, provisioned)
    sandbox.log.clear()

    [outcome] = provisioned.create_deals(
        [
            DealDraft(
                "d-1",
                "repeat",
                "Deal",
                partner_id=partner,
                amount=Decimal("99.5"),
                responsible_user_id="8000002",
            )
        ]
    )

    assert outcome.created and outcome.crm_id
    assert _bodies(sandbox, "POST", "/api/v4/leads") == [
        [
            {
                "name": "Deal",
                "price": 100,
                "pipeline_id": REPEAT_PIPELINE,
                "status_id": 60000017,
                "responsible_user_id": 8000002,
                "custom_fields_values": [
                    {
                        "field_id": _fid(provisioned, FieldEntity.LEAD, "external_id"),
                        "values": [{"value": "d-1"}],
                    },
                    {
                        "field_id": _fid(provisioned, FieldEntity.LEAD, "partner_ref"),
                        "values": [{"value": int(partner)}],
                    },
                ],
                "_embedded": {"companies": [{"id": int(partner)}]},
                "request_id": "0",
            }
        ]
    ]
    assert counts(sandbox) == {"GET /api/v4/leads": 1, "POST /api/v4/leads": 1}  # a deal has no note


def test_drafts_that_cannot_be_built_fail_alone_with_their_reason(
    provisioned: AmoCrmAdapter, sandbox: Sandbox
) -> None:
    outcomes = provisioned.create_leads(
        [
            LeadDraft("ext-1", "", "Lead", stage="nowhere"),
            LeadDraft("ext-2", "not-a-number", "Lead"),
            LeadDraft("ext-3", "", "Lead"),
        ]
    )
    deals = provisioned.create_deals([DealDraft("d-1", "no_such_funnel", "Deal")])

    assert [(o.external_id, o.ok, o.error) for o in outcomes] == [
        ("ext-1", False, "no stage 'nowhere' in the leads pipeline"),
        ("ext-2", False, "partner id 'not-a-number' is not an amoCRM id"),
        ("ext-3", True, None),
    ]
    assert [(o.ok, o.error) for o in deals] == [
        (False, "the no_such_funnel pipeline is not in amoCRM yet: run crm-bridge provision")
    ]


def test_a_refused_lead_carries_amocrms_reason(provisioned: AmoCrmAdapter, sandbox: Sandbox) -> None:
    [outcome] = provisioned.create_leads([LeadDraft("ext-1", "987654321", "Lead")])

    assert not outcome.ok and outcome.error is not None
    assert outcome.error.startswith("_embedded.companies")  # the service says who refused


def test_the_same_external_id_twice_is_created_once(provisioned: AmoCrmAdapter, sandbox: Sandbox) -> None:
    outcomes = provisioned.create_leads([LeadDraft("ext-1", "", "A"), LeadDraft("ext-1", "", "B")])

    assert outcomes[0] == outcomes[1] and outcomes[0].created
    assert len(_bodies(sandbox, "POST", "/api/v4/leads")[0]) == 1


# -- updates ------------------------------------------------------------------------------------------


def test_a_deal_update_moves_renames_reprices_and_reassigns_in_one_patch(
    provisioned: AmoCrmAdapter, sandbox: Sandbox
) -> None:
    [deal] = provisioned.create_deals([DealDraft("d-1", "repeat", "Deal")])
    sandbox.log.clear()
    stage = provisioned.catalog().stages[f"{REPEAT_PIPELINE}:60000018"].key
    update = RecordUpdate(
        Entity.DEAL,
        str(deal.crm_id),
        stage=stage,  # named only in the repeat pipeline: its funnel is found
        responsible_user_id="8000003",
        fields={"amount": Decimal("7.5"), "title": "Renamed", "external_id": "d-9"},
    )

    [outcome] = provisioned.update_records([update])

    assert outcome == WriteOutcome(str(deal.crm_id), str(deal.crm_id))
    assert _bodies(sandbox, "PATCH", "/api/v4/leads") == [
        [
            {
                "id": int(str(deal.crm_id)),
                "pipeline_id": REPEAT_PIPELINE,
                "status_id": 60000018,
                "responsible_user_id": 8000003,
                "price": 8,
                "name": "Renamed",
                "custom_fields_values": [
                    {
                        "field_id": _fid(provisioned, FieldEntity.LEAD, "external_id"),
                        "values": [{"value": "d-9"}],
                    }
                ],
                "request_id": "0",
            }
        ]
    ]


def test_a_lead_update_stays_in_the_lead_pipeline_and_bad_updates_fail_alone(
    provisioned: AmoCrmAdapter, sandbox: Sandbox
) -> None:
    [lead] = provisioned.create_leads([LeadDraft("ext-1", "", "Lead")])
    sandbox.log.clear()
    lead_id = str(lead.crm_id)

    outcomes = provisioned.update_records(
        [
            RecordUpdate(Entity.LEAD, lead_id, stage=LEAD_STAGES[1]),
            RecordUpdate(Entity.LEAD, "abc"),
            RecordUpdate(Entity.LEAD, lead_id, fields={"nope": 1}),
            RecordUpdate(Entity.DEAL, lead_id, stage="deal_closed"),  # won: in every pipeline
            RecordUpdate(Entity.LEAD, lead_id, responsible_user_id="someone"),
        ]
    )

    assert [(o.external_id, o.crm_id, o.error) for o in outcomes] == [
        (lead_id, lead_id, None),
        ("abc", None, "record id 'abc' is not an amoCRM id"),
        (lead_id, None, "no field 'nope' on amoCRM leads; run crm-bridge provision"),
        (lead_id, None, "stage 'deal_closed' does not name one pipeline: give the funnel"),
        (lead_id, None, "user id 'someone' is not an amoCRM id"),
    ]
    assert _bodies(sandbox, "PATCH", "/api/v4/leads") == [
        [{"id": int(lead_id), "pipeline_id": LEADS_PIPELINE, "status_id": SECOND, "request_id": "0"}]
    ]


def test_an_update_amocrm_refuses_carries_its_reason(provisioned: AmoCrmAdapter, sandbox: Sandbox) -> None:
    [outcome] = provisioned.update_records([RecordUpdate(Entity.LEAD, "99999999", fields={"title": "x"})])

    assert outcome.crm_id is None and outcome.error and outcome.error != "None"


def test_a_partner_update_writes_each_field_type(provisioned: AmoCrmAdapter, sandbox: Sandbox) -> None:
    partner = seed_partner(sandbox, provisioned)
    provisioned.writes.user_ids = {"anna": "8000002"}  # the curator keys of the config
    sandbox.log.clear()

    outcomes = provisioned.update_partners(
        [
            PartnerUpdate(
                partner,
                {
                    "tier": "gold",
                    "curator": "anna",
                    "partner_since": datetime(2026, 1, 2, tzinfo=UTC),
                    "training_completed": True,
                    "score_total": Decimal("4.5"),
                    "score_reputation": "3",
                },
            ),
            PartnerUpdate("x", {}),
            PartnerUpdate(partner, {"zzz": 1}),
            PartnerUpdate(partner, {"tier": "diamond"}),
        ]
    )

    assert [(o.crm_id, o.error) for o in outcomes] == [
        (partner, None),
        (None, "company id 'x' is not an amoCRM id"),
        (None, "no partner field 'zzz' in amoCRM; run crm-bridge provision"),
        (
            None,
            f"option 'diamond' does not exist in field #{_fid(provisioned, FieldEntity.PARTNER, 'tier')}; "
            "run crm-bridge provision",
        ),
    ]
    assert _bodies(sandbox, "PATCH", "/api/v4/companies") == [
        [
            {
                "id": int(partner),
                "custom_fields_values": [
                    {
                        "field_id": _fid(provisioned, FieldEntity.PARTNER, "tier"),
                        "values": [{"enum_id": _enum(provisioned, FieldEntity.PARTNER, "tier", "gold")}],
                    },
                    {
                        "field_id": _fid(provisioned, FieldEntity.PARTNER, "curator"),
                        "values": [{"value": 8000002}],
                    },
                    {
                        "field_id": _fid(provisioned, FieldEntity.PARTNER, "partner_since"),
                        "values": [{"value": 1767312000}],
                    },
                    {
                        "field_id": _fid(provisioned, FieldEntity.PARTNER, "training_completed"),
                        "values": [
                            {"enum_id": _enum(provisioned, FieldEntity.PARTNER, "training_completed", "yes")}
                        ],
                    },
                    {
                        "field_id": _fid(provisioned, FieldEntity.PARTNER, "score_total"),
                        "values": [{"value": "4.5"}],
                    },
                    {
                        "field_id": _fid(provisioned, FieldEntity.PARTNER, "score_reputation"),
                        "values": [{"value": 3}],
                    },
                ],
                "request_id": "0",
            }
        ]
    ]
    partners = provisioned.find_partners([partner])
    assert partners[partner].tier == "gold" and partners[partner].training_completed is True


def test_clearing_a_partner_field_sends_no_values(provisioned: AmoCrmAdapter, sandbox: Sandbox) -> None:
    partner = seed_partner(sandbox, provisioned)
    sandbox.log.clear()

    [outcome] = provisioned.update_partners([PartnerUpdate(partner, {"tier": None, "curator": ""})])

    assert outcome.ok
    assert _bodies(sandbox, "PATCH", "/api/v4/companies")[0][0]["custom_fields_values"] == [
        {"field_id": _fid(provisioned, FieldEntity.PARTNER, "tier"), "values": None},
        {"field_id": _fid(provisioned, FieldEntity.PARTNER, "curator"), "values": None},
    ]


# -- intake ---------------------------------------------------------------------------------------------


def test_intake_sends_without_a_lookup_and_refuses_a_repeated_external_id(
    provisioned: AmoCrmAdapter, sandbox: Sandbox
) -> None:
    outcomes = provisioned.send_leads(
        [
            LeadDraft("ext-1", "", "A", comment="first"),
            LeadDraft("ext-1", "", "B"),
            LeadDraft("ext-2", "", "C", stage="nowhere"),
            LeadDraft("ext-3", "", "D", comment="  "),
        ]
    )

    assert [(o.external_id, o.created, o.error) for o in outcomes] == [
        ("ext-1", True, None),
        ("ext-1", False, "the same external id twice in one call"),
        ("ext-2", False, "no stage 'nowhere' in the leads pipeline"),
        ("ext-3", True, None),
    ]
    assert counts(sandbox) == {"POST /api/v4/leads": 1, "POST /api/v4/leads/notes": 1}
    assert [n["params"]["text"] for n in _bodies(sandbox, "POST", "/api/v4/leads/notes")[0]] == ["first"]
    assert provisioned.find_leads(["ext-1", "ext-3", "ext-9"]) == {
        "ext-1": outcomes[0].crm_id,
        "ext-3": outcomes[3].crm_id,
    }
    assert provisioned.find_leads([]) == {}


def test_intake_makes_the_leads_of_a_lost_answer_uncertain(
    provisioned: AmoCrmAdapter, sandbox: Sandbox
) -> None:
    sandbox.faults.set(FaultPlan(drop_after_at=[1]))  # amoCRM writes the leads, the answer is lost

    outcomes = provisioned.send_leads([LeadDraft("ext-1", "", "A", comment="hello")])

    [outcome] = outcomes
    assert outcome.uncertain and outcome.crm_id is None and not outcome.created
    assert (outcome.error or "").startswith("amoCRM's answer was lost after the request was sent: ")
    assert counts(sandbox) == {"POST /api/v4/leads": 1}  # not resent blindly, no note for it


def test_intake_leads_stand_when_their_comments_fail(
    provisioned: AmoCrmAdapter, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    sandbox.faults.set(FaultPlan(sequence=[0, 503, 503, 503, 503, 503, 503, 503]))

    with caplog.at_level(logging.WARNING, logger="crm_bridge_amocrm"):
        outcomes = provisioned.send_leads([LeadDraft("ext-1", "", "A", comment="hello")])

    assert outcomes[0].ok and outcomes[0].created
    assert any(
        r.getMessage().startswith("amoCRM: the intake comments of 1 lead(s) were not written: ")
        for r in caplog.records
    )


def test_partners_by_id_skip_plain_companies_unknown_and_non_numeric_ids(
    provisioned: AmoCrmAdapter, sandbox: Sandbox
) -> None:
    partner = seed_partner(sandbox, provisioned, name="Vector LLC", ptype="integrator")
    plain = str(sandbox.emulator.seed({"companies": [{"name": "Just a company"}]})["companies"][0])
    sandbox.log.clear()

    found = provisioned.find_partners([partner, plain, "77777777", "abc", partner])

    assert list(found) == [partner]
    assert (found[partner].name, found[partner].type) == ("Vector LLC", PartnerType.INTEGRATOR)
    [lookup] = sandbox.requests()
    assert lookup["query"] == {"filter[id][]": [partner, plain, "77777777"], "limit": ["250"]}
    assert provisioned.find_partners([]) == {} and provisioned.find_partners(["x"]) == {}


def test_a_missing_external_id_field_is_reported_before_a_lookup(
    provisioned: AmoCrmAdapter, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = provisioned.catalog()
    monkeypatch.delitem(catalog.fields, "lead.external_id")

    with pytest.raises(CrmValidationError) as caught:
        provisioned.find_leads(["ext-1"])

    assert str(caught.value) == "the external id field is not in amoCRM yet: run crm-bridge provision"
    assert sandbox.request_count() == 0


def test_a_date_or_a_naive_time_is_written_as_utc_midnight_seconds(
    provisioned: AmoCrmAdapter, sandbox: Sandbox
) -> None:
    partner = seed_partner(sandbox, provisioned)
    sandbox.log.clear()

    provisioned.update_partners(
        [
            PartnerUpdate(partner, {"partner_since": date(2026, 1, 2)}),
            PartnerUpdate(partner, {"partner_since": datetime(2026, 1, 2)}),  # noqa: DTZ001 - naive on purpose
        ]
    )

    [[first, second]] = _bodies(sandbox, "PATCH", "/api/v4/companies")
    assert first["custom_fields_values"][0]["values"] == [{"value": 1767312000}]
    assert second["custom_fields_values"][0]["values"] == [{"value": 1767312000}]
