"""The HubSpot adapter's lead-intake port on the emulator: a chunk whose answer is lost after the HTTP
layer's retries makes its drafts uncertain (named as such), ``find_leads`` needs the external-id
property, ``find_partners`` reads only HubSpot ids and only companies carrying a partner type."""

from __future__ import annotations

import pytest
from hs_support import MemoryKV, Sleeps, config, make_adapter, provision

from crm_bridge.domain.layout import FieldEntity
from crm_bridge.errors import CrmValidationError
from crm_bridge.ports import LeadDraft
from crm_bridge.sandbox.faults import FaultPlan
from crm_bridge.sandbox.server import Sandbox
from crm_bridge_hubspot import HubSpotAdapter


def test_a_chunk_whose_answer_is_lost_makes_its_drafts_uncertain(sandbox: Sandbox, kv: MemoryKV) -> None:
    made = make_adapter(config(sandbox, http={"max_retries": 0}), kv, Sleeps())
    try:
        provision(made)
        ptype = made.catalog().field(FieldEntity.PARTNER, "partner_type")
        assert ptype is not None
        partner = str(
            sandbox.emulator.seed({"companies": [{"properties": {"name": "V", ptype.code: "reseller"}}]})[
                "companies"
            ][0]
        )
        sandbox.faults.set(FaultPlan(sequence=[0, 503]))  # the company check, then the create

        outcomes = made.send_leads([LeadDraft("e1", partner, "Lead 1"), LeadDraft("e2", partner, "Lead 2")])
    finally:
        made.close()

    assert [(o.external_id, o.crm_id, o.uncertain) for o in outcomes] == [
        ("e1", None, True),
        ("e2", None, True),
    ]
    assert all(
        (o.error or "").startswith(
            "HubSpot's answer was lost after the request was sent: hubspot: POST "
            "/crm/v3/objects/deals/batch/create answered HTTP 503 INTERNAL_ERROR: service unavailable"
        )
        for o in outcomes
    )


def test_finding_leads_before_provisioning_says_to_provision(adapter: HubSpotAdapter) -> None:
    with pytest.raises(
        CrmValidationError, match=r"^the external-id property is missing: run crm-bridge provision$"
    ):
        adapter.find_leads(["e1"])


def test_find_partners_reads_hubspot_ids_only_and_skips_companies_without_a_partner_type(
    provisioned: HubSpotAdapter, sandbox: Sandbox
) -> None:
    ptype = provisioned.catalog().field(FieldEntity.PARTNER, "partner_type")
    assert ptype is not None
    partner, plain = (
        str(i)
        for i in sandbox.emulator.seed(
            {
                "companies": [
                    {"properties": {"name": "P", ptype.code: "integrator"}},
                    {"properties": {"name": "C"}},
                ]
            }
        )["companies"]
    )
    sandbox.log.clear()

    none = provisioned.find_partners(["abc", ""])
    sent = sandbox.request_count()
    found = provisioned.find_partners([partner, plain, partner, "abc"])

    assert none == {} and sent == 0 and sandbox.request_count() == 1
    assert list(found) == [partner] and found[partner].name == "P" and found[partner].type is not None
    assert found[partner].type.value == "integrator"
