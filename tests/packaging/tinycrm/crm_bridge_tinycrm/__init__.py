"""TinyCRM: the smallest adapter a third party could ship. Its CRM is crm-bridge's in-memory fake, so
the test is about the plugin seam (entry point, config section, secrets, redaction), not a wire API."""

from __future__ import annotations

import re
from typing import Any

from pydantic import HttpUrl, SecretStr

from crm_bridge.config_crm import Strict
from crm_bridge.fake import FakeCRM
from crm_bridge.plugin import AdapterSpec, Capabilities
from crm_bridge.ports import AdapterContext, CrmAdapter


class TinyCrmConfig(Strict):
    base_url: HttpUrl
    api_key: SecretStr


def create(settings: Any, ctx: AdapterContext) -> CrmAdapter:
    return FakeCRM()


ADAPTER = AdapterSpec(
    name="tinycrm",
    title="TinyCRM",
    distribution="crm-bridge-tinycrm",
    config_model=TinyCrmConfig,
    create=create,
    instance_url=lambda config: str(config.base_url),
    secret_variables={("api_key",): "TINYCRM_API_KEY"},
    redaction_rules=((re.compile(r"(tiny-key-)[A-Za-z0-9]+"), r"\1***"),),
    capabilities=Capabilities(write_batch=10, stage_colours="none"),
)
