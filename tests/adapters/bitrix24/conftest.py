"""Fixtures for the Bitrix24 adapter tests: a Bitrix24 sandbox on a local port, an adapter pointed at
it (webhook or OAuth) with an in-memory state namespace, a recorded fake sleep, and a provisioned
partner layout."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from crm_bridge.adapters.bitrix24 import Bitrix24Adapter, build_adapter
from crm_bridge.config_crm import Bitrix24Config
from crm_bridge.domain.layout import (
    DesiredField,
    DesiredFunnel,
    DesiredLayout,
    DesiredOption,
    DesiredStage,
    FieldEntity,
    FieldType,
    PlanAction,
    PlanItem,
    PlanObject,
    ProvisionPlan,
)
from crm_bridge.domain.model import StageKind
from crm_bridge.ports import AdapterContext
from crm_bridge.sandbox.server import Sandbox


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


def _stages(*names: str) -> tuple[DesiredStage, ...]:
    open_ = [
        DesiredStage(k, k.replace("_", " ").title(), StageKind.OPEN, sort=10 * (i + 1))
        for i, k in enumerate(names)
    ]
    return (
        *open_,
        DesiredStage("won", "Won", StageKind.WON, sort=900),
        DesiredStage("lost", "Lost", StageKind.LOST, sort=910),
    )


TIERS = ("bronze", "silver", "gold", "platinum")
LEAD_STAGES = ("registered", "qualification", "offer", "closed")

DESIRED = DesiredLayout(
    funnels=(
        DesiredFunnel(
            "acquisition",
            "Partner acquisition",
            _stages("identification", "first_contact", "negotiation", "agreement", "onboarding"),
            100,
        ),
        DesiredFunnel("leads", "Partner leads", _stages(*LEAD_STAGES), 110),
        DesiredFunnel("tier_upgrade", "Tier upgrade", _stages("assess", "goals", "support", "reached"), 120),
        DesiredFunnel("repeat", "Repeat deals", _stages("review", "offer", "negotiation", "closed"), 130),
    ),
    fields=(
        DesiredField(
            "partner_type",
            FieldEntity.PARTNER,
            "Partner type",
            FieldType.ENUM,
            tuple(DesiredOption(k, k.title()) for k in ("distributor", "reseller", "integrator", "referral")),
        ),
        DesiredField(
            "tier",
            FieldEntity.PARTNER,
            "Partner tier",
            FieldType.ENUM,
            tuple(DesiredOption(k, k.title()) for k in TIERS),
        ),
        DesiredField("curator", FieldEntity.PARTNER, "Curator", FieldType.USER),
        DesiredField("partner_since", FieldEntity.PARTNER, "Partner since", FieldType.DATE),
        DesiredField("partner_ref", FieldEntity.LEAD, "Partner", FieldType.STRING),
        DesiredField("external_id", FieldEntity.LEAD, "External id", FieldType.STRING),
        DesiredField("partner_ref", FieldEntity.DEAL, "Partner", FieldType.STRING),
        DesiredField("external_id", FieldEntity.DEAL, "External id", FieldType.STRING),
    ),
)


def scratch_plan(desired: DesiredLayout = DESIRED) -> ProvisionPlan:
    """What a plan against an empty portal holds: every funnel, stage, field and option to create."""
    items: list[PlanItem] = []
    for funnel in desired.funnels:
        items.append(PlanItem(PlanObject.FUNNEL, PlanAction.CREATE, funnel.key, desired=funnel))
        items += [
            PlanItem(PlanObject.STAGE, PlanAction.CREATE, f"{funnel.key}/{s.key}", desired=s)
            for s in funnel.stages
        ]
    for f in desired.fields:
        path = f"{f.entity.value}.{f.key}"
        items.append(PlanItem(PlanObject.FIELD, PlanAction.CREATE, path, desired=f))
        items += [
            PlanItem(PlanObject.OPTION, PlanAction.CREATE, f"{path}/{o.key}", desired=o) for o in f.options
        ]
    return ProvisionPlan(tuple(items))


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox("bitrix24") as sb:
        yield sb


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def kv() -> MemoryKV:
    return MemoryKV()


def webhook_config(sb: Sandbox, **extra: Any) -> Bitrix24Config:
    return Bitrix24Config(webhook_url=sb.config_snippet()["env"]["B24_WEBHOOK_URL"], **extra)


def oauth_config(sb: Sandbox) -> Bitrix24Config:
    return Bitrix24Config(oauth=sb.config_snippet()["oauth"])


def make_adapter(
    config: Bitrix24Config, kv: MemoryKV, sleep: Any = time.sleep, **kwargs: Any
) -> Bitrix24Adapter:
    ctx = AdapterContext(kv=kv, clock=time.time, sleep=sleep)
    return build_adapter(config, ctx, desired=DESIRED, **kwargs)


@pytest.fixture
def adapter(sandbox: Sandbox, kv: MemoryKV, sleeps: Sleeps) -> Iterator[Bitrix24Adapter]:
    made = make_adapter(webhook_config(sandbox), kv, sleeps)
    yield made
    made.close()


@pytest.fixture
def provisioned(adapter: Bitrix24Adapter, sandbox: Sandbox) -> Bitrix24Adapter:
    """The adapter after provisioning the partner layout, with the request log cleared."""
    adapter.observe_layout()
    adapter.apply_plan(scratch_plan())
    sandbox.log.clear()
    return adapter


def partner_type_item(adapter: Bitrix24Adapter, key: str = "reseller") -> int:
    info = adapter.catalog().field(FieldEntity.PARTNER, "partner_type")
    assert info is not None
    return info.options[key]
