"""The translation tables records need, discovered from the account and kept in the state store:
funnel key <-> pipeline id, (pipeline, status) <-> (funnel, stage key, kind), field ids and enum ids
<-> option keys. Statuses 142/143 have the same id in every pipeline, so stages are keyed by both."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crm_bridge.domain.layout import FieldEntity, FieldType, ObservedLayout
from crm_bridge.domain.model import StageKind
from crm_bridge.ports import KeyValueState

KV_KEY = "amocrm.catalog"


@dataclass(frozen=True, slots=True)
class StageInfo:
    funnel: str
    key: str
    kind: StageKind


@dataclass(frozen=True, slots=True)
class FieldInfo:
    field_id: int
    type: FieldType
    options: dict[str, int] = field(default_factory=dict)  # option key -> enum id

    def option_key(self, enum_id: Any) -> str | None:
        return next((k for k, v in self.options.items() if str(v) == str(enum_id)), None)


def stage_ref(pipeline_id: Any, status_id: Any) -> str:
    return f"{pipeline_id}:{status_id}"


@dataclass
class Catalog:
    funnels: dict[str, int] = field(default_factory=dict)
    stages: dict[str, StageInfo] = field(default_factory=dict)  # "pipeline:status" -> info
    first_stage: dict[str, int] = field(default_factory=dict)  # funnel key -> first open status id
    fields: dict[str, FieldInfo] = field(default_factory=dict)  # "<entity>.<key>" -> info

    @property
    def ready(self) -> bool:
        return bool(self.funnels)

    def funnel_of(self, pipeline_id: Any) -> str | None:
        return next((k for k, v in self.funnels.items() if str(v) == str(pipeline_id)), None)

    def status_id(self, funnel: str, key: str | None) -> int | None:
        if key is None:
            return self.first_stage.get(funnel)
        pid = self.funnels.get(funnel)
        for ref, info in self.stages.items():
            if info.funnel == funnel and info.key == key and ref.startswith(f"{pid}:"):
                return int(ref.split(":", 1)[1])
        return None

    def field(self, entity: FieldEntity, key: str) -> FieldInfo | None:
        return self.fields.get(f"{entity.value}.{key}")

    def save(self, kv: KeyValueState) -> None:
        kv.set(
            KV_KEY,
            {
                "funnels": self.funnels,
                "stages": {r: [i.funnel, i.key, i.kind.value] for r, i in self.stages.items()},
                "first_stage": self.first_stage,
                "fields": {k: [f.field_id, f.type.value, f.options] for k, f in self.fields.items()},
            },
        )

    @classmethod
    def load(cls, kv: KeyValueState) -> Catalog:
        raw: Any = kv.get(KV_KEY) or {}
        return cls(
            funnels={k: int(v) for k, v in (raw.get("funnels") or {}).items()},
            stages={r: StageInfo(f, k, StageKind(kd)) for r, (f, k, kd) in (raw.get("stages") or {}).items()},
            first_stage={k: int(v) for k, v in (raw.get("first_stage") or {}).items()},
            fields={
                k: FieldInfo(int(fid), FieldType(t), {o: int(i) for o, i in opts.items()})
                for k, (fid, t, opts) in (raw.get("fields") or {}).items()
            },
        )

    @classmethod
    def build(cls, observed: ObservedLayout) -> Catalog:
        catalog = cls()
        for funnel in observed.funnels:
            if funnel.key is None:
                continue
            catalog.funnels[funnel.key] = int(funnel.crm_id)
            stages = sorted(funnel.stages, key=lambda s: s.sort)
            for stage in stages:
                info = StageInfo(funnel.key, stage.key or stage.code, stage.kind)
                catalog.stages[stage_ref(funnel.crm_id, stage.code)] = info
            first = next((s for s in stages if s.kind is StageKind.OPEN and not s.system), None)
            if first is not None:
                catalog.first_stage[funnel.key] = int(first.code)
        for f in observed.fields:
            if f.key is None:
                continue
            options = {o.key: int(o.crm_id) for o in f.options if o.key}
            catalog.fields[f"{f.entity.value}.{f.key}"] = FieldInfo(int(f.code), f.type, options)
        return catalog
