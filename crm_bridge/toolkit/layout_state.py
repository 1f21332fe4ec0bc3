"""What an adapter remembers about the CRM's layout in the state store: which of the CRM's funnels
is which of ours, which stage code is which stage key, and which funnels crm-bridge created (only those
may be deleted). Ids are discovered at run time (they differ per CRM instance) and saved after every
apply round, so a re-run after a crash recognises what the previous run already made."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from crm_bridge.ports import KeyValueState

IdT = TypeVar("IdT", bound=Hashable)


@dataclass
class LayoutState(Generic[IdT]):
    funnels: dict[str, IdT] = field(default_factory=dict)  # funnel key -> funnel id
    stages: dict[str, dict[str, str]] = field(default_factory=dict)  # funnel key -> stage key -> code
    created: set[IdT] = field(default_factory=set)  # funnel ids crm-bridge created

    @classmethod
    def load(cls, kv: KeyValueState, key: str, ids: Callable[[Any], IdT]) -> LayoutState[IdT]:
        raw: Any = kv.get(key) or {}
        return cls(
            funnels={str(k): ids(v) for k, v in (raw.get("funnels") or {}).items()},
            stages={
                str(f): {str(k): str(c) for k, c in m.items()} for f, m in (raw.get("stages") or {}).items()
            },
            created={ids(c) for c in raw.get("created") or []},
        )

    def save(self, kv: KeyValueState, key: str) -> None:
        created = sorted(self.created, key=str)
        kv.set(key, {"funnels": self.funnels, "stages": self.stages, "created": created})

    def funnel_key(self, funnel_id: IdT) -> str | None:
        for key, known in self.funnels.items():
            if known == funnel_id:
                return key
        return None

    def stage_key(self, funnel_key: str, code: str) -> str | None:
        for key, known in self.stages.get(funnel_key, {}).items():
            if known == code:
                return key
        return None

    def stage_code(self, funnel_key: str, stage_key: str) -> str | None:
        return self.stages.get(funnel_key, {}).get(stage_key)
