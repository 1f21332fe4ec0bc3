"""What the FakeCRM remembers: funnels, stages, fields, records, users, tasks — plain dicts — and
a manual clock for tests."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from crm_bridge.domain.layout import FieldEntity, FieldType
from crm_bridge.domain.model import Deal, Lead, Partner, StageKind
from crm_bridge.ports import CrmUser, Entity, RecordRef

LEAD_FUNNEL = "leads"  # partner leads live in this funnel; every other funnel holds deals


class FakeClock:
    """A clock that only moves when told: ``clock()`` is now, ``advance(seconds)`` moves it."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
        if self._now.tzinfo is None:
            raise ValueError("FakeClock needs a timezone-aware start")

    def __call__(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> datetime:
        self._now += timedelta(seconds=seconds)
        return self._now


@dataclass
class Stage:
    crm_id: str
    code: str
    key: str | None
    name: str
    kind: StageKind
    sort: int
    color: str = ""
    system: bool = False


@dataclass
class Funnel:
    crm_id: str
    key: str | None
    name: str
    sort: int
    stages: list[Stage] = field(default_factory=list)

    def stage(self, key: str) -> Stage | None:
        return next((s for s in self.stages if s.key == key), None)

    def first_open(self) -> Stage | None:
        open_stages = sorted((s for s in self.stages if s.kind is StageKind.OPEN), key=lambda s: s.sort)
        return open_stages[0] if open_stages else None


@dataclass
class Option:
    crm_id: str
    key: str | None
    label: str


@dataclass
class CustomField:
    crm_id: str
    code: str
    key: str | None
    entity: FieldEntity
    label: str
    type: FieldType
    options: list[Option] = field(default_factory=list)

    def option_keys(self) -> set[str]:
        return {o.key for o in self.options if o.key}


@dataclass
class Task:
    crm_id: str
    external_id: str
    title: str
    description: str
    responsible_user_id: str
    deadline: datetime
    bound_to: RecordRef | None
    created_at: datetime


@dataclass
class Notification:
    crm_id: str
    external_id: str
    user_id: str
    message: str
    sent_at: datetime


@dataclass
class FakeState:
    """Everything in the fake CRM. Ids are decimal strings from one sequence, as in most CRMs."""

    funnels: dict[str, Funnel] = field(default_factory=dict)
    fields: dict[str, CustomField] = field(default_factory=dict)
    partners: dict[str, Partner] = field(default_factory=dict)
    leads: dict[str, Lead] = field(default_factory=dict)
    deals: dict[str, Deal] = field(default_factory=dict)
    responsible: dict[str, str] = field(default_factory=dict)  # deal crm id -> user id
    custom: dict[tuple[Entity, str], dict[str, Any]] = field(default_factory=dict)  # custom field values
    users: dict[str, CrmUser] = field(default_factory=dict)
    tasks: dict[str, Task] = field(default_factory=dict)
    notifications: dict[str, Notification] = field(default_factory=dict)
    curator_keys: dict[str, str] = field(default_factory=dict)  # CRM user id -> curator key (as configured)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def new_id(self) -> str:
        return str(next(self._ids))

    def funnel(self, key: str) -> Funnel | None:
        return next((f for f in self.funnels.values() if f.key == key), None)

    def field_for(self, entity: FieldEntity, key: str) -> CustomField | None:
        return next((f for f in self.fields.values() if f.entity is entity and f.key == key), None)

    def records(self, entity: Entity) -> dict[str, Any]:
        if entity is Entity.PARTNER:
            return self.partners
        return self.leads if entity is Entity.LEAD else self.deals

    def by_external_id(self, entity: Entity, external_id: str) -> Lead | Deal | None:
        records: dict[str, Any] = self.records(entity)
        return next((r for r in records.values() if getattr(r, "external_id", None) == external_id), None)

    def record_count(self, funnel: Funnel, stage: Stage) -> int:
        if funnel.key == LEAD_FUNNEL:
            return sum(1 for lead in self.leads.values() if lead.stage == stage.key)
        return sum(1 for d in self.deals.values() if d.funnel == funnel.key and d.stage == stage.key)
