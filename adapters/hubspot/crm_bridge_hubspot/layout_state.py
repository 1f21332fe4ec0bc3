"""Which pipelines and stages are ours, by id, kept in the state store (``hubspot.layout``): saved
after every apply round, so a re-run after a crash recognises what the previous run made."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crm_bridge.ports import KeyValueState

KV_KEY = "hubspot.layout"


@dataclass
class LayoutState:
    funnels: dict[str, str] = field(default_factory=dict)  # funnel key -> pipeline id
    stages: dict[str, dict[str, str]] = field(default_factory=dict)  # pipeline id -> stage id -> key
    # HubSpot stages have no colour: the one configured when we last wrote the stage, so a colour
    # change in the config is one plan step and then settles.
    colours: dict[str, str] = field(default_factory=dict)  # stage id -> #RRGGBB

    @classmethod
    def load(cls, kv: KeyValueState) -> LayoutState:
        raw: Any = kv.get(KV_KEY) or {}
        return cls(
            funnels={str(k): str(v) for k, v in (raw.get("funnels") or {}).items()},
            stages={str(p): dict(m) for p, m in (raw.get("stages") or {}).items()},
            colours=dict(raw.get("colours") or {}),
        )

    def save(self, kv: KeyValueState) -> None:
        kv.set(KV_KEY, {"funnels": self.funnels, "stages": self.stages, "colours": self.colours})

    def funnel_key(self, pipeline_id: str) -> str | None:
        return next((k for k, pid in self.funnels.items() if pid == pipeline_id), None)
