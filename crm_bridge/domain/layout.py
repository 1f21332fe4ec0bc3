"""Types describing a CRM layout: the funnels, stages and custom fields crm-bridge wants (desired)
and what the CRM has (observed), and the provisioning plan between them.

The plan itself is computed by ``crm_bridge.domain.provisioning.plan`` (pure, shared by every
adapter); adapters only observe the CRM and apply plans.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from enum import StrEnum

from crm_bridge.domain.model import StageKind


class FieldEntity(StrEnum):
    """Which CRM record a custom field lives on."""

    PARTNER = "partner"  # company
    LEAD = "lead"  # partner lead record
    DEAL = "deal"


class FieldType(StrEnum):
    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    DATE = "date"
    ENUM = "enum"
    USER = "user"  # a CRM user (curator)


@dataclass(frozen=True, slots=True)
class DesiredStage:
    key: str  # stable key, e.g. "qualification"; also the basis of the CRM stage code
    name: str  # in the configured locale
    kind: StageKind = StageKind.OPEN
    color: str = ""  # "#RRGGBB" or "" for the CRM's default
    sort: int = 0  # position, 10, 20, 30…


@dataclass(frozen=True, slots=True)
class DesiredFunnel:
    key: str  # FunnelKey value
    name: str
    stages: tuple[DesiredStage, ...]
    sort: int = 0


@dataclass(frozen=True, slots=True)
class DesiredOption:
    key: str  # stable key (XML_ID / internal value), e.g. "gold"
    label: str


@dataclass(frozen=True, slots=True)
class DesiredField:
    key: str  # domain key: "partner_type", "tier", "curator", "partner_since", "partner_ref", "external_id"
    entity: FieldEntity
    label: str
    type: FieldType
    options: tuple[DesiredOption, ...] = ()


@dataclass(frozen=True, slots=True)
class DesiredLayout:
    funnels: tuple[DesiredFunnel, ...]
    fields: tuple[DesiredField, ...]


@dataclass(frozen=True, slots=True)
class ObservedStage:
    crm_id: str  # the CRM's id of the stage row (Bitrix ID, amo status id, HubSpot stage id)
    code: str  # the value stored on records (Bitrix STATUS_ID, amo status id, HubSpot stage id)
    key: str | None  # our stage key if the adapter recognises it, else None
    name: str
    kind: StageKind
    sort: int = 0
    color: str = ""
    record_count: int | None = None  # None = unknown (treated as "holds records")
    system: bool = False  # created by the CRM itself (cannot be deleted)
    fixed: bool = False  # the CRM fixes its position and colour (amoCRM's won/lost): only the name changes


@dataclass(frozen=True, slots=True)
class ObservedFunnel:
    crm_id: str
    key: str | None  # our funnel key if recognised (marker / id map), else None
    name: str
    stages: tuple[ObservedStage, ...]
    sort: int = 0


@dataclass(frozen=True, slots=True)
class ObservedOption:
    crm_id: str
    key: str | None
    label: str


@dataclass(frozen=True, slots=True)
class ObservedField:
    crm_id: str
    code: str  # the name used on records (UF_CRM_PARTNER_TIER, amo field id, HubSpot property name)
    key: str | None  # our domain field key if recognised
    entity: FieldEntity
    label: str
    type: FieldType
    options: tuple[ObservedOption, ...] = ()


@dataclass(frozen=True, slots=True)
class ObservedLayout:
    funnels: tuple[ObservedFunnel, ...]
    fields: tuple[ObservedField, ...]


class PlanAction(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    ORPHAN = "orphan"  # in the CRM, not in config: reported, left alone
    DELETE = "delete"  # only with --prune and only for an empty, non-system stage


class PlanObject(StrEnum):
    FUNNEL = "funnel"
    STAGE = "stage"
    FIELD = "field"
    OPTION = "option"


@dataclass(frozen=True, slots=True)
class PlanItem:
    """One step of a provisioning plan.

    ``path`` names the object for humans: ``leads`` (funnel), ``leads/qualification`` (stage),
    ``partner.tier`` (field), ``partner.tier/gold`` (option). ``changes`` maps an attribute to
    (old, new) for updates. ``observed_id`` is the CRM id of the object being updated/deleted and
    ``parent_id`` the CRM id of its funnel/field when that already exists.
    """

    object: PlanObject
    action: PlanAction
    path: str
    details: str = ""
    changes: dict[str, tuple[builtins.object, builtins.object]] = field(default_factory=dict)
    desired: builtins.object | None = None  # ``builtins.``: the field ``object`` shadows the name here
    observed_id: str | None = None
    parent_id: str | None = None

    @property
    def is_write(self) -> bool:
        return self.action in (PlanAction.CREATE, PlanAction.UPDATE, PlanAction.DELETE)


@dataclass(frozen=True, slots=True)
class ProvisionPlan:
    items: tuple[PlanItem, ...]

    @property
    def writes(self) -> tuple[PlanItem, ...]:
        return tuple(i for i in self.items if i.is_write)

    @property
    def is_noop(self) -> bool:
        return not self.writes

    def count(self, action: PlanAction) -> int:
        return sum(1 for i in self.items if i.action is action)
