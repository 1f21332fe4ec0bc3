"""Lead distribution: strategies, capacity, rules, sticky partners, resumable state, explanations."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm_bridge.domain.distribution import (
    DistributionPolicy,
    DistributionState,
    RoutingRule,
    assign,
)
from crm_bridge.domain.model import Lead, Manager, StageKind

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def lead(n: int, partner: str | None = "p1", region: str = "", spec: str = "") -> Lead:
    return Lead(
        f"L{n}",
        partner,
        f"lead {n}",
        "lead_registered",
        StageKind.OPEN,
        T0,
        region=region,
        specialisation=spec,
    )


def mgr(key: str, **kw: object) -> Manager:
    return Manager(key=key, name=key.title(), crm_user_id=f"u-{key}", **kw)  # type: ignore[arg-type]


def run(
    policy: DistributionPolicy,
    managers: list[Manager],
    n: int,
    loads: dict[str, int] | None = None,
    partner: str | None = "p1",
) -> list[str | None]:
    state, loads, picks = DistributionState(), dict(loads or {}), []
    for i in range(n):
        a, state = assign(lead(i, partner), managers, state, loads, policy=policy)
        picks.append(a.manager_key)
        if a.manager_key:
            loads[a.manager_key] = loads.get(a.manager_key, 0) + 1
    return picks


def test_round_robin_takes_managers_in_configured_order_and_wraps() -> None:
    picks = run(DistributionPolicy("round_robin"), [mgr("a"), mgr("b"), mgr("c")], 7)
    assert picks == ["a", "b", "c", "a", "b", "c", "a"]


def test_weighted_is_smooth_and_proportional_to_weights() -> None:
    picks = run(
        DistributionPolicy("weighted"), [mgr("a", weight=5), mgr("b", weight=1), mgr("c", weight=1)], 7
    )
    assert picks == ["a", "a", "b", "a", "c", "a", "a"]  # nginx's smooth sequence: never a burst of 5


@given(weights=st.lists(st.integers(min_value=1, max_value=9), min_size=1, max_size=5))
def test_over_one_full_cycle_weighted_gives_each_manager_exactly_its_weight(weights: list[int]) -> None:
    managers = [mgr(f"m{i}", weight=w) for i, w in enumerate(weights)]
    picks = run(DistributionPolicy("weighted"), managers, sum(weights) * 2)
    assert Counter(picks) == {f"m{i}": 2 * w for i, w in enumerate(weights)}


def test_least_loaded_picks_the_manager_with_fewest_open_leads() -> None:
    picks = run(DistributionPolicy("least_loaded"), [mgr("a"), mgr("b")], 3, loads={"a": 3, "b": 1})
    assert picks == ["b", "b", "a"]


def test_inactive_and_full_managers_are_skipped_and_the_reason_says_why() -> None:
    managers = [mgr("a", active=False), mgr("b", capacity=2), mgr("c")]
    a, _ = assign(lead(1), managers, DistributionState(), {"b": 2}, policy=DistributionPolicy("round_robin"))
    assert a.manager_key == "c" and a.crm_user_id == "u-c"
    assert [(s.manager_key, s.why) for s in a.skipped] == [
        ("a", "inactive"),
        ("b", "at capacity (2/2 open leads)"),
    ]
    assert "a skipped: inactive" in a.reason and "b skipped: at capacity" in a.reason


def test_capacity_left_counts_this_lead() -> None:
    a, _ = assign(lead(1), [mgr("a", capacity=5)], DistributionState(), {"a": 3})
    assert a.capacity_left == 1 and "open leads 4/5" in a.reason


def test_nobody_eligible_gives_no_manager_and_a_reason() -> None:
    a, _ = assign(lead(1), [mgr("a", capacity=1)], DistributionState(), {"a": 1})
    assert a.manager_key is None and a.crm_user_id is None
    assert "no eligible manager for lead L1" in a.reason and "at capacity" in a.reason


def test_state_survives_a_json_round_trip_between_every_lead_with_the_same_result() -> None:
    managers = [mgr("a", weight=3), mgr("b", weight=2), mgr("c")]
    policy = DistributionPolicy("weighted", sticky_per_partner=False)
    straight = run(policy, managers, 12)
    state, resumed = DistributionState(), []
    for i in range(12):
        a, state = assign(lead(i), managers, state, {}, policy=policy)
        state = DistributionState.from_dict(json.loads(json.dumps(state.to_dict())))
        resumed.append(a.manager_key)
    assert resumed == straight


def test_round_robin_resumes_after_the_last_pick_even_when_a_manager_was_removed() -> None:
    state = DistributionState.from_dict({"last": {"all": "b"}})
    a, _ = assign(
        lead(1), [mgr("a"), mgr("b"), mgr("c")], state, {}, policy=DistributionPolicy("round_robin")
    )
    assert a.manager_key == "c"
    state = DistributionState.from_dict({"last": {"all": "gone"}})
    a, _ = assign(lead(1), [mgr("a"), mgr("b")], state, {}, policy=DistributionPolicy("round_robin"))
    assert a.manager_key == "a"


def test_territory_prefers_region_and_specialisation_then_falls_back() -> None:
    managers = [
        mgr("a", regions=frozenset({"msk"})),
        mgr("b", regions=frozenset({"msk"}), specialisations=frozenset({"erp"})),
        mgr("c", regions=frozenset({"spb"})),
    ]
    policy = DistributionPolicy("territory", fallback="least_loaded")
    a, _ = assign(lead(1, region="msk", spec="erp"), managers, DistributionState(), {}, policy=policy)
    assert a.manager_key == "b" and a.rule == "territory: matched region 'msk' and specialisation 'erp'"
    a, _ = assign(lead(2, region="kzn"), managers, DistributionState(), {"a": 2, "b": 1}, policy=policy)
    assert a.manager_key == "c" and a.strategy == "least_loaded" and "no manager covers" in a.reason


def test_territory_whose_managers_are_full_uses_the_fallback() -> None:
    managers = [mgr("a", regions=frozenset({"msk"}), capacity=1), mgr("b")]
    policy = DistributionPolicy("territory", fallback="round_robin")
    a, _ = assign(lead(1, region="msk"), managers, DistributionState(), {"a": 1}, policy=policy)
    assert a.manager_key == "b" and "all at capacity" in a.reason


def test_the_first_matching_rule_routes_and_a_full_rule_falls_back() -> None:
    rules = (
        RoutingRule(("c",), name="vip", partners=frozenset({"p9"})),
        RoutingRule(
            ("a", "b"), name="integrators", partner_types=frozenset({"integrator"}), strategy="round_robin"
        ),
    )
    managers = [mgr("a"), mgr("b"), mgr("c", capacity=1)]
    policy = DistributionPolicy("weighted", fallback="least_loaded", rules=rules)
    state = DistributionState()
    a1, state = assign(lead(1), managers, state, {}, policy=policy, partner_type="integrator")
    a2, state = assign(lead(2), managers, state, {}, policy=policy, partner_type="integrator")
    assert (a1.manager_key, a2.manager_key) == ("a", "b") and a1.rule == "rule integrators"
    vip, _ = assign(lead(3, partner="p9"), managers, state, {}, policy=policy)
    assert vip.manager_key == "c" and vip.rule == "rule vip"
    full, _ = assign(lead(4, partner="p9"), managers, state, {"c": 1, "a": 1}, policy=policy)
    assert full.manager_key == "b" and full.strategy == "least_loaded"
    assert "rule vip matched but none of its managers is available" in full.reason


def test_sticky_keeps_a_partners_leads_with_one_manager_until_it_is_full() -> None:
    managers = [mgr("a", capacity=2), mgr("b"), mgr("c")]
    policy = DistributionPolicy("round_robin", sticky_per_partner=True)
    picks = run(policy, managers, 4, partner="p1")
    assert picks == ["a", "a", "b", "b"]
    a1, state = assign(lead(1, "p1"), managers, DistributionState(), {}, policy=policy)
    a2, state = assign(lead(2, "p2"), managers, state, {"a": 1}, policy=policy)
    a3, state = assign(lead(3, "p1"), managers, state, {"a": 1, "b": 1}, policy=policy)
    assert (a1.manager_key, a2.manager_key, a3.manager_key) == ("a", "b", "a")
    assert state.sticky == {"p1": "a", "p2": "b"}


def test_sticky_strategy_uses_the_fallback_for_a_partners_first_lead() -> None:
    policy = DistributionPolicy("sticky", fallback="least_loaded")
    a, state = assign(lead(1), [mgr("a"), mgr("b")], DistributionState(), {"a": 4}, policy=policy)
    assert a.manager_key == "b" and state.sticky == {"p1": "b"}
    again, _ = assign(lead(2), [mgr("a"), mgr("b")], state, {"a": 0, "b": 9}, policy=policy)
    assert again.manager_key == "b" and again.strategy == "sticky"


def test_unknown_strategies_are_refused_with_their_name() -> None:
    with pytest.raises(ValueError, match="'fastest'"):
        DistributionPolicy("fastest")
    with pytest.raises(ValueError, match="fallback 'territory'"):
        DistributionPolicy("weighted", fallback="territory")


@given(
    caps=st.lists(st.one_of(st.none(), st.integers(min_value=0, max_value=3)), min_size=1, max_size=5),
    strategy=st.sampled_from(["round_robin", "weighted", "least_loaded", "territory", "sticky"]),
    n=st.integers(min_value=1, max_value=15),
)
def test_no_strategy_ever_exceeds_a_capacity_or_picks_an_inactive_manager(
    caps: list[int | None], strategy: str, n: int
) -> None:
    managers = [mgr(f"m{i}", capacity=c, active=i != 1) for i, c in enumerate(caps)]
    picks = run(DistributionPolicy(strategy), managers, n)
    counts = Counter(p for p in picks if p)
    for m in managers:
        assert counts[m.key] <= (m.capacity if m.capacity is not None else n) * m.active
    room = sum((m.capacity if m.capacity is not None else n) for m in managers if m.active)
    assert sum(counts.values()) == min(n, room)
