"""Key-value namespaces and exactly-once id bindings of the state store."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crm_bridge.errors import StateError
from crm_bridge.ports import KeyValueState
from crm_bridge.store import Store, open_store


def test_kv_values_round_trip_as_json_and_survive_reopening(store: Store, store_url: str) -> None:
    kv: KeyValueState = store.kv("adapter:bitrix24:example")
    kv.set("tokens", {"access": "a", "expires": 1764158400, "scopes": ["crm", "task"]})
    reopened = open_store(store_url)
    try:
        value = reopened.kv("adapter:bitrix24:example").get("tokens")
    finally:
        reopened.close()
    assert value == {"access": "a", "expires": 1764158400, "scopes": ["crm", "task"]}


def test_kv_set_replaces_none_deletes_and_missing_keys_are_none(store: Store) -> None:
    kv = store.kv("ns")
    kv.set("k", 1)
    kv.set("k", [2])
    assert kv.get("k") == [2]
    kv.set("k", None)
    assert kv.get("k") is None
    assert kv.keys() == []


def test_kv_namespaces_do_not_see_each_other(store: Store) -> None:
    store.kv("a").set("k", "from a")
    assert store.kv("b").get("k") is None
    assert store.kv("a").get("k") == "from a"


def test_kv_refuses_values_that_are_not_json(store: Store) -> None:
    with pytest.raises(StateError, match="writing ns/k"):
        store.kv("ns").set("k", {"amount": Decimal("1.5")})


P = "bitrix24:example"


def test_reserving_twice_returns_the_same_pending_binding(store: Store) -> None:
    first = store.reserve(P, "lead", "ext-1", "hash-1")
    second = store.reserve(P, "lead", "ext-1", "hash-2")
    assert first == second
    assert (second.status, second.crm_id, second.payload_hash) == ("pending", None, "hash-1")
    assert [b.external_id for b in store.pending(P)] == ["ext-1"]


def test_a_bound_binding_is_found_both_ways_and_leaves_pending(store: Store) -> None:
    store.reserve(P, "lead", "ext-1")
    bound = store.bind(P, "lead", "ext-1", "101")
    assert bound.bound and bound.crm_id == "101" and bound.bound_at is not None
    assert store.lookup(P, "lead", external_id="ext-1") == bound
    assert store.lookup(P, "lead", crm_id="101") == bound
    assert store.pending(P, "lead") == []
    assert store.reserve(P, "lead", "ext-1").crm_id == "101"  # a rerun finds the created record


def test_binding_again_to_the_same_id_is_a_no_op(store: Store) -> None:
    once = store.bind(P, "deal", "ext-9", "7")
    assert store.bind(P, "deal", "ext-9", "7") == once


def test_a_crm_id_cannot_be_bound_to_two_external_ids(store: Store) -> None:
    store.bind(P, "lead", "ext-1", "101")
    with pytest.raises(StateError, match="lead 101 is already bound to external id 'ext-1'"):
        store.bind(P, "lead", "ext-2", "101")
    assert store.lookup(P, "lead", external_id="ext-2") is None


def test_an_external_id_cannot_be_rebound_to_another_crm_id(store: Store) -> None:
    store.bind(P, "lead", "ext-1", "101")
    with pytest.raises(StateError, match="already bound to CRM id 101"):
        store.bind(P, "lead", "ext-1", "102")


def test_bindings_are_separate_per_portal_and_entity(store: Store) -> None:
    store.bind(P, "lead", "ext-1", "101")
    store.bind("amocrm:other", "lead", "ext-1", "101")
    store.bind(P, "task", "ext-1", "101")
    assert store.lookup("amocrm:other", "lead", crm_id="101") is not None
    assert store.lookup(P, "deal", external_id="ext-1") is None


def test_a_pending_reservation_can_be_released_but_a_bound_one_cannot(store: Store) -> None:
    store.reserve(P, "lead", "gone")
    store.bind(P, "lead", "kept", "5")
    assert store.bindings.release(P, "lead", "gone") is True
    assert store.bindings.release(P, "lead", "kept") is False
    assert store.lookup(P, "lead", external_id="gone") is None
    assert store.lookup(P, "lead", external_id="kept") is not None


def test_lookup_needs_exactly_one_key(store: Store) -> None:
    with pytest.raises(ValueError):
        store.lookup(P, "lead")
