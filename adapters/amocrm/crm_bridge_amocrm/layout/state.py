"""What the adapter remembers about the account's layout in the state store (``ctx.kv``): which lead
pipeline is which of our funnels, which status is which stage key, which custom field and enum is which
domain field and option. Ids differ per account; they are saved after every apply round, so a re-run
after a crash recognises what the previous run already made."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crm_bridge.ports import KeyValueState

KV_KEY = "amocrm.layout"


@dataclass
class LayoutState:
    funnels: dict[str, int] = field(default_factory=dict)  # funnel key -> pipeline id
    stages: dict[str, dict[str, int]] = field(default_factory=dict)  # funnel key -> stage key -> status id
    fields: dict[str, int] = field(default_factory=dict)  # "<entity>.<key>" -> field id
    types: dict[str, str] = field(default_factory=dict)  # "<entity>.<key>" -> domain FieldType value
    options: dict[str, dict[str, int]] = field(default_factory=dict)  # "<entity>.<key>" -> option -> enum id

    @classmethod
    def load(cls, kv: KeyValueState) -> LayoutState:
        raw: Any = kv.get(KV_KEY) or {}
        return cls(
            funnels={str(k): int(v) for k, v in (raw.get("funnels") or {}).items()},
            stages={
                str(f): {str(k): int(s) for k, s in m.items()} for f, m in (raw.get("stages") or {}).items()
            },
            fields={str(k): int(v) for k, v in (raw.get("fields") or {}).items()},
            types={str(k): str(v) for k, v in (raw.get("types") or {}).items()},
            options={
                str(f): {str(k): int(e) for k, e in m.items()} for f, m in (raw.get("options") or {}).items()
            },
        )

    def save(self, kv: KeyValueState) -> None:
        kv.set(
            KV_KEY,
            {
                "funnels": self.funnels,
                "stages": self.stages,
                "fields": self.fields,
                "types": self.types,
                "options": self.options,
            },
        )

    def funnel_key(self, pipeline_id: int) -> str | None:
        return next((k for k, v in self.funnels.items() if v == pipeline_id), None)

    def stage_key(self, funnel: str, status_id: int) -> str | None:
        return next((k for k, v in self.stages.get(funnel, {}).items() if v == status_id), None)

    def field_key(self, entity: str, field_id: int) -> str | None:
        prefix = entity + "."
        return next(
            (k[len(prefix) :] for k, v in self.fields.items() if v == field_id and k.startswith(prefix)), None
        )

    def option_key(self, path: str, enum_id: int) -> str | None:
        return next((k for k, v in self.options.get(path, {}).items() if v == enum_id), None)
