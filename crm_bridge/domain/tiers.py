"""Tier policy (SPEC §2, §3 "Tiers"): ordered tiers with KPI thresholds over a rolling window, upgrades
at once, downgrades only through hysteresis (a margin below the current tier's threshold and/or N
evaluations in a row), with a warning on the first evaluation below and an optional grace period.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from crm_bridge.texts import words

METRICS: Mapping[str, str] = words("tier_metrics", "en")  # the metrics a threshold may name


def _metric(name: str) -> str:
    """Threshold name -> metric key: ``min_revenue`` and ``revenue`` both mean revenue."""
    return name.removeprefix("min_")


def _fmt(value: Decimal) -> str:
    """100000 rather than 1E+5; 12.50 stays 12.50."""
    return f"{value.normalize():f}" if value == value.to_integral_value() else f"{value:f}"


class HysteresisMode(StrEnum):
    EITHER = "either"  # drop when far enough below OR below for N evaluations
    BOTH = "both"  # only when far enough below AND for N evaluations
    MARGIN = "margin"  # only when far enough below
    CONSECUTIVE = "consecutive"  # only after N evaluations below


@dataclass(frozen=True, slots=True)
class TierLevel:
    """A tier; a partner earns it when every threshold given is met. ``thresholds`` maps a metric
    (``revenue``, ``won_deals``, ``leads``, ``qualified_leads``, ``conversion``,
    ``certified_people`` — a ``min_`` prefix is accepted) to its minimum."""

    key: str
    name: str = ""
    thresholds: Mapping[str, Decimal] = field(default_factory=dict)

    def misses(self, metrics: Mapping[str, Decimal]) -> list[tuple[str, Decimal, Decimal]]:
        """(metric, actual, minimum) for every threshold not met; a missing metric counts as 0."""
        result = []
        for name, minimum in self.thresholds.items():
            actual = metrics.get(_metric(name), Decimal(0))
            if actual < minimum:
                result.append((_metric(name), actual, minimum))
        return result


@dataclass(frozen=True, slots=True)
class TierPolicy:
    """Levels lowest first; the lowest is the floor every partner has at least."""

    levels: tuple[TierLevel, ...]
    margin_percent: Decimal = Decimal(10)
    consecutive: int = 2
    mode: HysteresisMode = HysteresisMode.EITHER
    window_days: int = 180  # KPIs are computed over this many days up to the evaluation
    locale: str = "en"  # the language of the reasons (en, ru)

    def __post_init__(self) -> None:
        if not self.levels:
            raise ValueError("tiers.levels: give at least one tier")
        keys = [level.key for level in self.levels]
        if len(set(keys)) != len(keys):
            raise ValueError(f"tiers.levels: a tier key is used twice in {keys}")
        for i, level in enumerate(self.levels):
            for name, minimum in level.thresholds.items():
                if _metric(name) not in METRICS:
                    raise ValueError(f"tiers.levels[{i}] ({level.key}): unknown threshold {name!r}")
                if minimum < 0:
                    raise ValueError(f"tiers.levels[{i}].{name}: must be >= 0")
        if not Decimal(0) <= self.margin_percent <= Decimal(100):
            raise ValueError("tiers.hysteresis.margin_percent: must be between 0 and 100")
        if self.consecutive < 1:
            raise ValueError("tiers.hysteresis.consecutive: must be >= 1")

    def index(self, key: str | None) -> int | None:
        return next((i for i, level in enumerate(self.levels) if level.key == key), None)

    def earned(self, metrics: Mapping[str, Decimal]) -> int:
        """Index of the highest tier whose thresholds are all met (0, the floor, at least)."""
        return max([0, *(i for i, level in enumerate(self.levels) if not level.misses(metrics))])


@dataclass(frozen=True, slots=True)
class TierState:
    """Per-partner memory between evaluations (the store persists ``to_dict()``)."""

    below_count: int = 0  # evaluations in a row below the current tier
    below_since: datetime | None = None  # first of those evaluations

    def to_dict(self) -> dict[str, Any]:
        since = self.below_since.isoformat() if self.below_since else None
        return {"below_count": self.below_count, "below_since": since}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> TierState:
        if not data:
            return cls()
        since = data.get("below_since")
        return cls(int(data.get("below_count", 0)), datetime.fromisoformat(since) if since else None)


class TierStatus(StrEnum):
    UNCHANGED = "unchanged"  # at (or, between evaluations, back to) the current tier
    ASSIGNED = "assigned"  # no (known) tier before: the earned tier is set
    UPGRADE = "upgrade"
    WARNING = "warning"  # below the current tier, hysteresis holds; ``first_warning`` on the first one
    DOWNGRADE_PENDING = "downgrade_pending"  # hysteresis exhausted, grace period still running
    DOWNGRADE = "downgrade"


@dataclass(frozen=True, slots=True)
class TierChange:
    partner_id: str
    old: str | None
    new: str
    direction: str  # "up" | "down"
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class TierDecision:
    """What the evaluation found. ``change`` is set for ASSIGNED/UPGRADE/DOWNGRADE and, for
    DOWNGRADE_PENDING, is the change that will apply at ``downgrade_at`` unless metrics recover.
    The service applies ``change`` unless it is pending or needs the head's approval."""

    partner_id: str
    status: TierStatus
    current: str | None
    earned: str
    reason: str
    change: TierChange | None = None
    first_warning: bool = False
    below_count: int = 0
    below_since: datetime | None = None
    downgrade_at: datetime | None = None


