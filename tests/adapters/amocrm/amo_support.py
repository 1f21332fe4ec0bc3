"""Helpers shared by the amoCRM adapter tests (imported by this unique name; conftest.py holds the
fixtures): an in-memory state namespace, recorded sleeps, the domain's default layout fitted to
amoCRM's colours, provisioning as the CLI does it, adapters pointed at a sandbox, request counts."""

from __future__ import annotations

import time
from typing import Any

from crm_bridge.config.crm import RateLimitConfig
from crm_bridge.config.funnels import fit_colours
from crm_bridge.domain.funnels import default_funnels, desired_layout
from crm_bridge.domain.layout import DesiredLayout, FieldEntity, ProvisionPlan
from crm_bridge.domain.model import PartnerType, StageKind
from crm_bridge.domain.provisioning import plan
from crm_bridge.ports import AdapterContext
from crm_bridge.sandbox.server import Sandbox
from crm_bridge_amocrm import AmoCrmAdapter, build_adapter
from crm_bridge_amocrm.config import AmoCrmConfig


class MemoryKV:
    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    def get(self, key: str) -> Any | None:
        return self.data.get(key)

    def set(self, key: str, value: Any) -> None:
        self.data[key] = value


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


TIERS = ("bronze", "silver", "gold", "platinum")
DESIRED: DesiredLayout = fit_colours(
    desired_layout(default_funnels(), "en", TIERS, tuple(PartnerType)), "amocrm"
)
LEAD_STAGES = tuple(
    s.key for f in DESIRED.funnels if f.key == "leads" for s in f.stages if s.kind is StageKind.OPEN
)
NO_WAIT = RateLimitConfig(burst=10_000, per_second=10_000)


def provision(adapter: AmoCrmAdapter, desired: DesiredLayout = DESIRED) -> ProvisionPlan:
    computed = plan(desired, adapter.observe_layout())
    if not computed.is_noop:
        adapter.apply_plan(computed)
    return computed


def token_config(sb: Sandbox, **extra: Any) -> AmoCrmConfig:
    extra.setdefault("rate_limit", NO_WAIT)
    snippet = sb.config_snippet()
    return AmoCrmConfig(
        base_url=snippet["crm"]["amocrm"]["base_url"],
        access_token=snippet["env"]["AMOCRM_ACCESS_TOKEN"],
        **extra,
    )


def oauth_config(sb: Sandbox, **extra: Any) -> AmoCrmConfig:
    extra.setdefault("rate_limit", NO_WAIT)
    snippet = sb.config_snippet()
    return AmoCrmConfig(base_url=snippet["crm"]["amocrm"]["base_url"], oauth=snippet["oauth"], **extra)


def make_adapter(config: AmoCrmConfig, kv: Any, sleep: Any = time.sleep, **kwargs: Any) -> AmoCrmAdapter:
    ctx = AdapterContext(kv=kv, clock=time.time, sleep=sleep, **kwargs)
    return build_adapter(config, ctx, desired=DESIRED)


def counts(sb: Sandbox, prefix: str = "") -> dict[str, int]:
    """Requests per "METHOD endpoint" since the log was last cleared (only those starting ``prefix``)."""
    return {k: v for k, v in sb.counts().items() if k.startswith(prefix)}


def writes(sb: Sandbox) -> int:
    return sum(v for k, v in sb.counts().items() if not k.startswith("GET "))


def seed_partner(
    sb: Sandbox, adapter: AmoCrmAdapter, name: str = "Vector LLC", ptype: str = "reseller"
) -> str:
    info = adapter.catalog().field(FieldEntity.PARTNER, "partner_type")
    assert info is not None
    company = {
        "name": name,
        "custom_fields_values": [{"field_id": int(info.code), "values": [{"enum_id": info.options[ptype]}]}],
    }
    return str(sb.emulator.seed({"companies": [company]})["companies"][0])
