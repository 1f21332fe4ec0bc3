"""Two configured tiers shown under the same name: both take over HubSpot's option of that name, and the
tier property ends with the two of them in place of the old one."""

from __future__ import annotations

from hs_support import MemoryKV, Sleeps, config, make_adapter, provision, request_bodies

from crm_bridge.domain.funnels import default_funnels, desired_layout
from crm_bridge.domain.model import PartnerType
from crm_bridge.sandbox.server import Sandbox


def test_two_tiers_of_one_name_both_take_over_the_option_of_that_name(sandbox: Sandbox) -> None:
    before = desired_layout(default_funnels(), "en", {"legacy": "Gold"}, tuple(PartnerType))
    after = desired_layout(default_funnels(), "en", {"gold_a": "Gold", "gold_b": "Gold"}, tuple(PartnerType))
    first = make_adapter(config(sandbox), MemoryKV(), Sleeps())
    provision(first, before)
    first.close()
    sandbox.log.clear()

    adapter = make_adapter(config(sandbox), MemoryKV(), Sleeps())
    provision(adapter, after)

    [tier] = request_bodies(sandbox, "/crm/v3/properties/companies/crm_bridge_partner_tier")
    assert [o["value"] for o in tier["options"]] == ["gold_a", "gold_b"]
    adapter.close()
