"""Lead distribution, read as the CRM task shows it: the whole decision (manager, strategy, rule,
capacity left, who was skipped) and its reason, word for word, in English and Russian, and the
cursor it leaves for the next lead."""

from __future__ import annotations

from datetime import UTC, datetime

from crm_bridge.domain.distribution import (
    Assignment,
    DistributionPolicy,
    DistributionState,
    RoutingRule,
    Skip,
    assign,
)
from crm_bridge.domain.model import Lead, Manager, StageKind

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
MSK = frozenset({"msk"})


def lead(partner: str | None = "p1", region: str = "", spec: str = "") -> Lead:
    return Lead(
        "L1", partner, "lead 1", "lead_registered", StageKind.OPEN, T0, region=region, specialisation=spec
    )


def mgr(key: str, **kw: object) -> Manager:
    return Manager(key=key, name=key.title(), crm_user_id=f"u-{key}", **kw)  # type: ignore[arg-type]


def test_an_assignment_names_the_manager_the_load_it_will_have_and_everyone_skipped() -> None:
    managers = [mgr("a", active=False), mgr("b", capacity=2), mgr("c", capacity=3)]
    a, state = assign(
        lead(), managers, DistributionState(), {"b": 2}, policy=DistributionPolicy("round_robin")
    )
    skipped = (Skip("a", "inactive"), Skip("b", "at capacity (2/2 open leads)"))
    reason = (
        "lead L1 assigned to C (c) by round_robin; open leads 1/3; a skipped: inactive; "
        "b skipped: at capacity (2/2 open leads)"
    )
    assert a == Assignment("L1", "c", "u-c", "round_robin", None, 2, skipped, reason)
    assert state.to_dict() == {"last": {"all": "c"}, "current": {}, "sticky": {}}


def test_nobody_available_says_why_for_each_manager_or_that_none_is_configured() -> None:
    full = [mgr("a", capacity=0), mgr("b", capacity=1)]
    a, state = assign(lead(), full, DistributionState(), {"b": 1}, policy=DistributionPolicy("round_robin"))
    skipped = (Skip("a", "at capacity (0/0 open leads)"), Skip("b", "at capacity (1/1 open leads)"))
    reason = (
        "no eligible manager for lead L1: a skipped: at capacity (0/0 open leads); "
        "b skipped: at capacity (1/1 open leads)"
    )
    assert a == Assignment("L1", None, None, "round_robin", None, None, skipped, reason)
    assert state == DistributionState()
    none, _ = assign(lead(), [], DistributionState(), {})
    assert none.reason == "no eligible manager for lead L1: no managers configured"
    assert none.strategy == "weighted"
    rule = RoutingRule(("x",), name="vip")
    ruled, _ = assign(lead(), [], DistributionState(), {}, policy=DistributionPolicy(rules=(rule,)))
    assert (
        ruled.reason
        == "no eligible manager for lead L1: rule vip matched but none of its managers is available"
    )


def test_a_partners_kept_manager_wins_over_the_rules_and_the_reason_says_so_in_russian() -> None:
    rule = RoutingRule(("b",), name="all")
    policy = DistributionPolicy("round_robin", sticky_per_partner=True, rules=(rule,), locale="ru")
    a, state = assign(
        lead(), [mgr("a"), mgr("b")], DistributionState(sticky={"p1": "a"}), {"a": 1}, policy=policy
    )
    reason = (
        "лид L1 назначен: A (a), способ — закреплённый менеджер; оставлен за менеджером партнёра p1; "
        "открытых лидов 2"
    )
    assert a == Assignment("L1", "a", "u-a", "sticky", None, None, (), reason)
    assert state.sticky == {"p1": "a"}


def test_an_unavailable_kept_manager_and_an_unmatched_territory_are_both_told() -> None:
    policy = DistributionPolicy("territory", fallback="round_robin", sticky_per_partner=True)
    managers = [mgr("a", capacity=1), mgr("b", regions=MSK)]
    a, state = assign(
        lead(region="kzn"), managers, DistributionState(sticky={"p1": "a"}), {"a": 1}, policy=policy
    )
    reason = (
        "lead L1 assigned to B (b) by round_robin; partner p1's manager a unavailable; "
        "territory: no manager covers the lead's region or specialisation; open leads 1; "
        "a skipped: at capacity (1/1 open leads)"
    )
    assert a == Assignment(
        "L1", "b", "u-b", "round_robin", None, None, (Skip("a", "at capacity (1/1 open leads)"),), reason
    )
    assert state.to_dict() == {"last": {"all": "b"}, "current": {}, "sticky": {"p1": "b"}}


def test_without_sticky_partners_a_remembered_manager_is_neither_used_nor_updated() -> None:
    remembered = DistributionState(sticky={"p1": "b"})
    a, state = assign(lead(), [mgr("a"), mgr("b")], remembered, {}, policy=DistributionPolicy("round_robin"))
    assert a.manager_key == "a" and a.strategy == "round_robin"
    assert state.sticky == {"p1": "b"}


