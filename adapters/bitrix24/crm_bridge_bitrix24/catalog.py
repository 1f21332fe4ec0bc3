"""The translation tables records need, discovered from the portal and kept in the state store:
funnel key <-> category id, STATUS_ID <-> (funnel, stage key, kind), user-field codes and enumeration
item ids <-> option keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crm_bridge.domain.layout import FieldEntity, FieldType, ObservedLayout
from crm_bridge.domain.model import StageKind
from crm_bridge.ports import KeyValueState

KV_KEY = "bitrix24.catalog"


@dataclass(frozen=True, slots=True)
class StageInfo:
    funnel: str
    key: str
    kind: StageKind


@dataclass(frozen=True, slots=True)
class FieldInfo:
    code: str
    type: FieldType
    options: dict[str, int] = field(default_factory=dict)  # option key -> enumeration item ID

    def option_key(self, item_id: Any) -> str | None:
        for key, known in self.options.items():
            if str(known) == str(item_id):
                return key
        return None


@dataclass
class Catalog:
    funnels: dict[str, int] = field(default_factory=dict)
    stages: dict[str, StageInfo] = field(default_factory=dict)  # STATUS_ID -> info
    first_stage: dict[str, str] = field(default_factory=dict)  # funnel key -> first open STATUS_ID
    fields: dict[str, FieldInfo] = field(default_factory=dict)  # "<entity>.<key>" -> info

    @property
    def ready(self) -> bool:
        return bool(self.funnels)

    def funnel_of(self, category_id: Any) -> str | None:
        for key, cid in self.funnels.items():
            if str(cid) == str(category_id):
                return key
        return None

    def stage_code(self, funnel: str, key: str | None) -> str | None:
        if key is None:
            return self.first_stage.get(funnel)
        for code, info in self.stages.items():
            if info.funnel == funnel and info.key == key:
                return code
        return None

    def field(self, entity: FieldEntity, key: str) -> FieldInfo | None:
        return self.fields.get(f"{entity.value}.{key}")

    # -- persistence --------------------------------------------------------------------------------
    def save(self, kv: KeyValueState) -> None:
        kv.set(
            KV_KEY,
            {
                "funnels": self.funnels,
                "stages": {c: [i.funnel, i.key, i.kind.value] for c, i in self.stages.items()},
                "first_stage": self.first_stage,
                "fields": {k: [f.code, f.type.value, f.options] for k, f in self.fields.items()},
            },
        )

    @classmethod
    def load(cls, kv: KeyValueState) -> Catalog:
        raw: Any = kv.get(KV_KEY) or {}
        return cls(
            funnels={k: int(v) for k, v in (raw.get("funnels") or {}).items()},
            stages={c: StageInfo(f, k, StageKind(kd)) for c, (f, k, kd) in (raw.get("stages") or {}).items()},
            first_stage=dict(raw.get("first_stage") or {}),
            fields={
                k: FieldInfo(code, FieldType(t), {o: int(i) for o, i in opts.items()})
                for k, (code, t, opts) in (raw.get("fields") or {}).items()
            },
        )

    @classmethod
    def build(cls, observed: ObservedLayout) -> Catalog:
        """From an observation: every stage of our funnels (stages we do not know keyed by their code)."""
        catalog = cls()
        for funnel in observed.funnels:
            if funnel.key is None:
                continue
            catalog.funnels[funnel.key] = int(funnel.crm_id)
            stages = sorted(funnel.stages, key=lambda s: s.sort)
            for stage in stages:
                catalog.stages[stage.code] = StageInfo(funnel.key, stage.key or stage.code, stage.kind)
            first = next((s.code for s in stages if s.kind is StageKind.OPEN), None)
            if first:
                catalog.first_stage[funnel.key] = first
        for f in observed.fields:
            if f.key is None:
                continue
            options = {o.key: int(o.crm_id) for o in f.options if o.key}
            catalog.fields[f"{f.entity.value}.{f.key}"] = FieldInfo(f.code, f.type, options)
        return catalog
