"""The HubSpot section's defaults an admin does not write."""

from __future__ import annotations

from pydantic import HttpUrl

from crm_bridge_hubspot.config import HubSpotConfig


def test_the_api_address_defaults_to_hubspots_own_as_a_validated_url() -> None:
    config = HubSpotConfig(access_token="t")

    assert isinstance(config.base_url, HttpUrl)
    assert str(config.base_url) == "https://api.hubapi.com/"
