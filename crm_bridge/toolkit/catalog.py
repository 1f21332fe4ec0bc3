"""The translation tables an adapter needs to read and write records, discovered from the CRM and
kept in the state store: funnel key <-> the CRM's funnel id, stage code <-> (funnel, stage key, kind),
custom field key <-> the CRM's field code and its enumeration option ids.

Ids keep the CRM's own type (``Catalog[int]`` for a CRM with numeric ids, ``Catalog[str]`` for one with
string ids): ``build`` and ``load`` take the conversion. The adapter picks the key-value key it saves
under (its namespace in the store is already per CRM instance)."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from crm_bridge.domain.layout import FieldEntity, FieldType, ObservedLayout
from crm_bridge.domain.model import StageKind
from crm_bridge.ports import KeyValueState

IdT = TypeVar("IdT", bound=Hashable)


@dataclass(frozen=True, slots=True)
class StageInfo:
    funnel: str
    key: str
    kind: StageKind


@dataclass(frozen=True, slots=True)
class FieldInfo(Generic[IdT]):
    code: str
    type: FieldType
    options: dict[str, IdT] = field(default_factory=dict)  # option key -> the CRM's option id

    def option_key(self, item_id: Any) -> str | None:
        for key, known in self.options.items():
            if str(known) == str(item_id):
                return key
        return None


@dataclass
class Catalog(Generic[IdT]):
    funnels: dict[str, IdT] = field(default_factory=dict)  # funnel key -> funnel id
    stages: dict[str, StageInfo] = field(default_factory=dict)  # stage code -> info
    first_stage: dict[str, str] = field(default_factory=dict)  # funnel key -> first open stage code
    fields: dict[str, FieldInfo[IdT]] = field(default_factory=dict)  # "<entity>.<key>" -> info

    @property
    def ready(self) -> bool:
        return bool(self.funnels)

    def funnel_of(self, funnel_id: Any) -> str | None:
        for key, known in self.funnels.items():
            if str(known) == str(funnel_id):
                return key
        return None

    def stage_code(self, funnel: str, key: str | None) -> str | None:
        """The code of stage ``key`` in ``funnel``; the funnel's first open stage when ``key`` is None."""
        if key is None:
            return self.first_stage.get(funnel)
        for code, info in self.stages.items():
            if info.funnel == funnel and info.key == key:
                return code
        return None

    def field(self, entity: FieldEntity, key: str) -> FieldInfo[IdT] | None:
        return self.fields.get(f"{entity.value}.{key}")

    # -- persistence --------------------------------------------------------------------------------
    def save(self, kv: KeyValueState, key: str) -> None:
        kv.set(
            key,
            {
                "funnels": self.funnels,
                "stages": {c: [i.funnel, i.key, i.kind.value] for c, i in self.stages.items()},
                "first_stage": self.first_stage,
                "fields": {k: [f.code, f.type.value, f.options] for k, f in self.fields.items()},
            },
        )

    @classmethod
    def load(cls, kv: KeyValueState, key: str, ids: Callable[[Any], IdT]) -> Catalog[IdT]:
        raw: Any = kv.get(key) or {}
        return cls(
            funnels={k: ids(v) for k, v in (raw.get("funnels") or {}).items()},
            stages={c: StageInfo(f, k, StageKind(kd)) for c, (f, k, kd) in (raw.get("stages") or {}).items()},
            first_stage=dict(raw.get("first_stage") or {}),
            fields={
                k: FieldInfo(code, FieldType(t), {o: ids(i) for o, i in opts.items()})
                for k, (code, t, opts) in (raw.get("fields") or {}).items()
            },
        )

    @classmethod
    def build(cls, observed: ObservedLayout, ids: Callable[[str], IdT]) -> Catalog[IdT]:
        """From an observation: every stage of our funnels (stages we do not know keyed by their code)."""
        catalog: Catalog[IdT] = cls()
        for funnel in observed.funnels:
            if funnel.key is None:
                continue
            catalog.funnels[funnel.key] = ids(funnel.crm_id)
            stages = sorted(funnel.stages, key=lambda s: s.sort)
            for stage in stages:
                catalog.stages[stage.code] = StageInfo(funnel.key, stage.key or stage.code, stage.kind)
            first = next((s.code for s in stages if s.kind is StageKind.OPEN), None)
            if first:
                catalog.first_stage[funnel.key] = first
        for f in observed.fields:
            if f.key is None:
                continue
            options = {o.key: ids(o.crm_id) for o in f.options if o.key}
            catalog.fields[f"{f.entity.value}.{f.key}"] = FieldInfo(f.code, f.type, options)
        return catalog
