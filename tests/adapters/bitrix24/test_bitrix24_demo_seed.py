"""The demo's seeding of a Bitrix24 sandbox (the plugin's ``DemoSupport.seed``): the generated partner
network lands in the portal as users, companies and deals in the provisioned funnels."""

from __future__ import annotations

from datetime import UTC, datetime

from crm_bridge.demo_network import generate
from crm_bridge.domain.model import PartnerType
from crm_bridge.sandbox.server import Sandbox
from crm_bridge_bitrix24 import Bitrix24Adapter
from crm_bridge_bitrix24.plugin import ADAPTER


def test_the_demo_network_is_seeded_into_the_provisioned_portal(
    sandbox: Sandbox, provisioned: Bitrix24Adapter
) -> None:
    net = generate(datetime(2026, 12, 1, tzinfo=UTC), seed=3, per_type=1, months=1, fresh_leads=2)
    assert ADAPTER.demo is not None

    counts = ADAPTER.demo.seed(sandbox.emulator, provisioned, net)

    assert counts == {
        "users": 7,
        "partners": len(PartnerType),
        "prospects": 6,
        "leads": 11,
        "repeat_deals": 5,
        "deals_created": 16,
    }
    records = sandbox.emulator.dump()["records"]
    assert len(records["company"]) == 4 + 6 and len(records["deal"]) == 16 + 6  # a card per prospect
    assert {p.name for p in net.partners} <= {c["TITLE"] for c in records["company"]}