def test_rules_whose_managers_are_unavailable_are_all_told_and_the_next_matching_rule_routes() -> None:
    rules = (
        RoutingRule(("x",), name="one"),
        RoutingRule(("a",), name="two"),
        RoutingRule(("b", "c"), name="three", strategy="territory"),  # not a plain strategy: the fallback
    )
    policy = DistributionPolicy("weighted", fallback="round_robin", rules=rules)
    a, state = assign(
        lead(), [mgr("a", active=False), mgr("b"), mgr("c")], DistributionState(), {}, policy=policy
    )
    reason = (
        "lead L1 assigned to B (b) by round_robin; rule three; "
        "rule one matched but none of its managers is available; "
        "rule two matched but none of its managers is available; open leads 1; a skipped: inactive"
    )
    assert a == Assignment(
        "L1", "b", "u-b", "round_robin", "rule three", None, (Skip("a", "inactive"),), reason
    )
    assert state.to_dict() == {"last": {"rule:three": "b"}, "current": {}, "sticky": {}}


def test_a_rule_picks_by_its_own_strategy_else_the_policys_and_keeps_its_own_cursor() -> None:
    managers = [mgr("a"), mgr("b")]
    own = DistributionPolicy("weighted", rules=(RoutingRule(("a", "b"), name="r", strategy="least_loaded"),))
    a, state = assign(lead(), managers, DistributionState(), {"a": 2}, policy=own)
    assert (a.manager_key, a.strategy, a.rule, state) == ("b", "least_loaded", "rule r", DistributionState())
    policys = DistributionPolicy("round_robin", rules=(RoutingRule(("a", "b"), name="r"),))
    a, state = assign(lead(), managers, DistributionState(), {"a": 2}, policy=policys)
    assert a == Assignment(
        "L1",
        "a",
        "u-a",
        "round_robin",
        "rule r",
        None,
        (),
        "lead L1 assigned to A (a) by round_robin; rule r; open leads 3",
    )
    assert state.to_dict() == {"last": {"rule:r": "a"}, "current": {}, "sticky": {}}


def test_territory_matches_the_region_alone_or_the_specialisation_alone_and_names_it_in_russian() -> None:
    policy = DistributionPolicy("territory", fallback="round_robin", locale="ru")
    managers = [
        mgr("a", regions=MSK),
        mgr("b", regions=MSK, specialisations=frozenset({"crm"})),
        mgr("c", specialisations=frozenset({"erp"})),
    ]
    by_region, state = assign(
        lead(region="msk", spec="erp"), managers, DistributionState(), {}, policy=policy
    )
    matched = "территория: совпадение — регион «msk»"
    reason = f"лид L1 назначен: A (a), способ — по территории+по очереди; {matched}; открытых лидов 1"
    assert by_region == Assignment("L1", "a", "u-a", "territory+round_robin", matched, None, (), reason)
    assert state.to_dict() == {"last": {"territory:a,b": "a"}, "current": {}, "sticky": {}}
    by_spec, state = assign(lead(region="spb", spec="erp"), managers, DistributionState(), {}, policy=policy)
    assert by_spec.manager_key == "c" and by_spec.rule == "территория: совпадение — специализация «erp»"
    assert state.last == {"territory:c": "c"}


def test_a_full_territory_says_which_fallback_it_used() -> None:
    policy = DistributionPolicy("territory", fallback="round_robin", locale="ru")
    managers = [mgr("a", regions=MSK, capacity=1), mgr("b")]
    a, _ = assign(lead(region="msk"), managers, DistributionState(), {"a": 1}, policy=policy)
    assert a.reason == (
        "лид L1 назначен: B (b), способ — по очереди; территория: все менеджеры (регион «msk») загружены "
        "полностью, выбор — по очереди; открытых лидов 1; a пропущен: загружен полностью (1/1 открытых лидов)"
    )


def test_weighted_leaves_the_smooth_weights_for_the_next_lead() -> None:
    a, state = assign(lead(), [mgr("a", weight=3), mgr("b", weight=2)], DistributionState(), {})
    assert a.manager_key == "a" and a.reason == "lead L1 assigned to A (a) by weighted; open leads 1"
    assert state.current == {"all": {"a": -2, "b": 2}}  # 3 and 2 added, the total 5 taken from the pick


def test_a_full_territory_after_an_unavailable_kept_manager_tells_both_and_a_partner_id_stays_whole() -> None:
    policy = DistributionPolicy("territory", fallback="round_robin", sticky_per_partner=True)
    managers = [mgr("a", regions=MSK, capacity=1), mgr("b")]
    a, _ = assign(
        lead(region="msk"), managers, DistributionState(sticky={"p1": "a"}), {"a": 1}, policy=policy
    )
    assert a.reason == (
        "lead L1 assigned to B (b) by round_robin; partner p1's manager a unavailable; territory: managers "
        "for region 'msk' are all at capacity, using round_robin; open leads 1; "
        "a skipped: at capacity (1/1 open leads)"
    )
    kept = DistributionPolicy("round_robin", sticky_per_partner=True, locale="ru")  # the id ends the text
    a, _ = assign(lead("PX"), [mgr("a")], DistributionState(sticky={"PX": "a"}), {}, policy=kept)
    assert a.reason == (
        "лид L1 назначен: A (a), способ — закреплённый менеджер; оставлен за менеджером партнёра PX; "
        "открытых лидов 1"
    )
