"""The amoCRM adapter's declaration (entry point ``crm_bridge.adapters: amocrm``). Cheap to import:
the adapter itself is built by ``create`` when a command needs it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from crm_bridge.plugin import AdapterSpec, DemoSupport
from crm_bridge_amocrm.config import CAPABILITIES, AmoCrmConfig

if TYPE_CHECKING:
    from crm_bridge.ports import AdapterContext, CrmAdapter  # annotations only

TOKEN_VARIABLE = "AMOCRM_ACCESS_TOKEN"  # noqa: S105 (a name, not a secret)
NO_WAIT = {"burst": 10_000, "per_second": 10_000}


def instance_url(config: AmoCrmConfig) -> str:
    return str(config.base_url)


def _create(settings: Any, ctx: AdapterContext) -> CrmAdapter:
    from crm_bridge_amocrm import create_adapter

    return create_adapter(settings, ctx)


def _demo_section(snippet: Mapping[str, Any], rate_limited: bool) -> tuple[dict[str, Any], dict[str, str]]:
    section: dict[str, Any] = {
        "base_url": snippet["crm"]["amocrm"]["base_url"],
        "access_token": "${" + TOKEN_VARIABLE + "}",
    }
    if not rate_limited:
        section["rate_limit"] = dict(NO_WAIT)
    return section, {TOKEN_VARIABLE: str(snippet["env"][TOKEN_VARIABLE])}


def _shipped_mapping() -> str:
    from crm_bridge_amocrm.mapping import shipped_mapping

    return shipped_mapping()


def _demo_seed(emulator: Any, adapter: Any, network: Any) -> dict[str, int]:
    from crm_bridge_amocrm.sandbox.demo import seed_network

    return seed_network(emulator, adapter.catalog(), network)


ADAPTER = AdapterSpec(
    name="amocrm",
    title="amoCRM",
    distribution="crm-bridge-amocrm",
    config_model=AmoCrmConfig,
    create=_create,
    instance_url=instance_url,
    secret_variables={
        ("access_token",): TOKEN_VARIABLE,
        ("oauth", "client_id"): "AMOCRM_CLIENT_ID",
        ("oauth", "client_secret"): "AMOCRM_CLIENT_SECRET",
        ("oauth", "authorization_code"): "AMOCRM_AUTHORIZATION_CODE",
        ("oauth", "refresh_token"): "AMOCRM_REFRESH_TOKEN",
    },
    # amoCRM refresh tokens and authorization codes start with def50200 (long hex strings).
    redaction_rules=((re.compile(r"\bdef50200[0-9a-f]{32,}\b"), "def50200***"),),
    capabilities=CAPABILITIES,
    default_mapping=_shipped_mapping,
    demo=DemoSupport(
        crm_section=_demo_section,
        seed=_demo_seed,
        limits_note="amoCRM: 7 requests/s per integration",
        priority=5,
    ),
)
