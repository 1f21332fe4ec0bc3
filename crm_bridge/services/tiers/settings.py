"""How tiers are evaluated, read from the config (``TierSettings.from_settings``): the levels and their
thresholds, hysteresis, the downgrade grace period, whether the head approves downgrades, and each tier's
display name in the configured locale."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from crm_bridge.domain.tiers import HysteresisMode, TierLevel, TierPolicy


@dataclass(frozen=True)
class TierSettings:
    policy: TierPolicy
    grace: timedelta = timedelta(0)
    approval_required: bool = False
    names: dict[str, str] = field(default_factory=dict)  # tier key -> display name

    @classmethod
    def from_settings(cls, settings: Any) -> TierSettings:
        cfg = settings.tiers
        levels = tuple(TierLevel(lv.key, lv.name.get(settings.locale), lv.thresholds()) for lv in cfg.levels)
        policy = TierPolicy(
            levels,
            margin_percent=Decimal(cfg.hysteresis.margin_percent),
            consecutive=cfg.hysteresis.consecutive,
            mode=HysteresisMode(cfg.hysteresis.mode),
            window_days=cfg.window_days,
            locale=str(settings.locale),
        )
        names = {lv.key: lv.name.get(settings.locale) for lv in cfg.levels}
        return cls(policy, timedelta(days=cfg.downgrade_grace_days), cfg.approval_required, names)
