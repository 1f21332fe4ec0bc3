"""The HubSpot adapter's declaration (entry point ``crm_bridge.adapters: hubspot``). Cheap to import:
the adapter itself is built by ``create`` when a command needs it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from crm_bridge.plugin import AdapterSpec, DemoSupport
from crm_bridge_hubspot.config import CAPABILITIES, HubSpotConfig

if TYPE_CHECKING:
    from crm_bridge.ports import AdapterContext, CrmAdapter  # annotations only

TOKEN_VARIABLE = "HUBSPOT_ACCESS_TOKEN"  # noqa: S105 (a name, not a secret)
NO_WAIT = {"per_ten_seconds": 1_000_000, "search_per_second": 100_000, "daily_limit": 100_000_000}


def instance_url(config: HubSpotConfig) -> str:
    """The API base URL (no secret in it)."""
    return str(config.base_url)


def limiter_key(config: HubSpotConfig) -> str:
    """The budget key shared by every process talking to this account: ``hubspot:<host>`` (no secret)."""
    parts = urlsplit(str(config.base_url))
    return f"hubspot:{parts.hostname or ''}" + (f":{parts.port}" if parts.port else "")


def _create(settings: Any, ctx: AdapterContext) -> CrmAdapter:
    from crm_bridge_hubspot import create_adapter

    return create_adapter(settings, ctx)


def _demo_section(snippet: Mapping[str, Any], rate_limited: bool) -> tuple[dict[str, Any], dict[str, str]]:
    hubspot = dict(snippet["crm"]["hubspot"])
    section: dict[str, Any] = {
        "base_url": hubspot["base_url"],
        "access_token": "${" + TOKEN_VARIABLE + "}",
        "tier": "professional",  # four partner pipelines need more than Starter's two
    }
    if not rate_limited:
        section.update(NO_WAIT)
    return section, {TOKEN_VARIABLE: str(snippet["env"][TOKEN_VARIABLE])}


def _shipped_mapping() -> str:
    from crm_bridge_hubspot.mapping import shipped_mapping

    return shipped_mapping()


def _demo_seed(emulator: Any, adapter: Any, network: Any) -> dict[str, int]:
    from crm_bridge_hubspot.sandbox.demo import seed_network

    return seed_network(emulator, adapter.catalog(), network)


ADAPTER = AdapterSpec(
    name="hubspot",
    title="HubSpot",
    distribution="crm-bridge-hubspot",
    config_model=HubSpotConfig,
    create=_create,
    instance_url=instance_url,
    secret_variables={
        ("access_token",): TOKEN_VARIABLE,
        ("oauth", "client_id"): "HUBSPOT_CLIENT_ID",
        ("oauth", "client_secret"): "HUBSPOT_CLIENT_SECRET",
        ("oauth", "refresh_token"): "HUBSPOT_REFRESH_TOKEN",
        ("webhook_secret",): "HUBSPOT_WEBHOOK_SECRET",
    },
    # Private-app tokens: pat-<region>-<uuid>
    redaction_rules=((re.compile(r"\bpat-[a-z0-9]{2,4}-[A-Za-z0-9-]{8,}"), "pat-***"),),
    # 100 inputs per batch call; HubSpot stages have no colour.
    capabilities=CAPABILITIES,
    default_mapping=_shipped_mapping,
    demo=DemoSupport(
        crm_section=_demo_section,
        seed=_demo_seed,
        limits_note="HubSpot Professional: 190 requests per 10 s, 5 searches/s",
        priority=5,
    ),
)
