"""Exclusive access by tier (handbook 6.2, non-money stimuli): what a partner of each tier unlocks —
regions, products, materials, events — and what a tier change gains or loses.

Rule (one home, ``unlocked``): with ``cumulative`` (the default) a tier unlocks its own items and
those of every tier below it (Gold keeps what Silver had); otherwise only its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

KINDS: tuple[str, ...] = ("regions", "products", "materials", "events")
KIND_NAMES: dict[str, tuple[str, str]] = {
    "regions": ("регионы", "regions"),
    "products": ("продукты", "products"),
    "materials": ("материалы", "materials"),
    "events": ("мероприятия", "events"),
}


@dataclass(frozen=True, slots=True)
class Access:
    """Items per kind (``regions`` …), each a frozenset of names."""

    items: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.items) - set(KINDS))
        if unknown:
            raise ValueError(f"unknown access kinds {unknown}: use {', '.join(KINDS)}")

    def of(self, kind: str) -> frozenset[str]:
        return self.items.get(kind, frozenset())

    def is_empty(self) -> bool:
        return not any(self.items.values())

    def union(self, other: Access) -> Access:
        return Access({k: self.of(k) | other.of(k) for k in KINDS if self.of(k) | other.of(k)})

    def minus(self, other: Access) -> Access:
        return Access({k: self.of(k) - other.of(k) for k in KINDS if self.of(k) - other.of(k)})

    def describe(self, locale: str = "en") -> str:
        """``regions: Moscow, Kazan; products: Pro`` (empty string when nothing)."""
        parts = []
        for kind in KINDS:
            if self.of(kind):
                name = KIND_NAMES[kind][0 if locale == "ru" else 1]
                parts.append(f"{name}: {', '.join(sorted(self.of(kind)))}")
        return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class AccessPolicy:
    """``tiers`` lowest first (the tier policy's order); ``by_tier`` what each tier itself grants."""

    tiers: Sequence[str]
    by_tier: Mapping[str, Access] = field(default_factory=dict)
    cumulative: bool = True

    def __post_init__(self) -> None:
        unknown = sorted(set(self.by_tier) - set(self.tiers))
        if unknown:
            raise ValueError(f"access for unknown tiers {unknown}: tiers are {', '.join(self.tiers)}")


def unlocked(policy: AccessPolicy, tier: str | None) -> Access:
    """Everything a partner at ``tier`` has (nothing for no tier or a tier not in the policy)."""
    if tier is None or tier not in policy.tiers:
        return Access()
    if not policy.cumulative:
        return policy.by_tier.get(tier, Access())
    result = Access()
    for key in policy.tiers[: list(policy.tiers).index(tier) + 1]:
        result = result.union(policy.by_tier.get(key, Access()))
    return result


@dataclass(frozen=True, slots=True)
class AccessChange:
    partner_id: str
    old_tier: str | None
    new_tier: str | None
    gained: Access
    lost: Access
    now: Access  # everything the partner has at the new tier

    @property
    def changed(self) -> bool:
        return not (self.gained.is_empty() and self.lost.is_empty())


def access_change(policy: AccessPolicy, partner_id: str, old: str | None, new: str | None) -> AccessChange:
    before, after = unlocked(policy, old), unlocked(policy, new)
    return AccessChange(partner_id, old, new, after.minus(before), before.minus(after), after)
