"""The intake write port (``LeadIntakeWriter``) on every target: leads never sent before are created in
the CRM's largest batches without a lookup (ceil(N/50) requests on Bitrix24, ceil(N/250) on amoCRM,
ceil(N/100) on HubSpot, counted from the sandbox's request log), found again by external id, and
partners looked up by id (a company id that is no partner is absent)."""

from __future__ import annotations

import math
from typing import Any

from contract_targets import ContractTarget
from layout_fixtures import desired_layout, provision

from crm_bridge.ports import LeadDraft, LeadIntakeWriter, capabilities_of

LEADS = 260  # more than one batch on every CRM


def _drafts(partner: str, n: int, prefix: str = "in") -> list[LeadDraft]:
    return [LeadDraft(external_id=f"{prefix}-{i}", partner_id=partner, title=f"Lead {i}") for i in range(n)]


def _requests(crm: ContractTarget) -> int:
    """Requests the CRM received so far (the sandbox's log; the FakeCRM counts its calls)."""
    sandbox: Any = getattr(crm.seeder, "sandbox", None)
    if sandbox is not None:
        return int(sandbox.request_count())
    calls: Any = crm.adapter.calls  # type: ignore[attr-defined]
    return int(sum(calls.values()))


def test_new_leads_go_in_the_crms_largest_batches_without_a_lookup_and_are_found_by_external_id(
    crm: ContractTarget,
) -> None:
    provision(crm.adapter, desired_layout())
    partner = crm.seeder.partner("ООО «Вектор»")
    adapter = crm.adapter
    assert isinstance(adapter, LeadIntakeWriter)
    adapter.find_partners([partner])  # warms what an adapter caches about partners (HubSpot)
    before = _requests(crm)

    outcomes = adapter.send_leads(_drafts(partner, LEADS))

    batch = capabilities_of(adapter).write_batch
    assert _requests(crm) - before == math.ceil(LEADS / batch)
    assert all(o.ok and o.created and o.crm_id and not o.uncertain for o in outcomes)
    found = adapter.find_leads([f"in-{i}" for i in range(LEADS)] + ["never-sent"])
    assert found == {o.external_id: o.crm_id for o in outcomes}


def test_partners_are_looked_up_by_id_and_a_plain_company_or_unknown_id_is_not_a_partner(
    crm: ContractTarget,
) -> None:
    provision(crm.adapter, desired_layout())
    partner = crm.seeder.partner("ООО «Вектор»")
    adapter = crm.adapter
    assert isinstance(adapter, LeadIntakeWriter)

    found = adapter.find_partners([partner, "987654321", "not-an-id"])

    assert set(found) == {partner}
    assert found[partner].name == "ООО «Вектор»"