def _t(policy: TierPolicy) -> Mapping[str, str]:
    return words("tiers", policy.locale)


def _metric_name(policy: TierPolicy, metric: str) -> str:
    return words("tier_metrics", policy.locale).get(metric, metric)


def _tier_name(policy: TierPolicy, level: TierLevel) -> str:
    """The tier as the reasons name it: its key in English, its configured name in Russian."""
    return (level.name or level.key) if policy.locale == "ru" else level.key


def _met_text(policy: TierPolicy, level: TierLevel, metrics: Mapping[str, Decimal]) -> str:
    t = _t(policy)
    parts = [
        t["met"].format(
            metric=_metric_name(policy, _metric(n)),
            actual=_fmt(metrics.get(_metric(n), Decimal(0))),
            minimum=_fmt(m),
        )
        for n, m in level.thresholds.items()
    ]
    return t["meets"].format(tier=_tier_name(policy, level), parts="; ".join(parts) if parts else t["none"])


def _miss_text(policy: TierPolicy, level: TierLevel, misses: Sequence[tuple[str, Decimal, Decimal]]) -> str:
    t = _t(policy)
    parts = []
    for metric, actual, minimum in misses:
        gap = (minimum - actual) * 100 / minimum if minimum else Decimal(0)
        name = _metric_name(policy, metric)
        parts.append(
            t["miss"].format(metric=name, actual=_fmt(actual), minimum=_fmt(minimum), gap=f"{gap:.1f}")
        )
    return t["below"].format(tier=_tier_name(policy, level), parts="; ".join(parts))


def _rule(policy: TierPolicy) -> str:
    t = _t(policy)
    runs = t["runs"].format(n=policy.consecutive)
    margin = t["margin"].format(m=_fmt(policy.margin_percent))
    return {
        HysteresisMode.EITHER: t["either"],
        HysteresisMode.BOTH: t["both"],
        HysteresisMode.MARGIN: t["only_margin"],
        HysteresisMode.CONSECUTIVE: t["only_runs"],
    }[policy.mode].format(runs=runs, margin=margin)


def evaluate(
    policy: TierPolicy,
    partner_id: str,
    current_tier: str | None,
    metrics: Mapping[str, Decimal],
    state: TierState,
    now: datetime,
    *,
    grace: timedelta = timedelta(0),
) -> tuple[TierDecision, TierState]:
    """Decide the partner's tier from ``metrics`` (KPIs over ``policy.window_days``; see
    ``PartnerKpis.metrics()``). Returns the decision and the state to persist for next time.
    ``grace``: once hysteresis allows a downgrade, wait this long after the first evaluation below."""
    earned = policy.earned(metrics)
    level = policy.levels[earned]
    current = policy.index(current_tier)
    if current is None:
        why = _met_text(policy, level, metrics) + (
            _t(policy)["unknown"].format(tier=current_tier) if current_tier else ""
        )
        change = TierChange(partner_id, current_tier, level.key, "up", why, now)
        return TierDecision(
            partner_id, TierStatus.ASSIGNED, current_tier, level.key, why, change
        ), TierState()
    if earned > current:
        why = _met_text(policy, level, metrics)
        change = TierChange(partner_id, current_tier, level.key, "up", why, now)
        return TierDecision(partner_id, TierStatus.UPGRADE, current_tier, level.key, why, change), TierState()
    if earned == current:
        why = _met_text(policy, level, metrics)
        return TierDecision(partner_id, TierStatus.UNCHANGED, current_tier, level.key, why), TierState()
    held = policy.levels[current]
    misses = held.misses(metrics)
    count = state.below_count + 1
    since = state.below_since or now
    floor = 1 - policy.margin_percent / 100
    deep = any(actual < minimum * floor for _, actual, minimum in misses)
    long = count >= policy.consecutive
    drop = {
        HysteresisMode.EITHER: deep or long,
        HysteresisMode.BOTH: deep and long,
        HysteresisMode.MARGIN: deep,
        HysteresisMode.CONSECUTIVE: long,
    }[policy.mode]
    why = _miss_text(policy, held, misses) + _t(policy)["count"].format(count=count, rule=_rule(policy))
    new_state = TierState(count, since)
    if not drop:
        decision = TierDecision(
            partner_id,
            TierStatus.WARNING,
            current_tier,
            level.key,
            why,
            first_warning=count == 1,
            below_count=count,
            below_since=since,
        )
        return decision, new_state
    now_text = _t(policy)["now"].format(tier=_tier_name(policy, level))
    change = TierChange(partner_id, current_tier, level.key, "down", why + now_text, now)
    due = since + grace
    if now < due:
        decision = TierDecision(
            partner_id,
            TierStatus.DOWNGRADE_PENDING,
            current_tier,
            level.key,
            why + _t(policy)["due"].format(due=f"{due:%Y-%m-%d %H:%M}"),
            change,
            first_warning=count == 1,
            below_count=count,
            below_since=since,
            downgrade_at=due,
        )
        return decision, new_state
    decision = TierDecision(
        partner_id,
        TierStatus.DOWNGRADE,
        current_tier,
        level.key,
        change.reason,
        change,
        below_count=count,
        below_since=since,
    )
    return decision, TierState()
