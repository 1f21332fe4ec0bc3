"""Helpers shared by the HubSpot adapter tests (imported by this unique name; conftest.py holds the
fixtures): the HubSpot sandbox with every request checked against HubSpot's OpenAPI specs, an
in-memory state namespace, recorded sleeps, the domain's default layout and adapters pointed at a
sandbox."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from crm_bridge.domain.funnels import default_funnels, desired_layout
from crm_bridge.domain.layout import DesiredLayout, FieldEntity, ProvisionPlan
from crm_bridge.domain.model import PartnerType, StageKind
from crm_bridge.domain.provisioning import plan
from crm_bridge.ports import AdapterContext
from crm_bridge.sandbox.server import Sandbox
from crm_bridge_hubspot import HubSpotAdapter, build_adapter
from crm_bridge_hubspot.config import HubSpotConfig

SPECS = "/work/shared/reference/hubspot-openapi"
NO_WAIT: dict[str, Any] = {
    "per_ten_seconds": 1_000_000,
    "search_per_second": 100_000,
    "daily_limit": 100_000_000,
}


class MemoryKV:
    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    def get(self, key: str) -> Any | None:
        return self.data.get(key)

    def set(self, key: str, value: Any) -> None:
        self.data[key] = value


class Sleeps:
    """Records waits instead of sleeping."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


TIERS = ("bronze", "silver", "gold", "platinum")
DESIRED: DesiredLayout = desired_layout(default_funnels(), "en", TIERS, tuple(PartnerType))
LEAD_STAGES = tuple(
    s.key for f in DESIRED.funnels if f.key == "leads" for s in f.stages if s.kind is StageKind.OPEN
)


def spec_sandbox(**options: Any) -> Sandbox:
    """A HubSpot sandbox (not started) whose emulator refuses requests outside the OpenAPI specs."""
    emulator_options = {"spec_dir": SPECS, **options.pop("emulator_options", {})}
    return Sandbox("hubspot", emulator_options=emulator_options, **options)


def violations(sb: Sandbox) -> list[str]:
    return list(getattr(sb.emulator, "spec_violations", []))


def config(sb: Sandbox, **extra: Any) -> HubSpotConfig:
    settings = {"tier": "enterprise", **NO_WAIT, **extra}
    token = sb.config_snippet()["env"]["HUBSPOT_ACCESS_TOKEN"]
    if "oauth" in settings:
        return HubSpotConfig(base_url=sb.base_url, **settings)
    return HubSpotConfig(base_url=sb.base_url, access_token=token, **settings)


def make_adapter(
    cfg: HubSpotConfig, kv: MemoryKV, sleep: Any = time.sleep, clock: Any = time.time
) -> HubSpotAdapter:
    return build_adapter(cfg, AdapterContext(kv=kv, clock=clock, sleep=sleep), desired=DESIRED)


def provision(adapter: HubSpotAdapter, desired: DesiredLayout = DESIRED) -> ProvisionPlan:
    computed = plan(desired, adapter.observe_layout())
    if not computed.is_noop:
        adapter.apply_plan(computed)
    return computed


def writes(sb: Sandbox) -> list[str]:
    """Method and path of every request that changed something."""
    return [
        f"{r['method']} {r['path']}"
        for r in sb.requests()
        if r["method"] != "GET" and "/search" not in r["path"] and "/batch/read" not in r["path"]
    ]


class SharedClock:
    """Unix time moved only by the adapter's sleeps; the emulator reads it too."""

    def __init__(self, now: float = 1_765_000_000.0) -> None:
        self.now = now
        self.waits: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.waits.append(seconds)
            self.now += seconds


def request_bodies(sandbox: Sandbox, suffix: str) -> list[Any]:
    """The JSON bodies of the requests HubSpot got on paths ending with ``suffix``, in order."""
    return [json.loads(r["body"]) for r in sandbox.requests() if r["path"].endswith(suffix)]


def field_code(adapter: HubSpotAdapter, entity: FieldEntity, key: str) -> str:
    """The HubSpot property name of a provisioned field."""
    info = adapter.catalog().field(entity, key)
    assert info is not None
    return info.code


def seeded_partner(sandbox: Sandbox, adapter: HubSpotAdapter, **props: str) -> str:
    """A reseller company "Vector" (with ``props``) seeded in HubSpot; its id."""
    ptype = field_code(adapter, FieldEntity.PARTNER, "partner_type")
    seeded = sandbox.emulator.seed(
        {"companies": [{"properties": {"name": "Vector", ptype: "reseller", **props}}]}
    )
    return str(seeded["companies"][0])
