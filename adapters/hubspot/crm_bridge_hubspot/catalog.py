"""What the adapter remembers about the account's layout in the state store (``ctx.kv``): which deal
pipeline is which of our funnels, which stage id is which stage key (and kind), and which property
carries which domain field with which option values. Discovered by observation, saved after it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crm_bridge.domain.layout import FieldEntity, FieldType, ObservedLayout
from crm_bridge.domain.model import StageKind
from crm_bridge.ports import KeyValueState

KV_KEY = "hubspot.catalog"


@dataclass(frozen=True, slots=True)
class StageInfo:
    funnel: str
    key: str
    kind: StageKind


@dataclass(frozen=True, slots=True)
class FieldInfo:
    name: str
    type: FieldType
    options: tuple[str, ...] = ()  # option values (= our option keys)


@dataclass
class Catalog:
    funnels: dict[str, str] = field(default_factory=dict)  # funnel key -> pipeline id
    stages: dict[str, StageInfo] = field(default_factory=dict)  # stage id -> info
    first_stage: dict[str, str] = field(default_factory=dict)  # funnel key -> first open stage id
    fields: dict[str, FieldInfo] = field(default_factory=dict)  # "<entity>.<key>" -> info

    @property
    def ready(self) -> bool:
        return bool(self.funnels)

    def funnel_of(self, pipeline_id: Any) -> str | None:
        return next((k for k, pid in self.funnels.items() if pid == str(pipeline_id)), None)

    def stage_id(self, funnel: str, key: str | None) -> str | None:
        if key is None:
            return self.first_stage.get(funnel)
        return next((sid for sid, i in self.stages.items() if i.funnel == funnel and i.key == key), None)

    def field(self, entity: FieldEntity, key: str) -> FieldInfo | None:
        return self.fields.get(f"{entity.value}.{key}")

    def save(self, kv: KeyValueState) -> None:
        kv.set(
            KV_KEY,
            {
                "funnels": self.funnels,
                "stages": {s: [i.funnel, i.key, i.kind.value] for s, i in self.stages.items()},
                "first_stage": self.first_stage,
                "fields": {k: [f.name, f.type.value, list(f.options)] for k, f in self.fields.items()},
            },
        )

    @classmethod
    def load(cls, kv: KeyValueState) -> Catalog:
        raw: Any = kv.get(KV_KEY) or {}
        return cls(
            funnels={str(k): str(v) for k, v in (raw.get("funnels") or {}).items()},
            stages={s: StageInfo(f, k, StageKind(kd)) for s, (f, k, kd) in (raw.get("stages") or {}).items()},
            first_stage=dict(raw.get("first_stage") or {}),
            fields={
                k: FieldInfo(name, FieldType(t), tuple(opts))
                for k, (name, t, opts) in (raw.get("fields") or {}).items()
            },
        )

    @classmethod
    def build(cls, observed: ObservedLayout) -> Catalog:
        catalog = cls()
        for funnel in observed.funnels:
            if funnel.key is None:
                continue
            catalog.funnels[funnel.key] = funnel.crm_id
            stages = sorted(funnel.stages, key=lambda s: s.sort)
            for stage in stages:
                catalog.stages[stage.code] = StageInfo(funnel.key, stage.key or stage.code, stage.kind)
            first = next((s.code for s in stages if s.kind is StageKind.OPEN), None)
            if first:
                catalog.first_stage[funnel.key] = first
        for f in observed.fields:
            if f.key is not None:
                options = tuple(o.key for o in f.options if o.key)
                catalog.fields[f"{f.entity.value}.{f.key}"] = FieldInfo(f.code, f.type, options)
        return catalog
