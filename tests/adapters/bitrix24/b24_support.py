"""Helpers shared by the Bitrix24 adapter tests (imported by this unique name; conftest.py holds the
fixtures): an in-memory state namespace, recorded sleeps, the domain's default layout, provisioning as
the CLI does it, and adapters pointed at a sandbox (webhook or OAuth)."""

from __future__ import annotations

import time
from typing import Any

from crm_bridge.config.crm import RateLimitConfig
from crm_bridge.domain.funnels import default_funnels, desired_layout
from crm_bridge.domain.layout import DesiredLayout, FieldEntity, ProvisionPlan
from crm_bridge.domain.model import PartnerType, StageKind
from crm_bridge.domain.provisioning import plan
from crm_bridge.ports import AdapterContext
from crm_bridge.sandbox.server import Sandbox
from crm_bridge_bitrix24 import Bitrix24Adapter, build_adapter
from crm_bridge_bitrix24.config import Bitrix24Config


class MemoryKV:
    """A KeyValueState in a dict (what the state store gives an adapter, minus the database)."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.writes: list[str] = []

    def get(self, key: str) -> Any | None:
        return self.data.get(key)

    def set(self, key: str, value: Any) -> None:
        self.writes.append(key)
        self.data[key] = value


class Sleeps:
    """Records waits instead of sleeping (the HTTP layer's back-off and our budget waits)."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


TIERS = ("bronze", "silver", "gold", "platinum")
DESIRED: DesiredLayout = desired_layout(default_funnels(), "en", TIERS, tuple(PartnerType))
LEAD_STAGES = tuple(
    s.key for f in DESIRED.funnels if f.key == "leads" for s in f.stages if s.kind is StageKind.OPEN
)


def provision(adapter: Bitrix24Adapter, desired: DesiredLayout = DESIRED) -> ProvisionPlan:
    """What ``crm-bridge provision`` does: observe, plan, apply when something is to do."""
    computed = plan(desired, adapter.observe_layout())
    if not computed.is_noop:
        adapter.apply_plan(computed)
    return computed


# The test sandbox runs without its rate limit and our sleeps are recorded, not slept: a matching
# client-side bucket that never has to wait (the benchmark runs both at the plan's real values).
NO_WAIT = RateLimitConfig(burst=10_000, per_second=10_000)


def webhook_config(sb: Sandbox, **extra: Any) -> Bitrix24Config:
    extra.setdefault("rate_limit", NO_WAIT)
    extra.setdefault("max_concurrency", 8)
    return Bitrix24Config(webhook_url=sb.config_snippet()["env"]["B24_WEBHOOK_URL"], **extra)


def oauth_config(sb: Sandbox) -> Bitrix24Config:
    return Bitrix24Config(oauth=sb.config_snippet()["oauth"], rate_limit=NO_WAIT, max_concurrency=8)


def make_adapter(
    config: Bitrix24Config, kv: MemoryKV, sleep: Any = time.sleep, **kwargs: Any
) -> Bitrix24Adapter:
    ctx = AdapterContext(kv=kv, clock=time.time, sleep=sleep)
    return build_adapter(config, ctx, desired=DESIRED, **kwargs)


def partner_type_item(adapter: Bitrix24Adapter, key: str = "reseller") -> int:
    info = adapter.catalog().field(FieldEntity.PARTNER, "partner_type")
    assert info is not None
    return info.options[key]
