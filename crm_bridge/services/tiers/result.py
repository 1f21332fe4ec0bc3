"""What one tier evaluation did (``TierRun``): the changes recorded, the partners warned of a coming
downgrade, the downgrades awaiting the head's approval and how many partners were evaluated."""

from __future__ import annotations

from dataclasses import dataclass, field

from crm_bridge.domain.tiers import TierChange
from crm_bridge.store.tier_moves import PendingTier


@dataclass
class TierRun:
    changes: list[TierChange] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # partner ids warned of a downgrade
    awaiting_approval: list[PendingTier] = field(default_factory=list)
    evaluated: int = 0
