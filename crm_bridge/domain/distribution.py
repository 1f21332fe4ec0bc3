"""Lead distribution: which sales manager gets a new partner lead (round-robin, smooth weighted,
least-loaded, territory/specialisation, sticky per partner, routing rules), deterministic and resumable."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from crm_bridge.domain.model import Lead, Manager
from crm_bridge.texts import words

# The one list of distribution strategy names: the config's ``distribution.strategy`` / ``fallback``
# (and a rule's ``strategy``) accept exactly these.
StrategyName = Literal["round_robin", "weighted", "least_loaded", "territory", "sticky"]
FallbackName = Literal["round_robin", "weighted", "least_loaded"]  # the ones that always find someone
STRATEGIES: tuple[str, ...] = get_args(StrategyName)
FALLBACKS: tuple[str, ...] = get_args(FallbackName)


@dataclass(frozen=True, slots=True)
class RoutingRule:
    """Leads matching every non-empty condition go to ``managers`` (picked by ``strategy``, default:
    the policy's). ``partners`` are partner CRM ids; ``partner_types`` partner type values."""

    managers: tuple[str, ...]
    name: str = ""
    regions: frozenset[str] = frozenset()
    specialisations: frozenset[str] = frozenset()
    partner_types: frozenset[str] = frozenset()
    partners: frozenset[str] = frozenset()
    strategy: str | None = None

    def matches(self, lead: Lead, partner_type: str | None) -> bool:
        return (
            (not self.regions or lead.region in self.regions)
            and (not self.specialisations or lead.specialisation in self.specialisations)
            and (not self.partner_types or partner_type in self.partner_types)
            and (not self.partners or lead.partner_id in self.partners)
        )


@dataclass(frozen=True, slots=True)
class DistributionPolicy:
    """``strategy`` for leads no rule claims; ``fallback`` when territory finds no match or a rule's
    managers are all unavailable; ``sticky_per_partner`` keeps a partner with its last manager."""

    strategy: str = "weighted"
    fallback: str = "least_loaded"
    sticky_per_partner: bool = False
    rules: tuple[RoutingRule, ...] = ()
    locale: str = "en"  # the language of the decisions' reasons (en, ru)

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy {self.strategy!r}: use one of {', '.join(STRATEGIES)}")
        if self.fallback not in FALLBACKS:
            raise ValueError(f"fallback {self.fallback!r}: use one of {', '.join(FALLBACKS)}")
        for rule in self.rules:
            if rule.strategy is not None and rule.strategy not in STRATEGIES:
                raise ValueError(f"rule {rule.name!r}: strategy {rule.strategy!r} is unknown")


@dataclass(frozen=True, slots=True)
class DistributionState:
    """The resumable cursor the store persists: last round-robin pick and smooth-weighted-round-robin
    current weights per pool of managers, and each partner's sticky manager."""

    last: dict[str, str] = field(default_factory=dict)
    current: dict[str, dict[str, int]] = field(default_factory=dict)
    sticky: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "last": dict(self.last),
            "current": {k: dict(v) for k, v in self.current.items()},
            "sticky": dict(self.sticky),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> DistributionState:
        data = data or {}
        return cls(
            last={str(k): str(v) for k, v in data.get("last", {}).items()},
            current={
                str(p): {str(k): int(v) for k, v in w.items()} for p, w in data.get("current", {}).items()
            },
            sticky={str(k): str(v) for k, v in data.get("sticky", {}).items()},
        )


@dataclass(frozen=True, slots=True)
class Skip:
    manager_key: str
    why: str


@dataclass(frozen=True, slots=True)
class Assignment:
    """The decision for one lead, explaining itself. ``manager_key`` None means nobody is eligible.
    ``capacity_left`` is after this lead (None = unlimited). ``reason`` is text for a CRM task, in the
    policy's locale."""

    lead_id: str
    manager_key: str | None
    crm_user_id: str | None
    strategy: str
    rule: str | None
    capacity_left: int | None
    skipped: tuple[Skip, ...]
    reason: str


def _why_not(manager: Manager, loads: Mapping[str, int], t: Mapping[str, str]) -> str | None:
    if not manager.active:
        return t["inactive"]
    if manager.capacity is not None and loads.get(manager.key, 0) >= manager.capacity:
        return t["at_capacity"].format(load=loads.get(manager.key, 0), capacity=manager.capacity)
    return None


def _strategy(name: str, t: Mapping[str, str]) -> str:
    """``territory+round_robin`` -> each part's name in the locale."""
    return "+".join(t.get(f"strategy_{part}", part) for part in name.split("+"))


def _with(state: DistributionState, **parts: dict[str, Any]) -> DistributionState:
    return DistributionState(
        last={**state.last, **parts.get("last", {})},
        current={**state.current, **parts.get("current", {})},
        sticky={**state.sticky, **parts.get("sticky", {})},
    )


def _pick(
    strategy: str,
    pool_id: str,
    pool: list[Manager],
    ok: set[str],
    loads: Mapping[str, int],
    state: DistributionState,
) -> tuple[Manager, DistributionState]:
    """One of the eligible (``ok``) managers of ``pool`` (configured order) by a plain strategy."""
    eligible = [m for m in pool if m.key in ok]
    if strategy == "least_loaded":
        return min(eligible, key=lambda m: loads.get(m.key, 0)), state
    if strategy == "round_robin":
        keys = [m.key for m in pool]
        start = keys.index(state.last[pool_id]) + 1 if state.last.get(pool_id) in keys else 0
        chosen = next(
            pool[(start + i) % len(pool)] for i in range(len(pool)) if pool[(start + i) % len(pool)].key in ok
        )
        return chosen, _with(state, last={pool_id: chosen.key})
    # weighted: smooth weighted round-robin (as nginx): add weights, take the largest, subtract the total
    current = {k: v for k, v in state.current.get(pool_id, {}).items() if k in ok}
    for m in eligible:
        current[m.key] = current.get(m.key, 0) + m.weight
    chosen = max(eligible, key=lambda m: (current[m.key], -eligible.index(m)))
    current[chosen.key] -= sum(m.weight for m in eligible)
    return chosen, _with(state, current={pool_id: current})


def _territory(lead: Lead, eligible: list[Manager], t: Mapping[str, str]) -> tuple[list[Manager], str]:
    """Managers matching the lead's region and specialisation best (both > either > none)."""

    def score(m: Manager) -> int:
        return (2 if lead.region and lead.region in m.regions else 0) + (
            1 if lead.specialisation and lead.specialisation in m.specialisations else 0
        )

    best = max((score(m) for m in eligible), default=0)
    if best == 0:
        return [], ""
    what = []
    if best >= 2:
        what.append(t["region"].format(value=lead.region))
    if best % 2:
        what.append(t["specialisation"].format(value=lead.specialisation))
    return [m for m in eligible if score(m) == best], t["and"].join(what)


def assign(
    lead: Lead,
    managers: Sequence[Manager],
    state: DistributionState,
    loads: Mapping[str, int],
    *,
    policy: DistributionPolicy = DistributionPolicy(),
    partner_type: str | None = None,
) -> tuple[Assignment, DistributionState]:
    """Choose the manager for ``lead``. ``loads`` are open leads per manager key (before this one);
    ``managers`` in configured order (round-robin follows it). Order of decision: the partner's sticky
    manager if still available, then the first matching rule with someone available, then the
    policy's strategy over everybody (territory without a match and sticky use ``fallback``)."""
    t = words("distribution", policy.locale)
    skipped: list[Skip] = []
    ok: set[str] = set()
    for m in managers:
        why = _why_not(m, loads, t)
        if why:
            skipped.append(Skip(m.key, why))
        else:
            ok.add(m.key)
    by_key = {m.key: m for m in managers}
    sticky = policy.sticky_per_partner or policy.strategy == "sticky"
    chosen: Manager | None = None
    strategy, rule_text, detail = policy.strategy, None, ""
    rule_unavailable = False
    previous = state.sticky.get(lead.partner_id or "") if sticky and lead.partner_id else None
    if previous in ok:
        chosen, strategy, detail = (
            by_key[previous],
            "sticky",
            t["sticky_kept"].format(partner=lead.partner_id),
        )
    elif previous:
        detail = t["sticky_unavailable"].format(partner=lead.partner_id, manager=previous)
    for index, rule in enumerate(policy.rules if chosen is None else ()):
        if not rule.matches(lead, partner_type):
            continue
        label = rule.name or f"rules[{index}]"
        pool = [by_key[k] for k in rule.managers if k in by_key]
        if not any(m.key in ok for m in pool):
            detail += t["rule_unavailable"].format(rule=label)
            rule_unavailable = True
            continue
        plain = rule.strategy or policy.strategy
        strategy = plain if plain in FALLBACKS else policy.fallback
        chosen, state = _pick(strategy, f"rule:{label}", pool, ok, loads, state)
        rule_text = t["rule"].format(rule=label)
        break
    if chosen is None and ok:
        pool, pool_id = list(managers), "all"
        strategy = policy.strategy if policy.strategy in FALLBACKS else policy.fallback
        if rule_unavailable:
            strategy = policy.fallback
        elif policy.strategy == "territory":
            matched, what = _territory(lead, [m for m in managers if m.active], t)
            if matched and not any(m.key in ok for m in matched):
                detail += t["territory_full"].format(what=what, fallback=_strategy(policy.fallback, t))
                strategy = policy.fallback
            elif matched:
                pool, pool_id, strategy = (
                    matched,
                    "territory:" + ",".join(m.key for m in matched),
                    "territory",
                )
                rule_text = t["territory_matched"].format(what=what)
            else:
                detail += t["territory_none"]
        plain = policy.fallback if strategy == "territory" else strategy
        chosen, state = _pick(plain, pool_id, pool, ok, loads, state)
        if strategy == "territory":
            strategy = f"territory+{plain}"
    skip_text = "; ".join(t["skipped"].format(manager=s.manager_key, why=s.why) for s in skipped)
    if chosen is None:
        reason = t["nobody"].format(lead=lead.crm_id) + (detail + skip_text or t["no_managers"])
        return Assignment(
            lead.crm_id, None, None, strategy, rule_text, None, tuple(skipped), reason.strip("; ")
        ), state
    if sticky and lead.partner_id:
        state = _with(state, sticky={lead.partner_id: chosen.key})
    left = None if chosen.capacity is None else chosen.capacity - loads.get(chosen.key, 0) - 1
    said = t["assigned"].format(
        lead=lead.crm_id, name=chosen.name, key=chosen.key, strategy=_strategy(strategy, t)
    )
    parts = [said]
    parts += [rule_text] if rule_text else []
    parts += [detail.strip("; ")] if detail else []
    parts += [
        t["open_leads"].format(count=loads.get(chosen.key, 0) + 1)
        + (t["of_capacity"].format(capacity=chosen.capacity) if chosen.capacity else "")
    ]
    parts += [skip_text] if skip_text else []
    assignment = Assignment(
        lead.crm_id,
        chosen.key,
        chosen.crm_user_id,
        strategy,
        rule_text,
        left,
        tuple(skipped),
        "; ".join(parts),
    )
    return assignment, state
