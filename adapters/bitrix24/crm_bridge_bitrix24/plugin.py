"""The Bitrix24 adapter's declaration (entry point ``crm_bridge.adapters: bitrix24``). Cheap to import:
the adapter itself is built by ``create`` when a command needs it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pydantic import SecretStr

from crm_bridge.plugin import AdapterSpec, DemoSupport
from crm_bridge_bitrix24.config import CAPABILITIES, Bitrix24Config

if TYPE_CHECKING:
    from crm_bridge.ports import AdapterContext, CrmAdapter  # annotations only

WEBHOOK_VARIABLE = "B24_WEBHOOK_URL"
NO_WAIT = {"burst": 10_000, "per_second": 10_000}


def instance_url(config: Bitrix24Config) -> str:
    """The portal's address: the OAuth portal URL, or the webhook URL (the caller keeps only the host)."""
    if config.oauth is not None:
        return str(config.oauth.portal_url)
    return (config.webhook_url or SecretStr("")).get_secret_value()


def limiter_key(config: Bitrix24Config) -> str:
    """The limiter key shared by every process talking to this portal: ``bitrix24:<host>`` (no secret)."""
    parts = urlsplit(instance_url(config))
    return f"bitrix24:{parts.hostname or ''}" + (f":{parts.port}" if parts.port else "")


def _create(settings: Any, ctx: AdapterContext) -> CrmAdapter:
    from crm_bridge_bitrix24 import create_adapter

    return create_adapter(settings, ctx)


def _demo_section(snippet: Mapping[str, Any], rate_limited: bool) -> tuple[dict[str, Any], dict[str, str]]:
    section: dict[str, Any] = {"webhook_url": "${" + WEBHOOK_VARIABLE + "}", "plan": "standard"}
    if not rate_limited:
        section["rate_limit"] = dict(NO_WAIT)
    return section, {WEBHOOK_VARIABLE: str(snippet["env"][WEBHOOK_VARIABLE])}


def _shipped_mapping() -> str:
    from crm_bridge_bitrix24.mapping import shipped_mapping

    return shipped_mapping()


def _demo_seed(emulator: Any, adapter: Any, network: Any) -> dict[str, int]:
    from crm_bridge_bitrix24.sandbox.demo import seed_network

    return seed_network(emulator, adapter.catalog(), network)


ADAPTER = AdapterSpec(
    name="bitrix24",
    title="Bitrix24",
    distribution="crm-bridge-bitrix24",
    config_model=Bitrix24Config,
    create=_create,
    instance_url=instance_url,
    secret_variables={
        ("webhook_url",): WEBHOOK_VARIABLE,
        ("oauth", "client_id"): "B24_CLIENT_ID",
        ("oauth", "client_secret"): "B24_CLIENT_SECRET",
        ("application_token",): "B24_APPLICATION_TOKEN",
    },
    # The inbound webhook carries its secret in the path: https://portal/rest/<user id>/<secret>/method
    redaction_rules=((re.compile(r"(/rest/\d+/)[A-Za-z0-9_-]{6,}(?=/|\b|$)"), r"\1***"),),
    capabilities=CAPABILITIES,
    default_mapping=_shipped_mapping,
    demo=DemoSupport(
        crm_section=_demo_section,
        seed=_demo_seed,
        limits_note="Bitrix24's standard plan: 2 requests/s, burst 50",
        priority=10,  # the demo's default CRM
    ),
)
