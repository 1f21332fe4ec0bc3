"""What the adapter remembers about the portal's layout in the state store (``ctx.kv``): which deal
funnel is which of ours, which STATUS_ID is which stage key, and which funnels we created.

Ids are discovered at run time (they differ per portal) and saved after every apply round, so a
re-run after a crash recognises what the previous run already made.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crm_bridge.ports import KeyValueState

KV_KEY = "bitrix24.layout"


@dataclass
class LayoutState:
    funnels: dict[str, int] = field(default_factory=dict)  # funnel key -> category id
    stages: dict[str, dict[str, str]] = field(default_factory=dict)  # funnel key -> stage key -> STATUS_ID
    created: set[int] = field(default_factory=set)  # category ids crm-bridge created

    @classmethod
    def load(cls, kv: KeyValueState) -> LayoutState:
        raw: Any = kv.get(KV_KEY) or {}
        return cls(
            funnels={str(k): int(v) for k, v in (raw.get("funnels") or {}).items()},
            stages={
                str(f): {str(k): str(c) for k, c in m.items()} for f, m in (raw.get("stages") or {}).items()
            },
            created={int(c) for c in raw.get("created") or []},
        )

    def save(self, kv: KeyValueState) -> None:
        kv.set(
            KV_KEY,
            {"funnels": self.funnels, "stages": self.stages, "created": sorted(self.created)},
        )

    def funnel_key(self, category_id: int) -> str | None:
        for key, known in self.funnels.items():
            if known == category_id:
                return key
        return None

    def stage_key(self, funnel_key: str, status_id: str) -> str | None:
        for key, code in self.stages.get(funnel_key, {}).items():
            if code == status_id:
                return key
        return None

    def stage_code(self, funnel_key: str, stage_key: str) -> str | None:
        return self.stages.get(funnel_key, {}).get(stage_key)
