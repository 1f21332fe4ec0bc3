"""The HubSpot adapter's declaration and mapping file as crm-bridge reads them: the instance URL and the
shared budget key carry no secret, the demo section waits for the limits only when the emulator keeps
them, the shipped mapping is the default, and a mapping override with a bad property name is refused
naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from hs_support import MemoryKV, config

from crm_bridge.errors import ConfigError
from crm_bridge.ports import AdapterContext
from crm_bridge.sandbox.server import Sandbox
from crm_bridge_hubspot import ADAPTER, build_adapter
from crm_bridge_hubspot.config import HubSpotConfig
from crm_bridge_hubspot.mapping import shipped_mapping
from crm_bridge_hubspot.plugin import limiter_key


def test_the_instance_url_and_budget_key_name_the_host_only() -> None:
    remote = HubSpotConfig(access_token="pat-na1-secret")
    local = HubSpotConfig(base_url="http://127.0.0.1:8765/api", access_token="pat-na1-secret")

    assert ADAPTER.instance_url(remote) == "https://api.hubapi.com/"
    assert limiter_key(remote) == "hubspot:api.hubapi.com"
    assert limiter_key(local) == "hubspot:127.0.0.1:8765"


@pytest.mark.parametrize("rate_limited", [True, False])
def test_the_demo_section_waits_for_the_limits_only_when_the_emulator_keeps_them(rate_limited: bool) -> None:
    snippet = {
        "crm": {"hubspot": {"base_url": "http://127.0.0.1:9"}},
        "env": {"HUBSPOT_ACCESS_TOKEN": "pat-x"},
    }
    assert ADAPTER.demo is not None

    section, env = ADAPTER.demo.crm_section(snippet, rate_limited)

    expected: dict[str, object] = {
        "base_url": "http://127.0.0.1:9",
        "access_token": "${HUBSPOT_ACCESS_TOKEN}",
        "tier": "professional",
    }
    if not rate_limited:
        expected.update(per_ten_seconds=1_000_000, search_per_second=100_000, daily_limit=100_000_000)
    assert section == expected and env == {"HUBSPOT_ACCESS_TOKEN": "pat-x"}


def test_the_shipped_mapping_is_the_default() -> None:
    assert ADAPTER.default_mapping is not None
    assert ADAPTER.default_mapping() == shipped_mapping() and "lead_funnel:" in shipped_mapping()


def test_a_mapping_override_with_a_bad_property_name_is_refused_naming_the_key(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    override = tmp_path / "mapping.yaml"
    override.write_text("properties:\n  partner:\n    tier: Partner-Tier\n", encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        build_adapter(config(sandbox), AdapterContext(kv=MemoryKV()), mapping_override=override)

    assert (
        "partner.tier: 'Partner-Tier' is not a HubSpot property name (lower case a-z, 0-9 and _, starting "
        "with a letter)" in str(caught.value)
    )
