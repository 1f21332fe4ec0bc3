"""Outbox, strategy state, tier history and audit log of the state store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crm_bridge.errors import StateError
from crm_bridge.store import Store

P = "bitrix24:example"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_enqueueing_a_duplicate_key_returns_the_existing_item(store: Store) -> None:
    first = store.enqueue(P, "task", "lead-5-task", {"lead": "5"}, now=T0)
    again = store.enqueue(P, "task", "lead-5-task", {"lead": "other"}, now=T0 + timedelta(hours=1))
    assert again == first
    (item,) = store.due(P, now=T0)
    assert (item.id, item.payload, item.attempts, item.status) == (first, {"lead": "5"}, 0, "pending")


def test_the_same_key_in_another_kind_or_portal_is_another_item(store: Store) -> None:
    ids = {
        store.enqueue(P, "task", "k", {}, now=T0),
        store.enqueue(P, "notify", "k", {}, now=T0),
        store.enqueue("amocrm:x", "task", "k", {}, now=T0),
    }
    assert len(ids) == 3


def test_due_items_are_pending_ones_whose_time_has_come_oldest_first(store: Store) -> None:
    a = store.enqueue(P, "task", "a", {}, now=T0 + timedelta(minutes=2))
    b = store.enqueue(P, "task", "b", {}, now=T0)
    c = store.enqueue(P, "notify", "c", {}, now=T0 + timedelta(minutes=1))
    store.enqueue(P, "task", "future", {}, now=T0 + timedelta(hours=1))
    now = T0 + timedelta(minutes=5)
    assert [i.id for i in store.due(P, now=now)] == [b, c, a]
    assert [i.id for i in store.due(P, "task", now=now)] == [b, a]
    assert [i.id for i in store.due(P, now=now, limit=1)] == [b]


def test_a_failed_push_is_retried_later_and_counts_its_attempts(store: Store) -> None:
    item = store.enqueue(P, "task", "a", {}, now=T0)
    store.mark_failed(
        item,
        "HTTP 503 from https://x.bitrix24.ru/rest/1/abcdef123456/tasks.task.add",
        T0 + timedelta(minutes=10),
    )
    assert store.due(P, now=T0 + timedelta(minutes=9)) == []
    (again,) = store.due(P, now=T0 + timedelta(minutes=10))
    assert again.attempts == 1
    assert again.last_error == "HTTP 503 from https://x.bitrix24.ru/rest/1/***/tasks.task.add"


def test_giving_up_and_succeeding_take_items_out_of_the_due_list(store: Store) -> None:
    gone = store.enqueue(P, "task", "a", {}, now=T0)
    done = store.enqueue(P, "task", "b", {}, now=T0)
    store.mark_failed(gone, "validation failed", None)
    store.mark_done(done, {"crm_id": "77"}, now=T0 + timedelta(seconds=3))
    assert store.due(P, now=T0 + timedelta(days=1)) == []
    failed, succeeded = store.outbox.get(gone), store.outbox.get(done)
    assert failed is not None and (failed.status, failed.attempts) == ("failed", 1)
    assert succeeded is not None and (succeeded.status, succeeded.result) == ("done", {"crm_id": "77"})
    assert succeeded.finished_at == T0 + timedelta(seconds=3)


def test_marking_an_unknown_outbox_item_is_a_state_error(store: Store) -> None:
    with pytest.raises(StateError, match="outbox item 999 does not exist"):
        store.mark_done(999)


def test_strategy_state_is_none_until_set_and_then_replaced_whole(store: Store) -> None:
    assert store.get_state(P, "distribution.round_robin") is None
    store.set_state(P, "distribution.round_robin", {"next": 2, "order": ["a", "b", "c"]})
    store.set_state(P, "distribution.round_robin", {"next": 0})
    assert store.get_state(P, "distribution.round_robin") == {"next": 0}
    assert store.get_state("hubspot:1", "distribution.round_robin") is None


def test_tier_history_lists_changes_oldest_first_per_partner(store: Store) -> None:
    store.record_tier_change(P, "17", "silver", "gold", "revenue 1.2M >= 1M", T0 + timedelta(days=30))
    store.record_tier_change(P, "17", None, "silver", "onboarded", T0, {"revenue": "0"})
    store.record_tier_change(P, "18", "gold", "silver", "below by 15% for 3 evaluations", T0)
    history = store.tier_history(P, "17")
    assert [(h.from_tier, h.to_tier) for h in history] == [(None, "silver"), ("silver", "gold")]
    assert history[0].details == {"revenue": "0"} and history[0].at == T0
    assert len(store.tier_history(P)) == 3


def test_audit_entries_filter_by_event_and_time(store: Store) -> None:
    store.audit(P, "provision.applied", {"created": 4}, T0)
    store.audit(P, "tier.changed", {"partner": "17"}, T0 + timedelta(hours=1))
    store.audit(P, "provision.applied", {"created": 0}, T0 + timedelta(hours=2))
    assert [e.details for e in store.audit_entries(P, "provision.applied")] == [
        {"created": 4},
        {"created": 0},
    ]
    window = store.audit_entries(P, since=T0 + timedelta(minutes=1), until=T0 + timedelta(hours=2))
    assert [e.event for e in window] == ["tier.changed"]
    assert len(store.audit_entries(P, limit=2)) == 2
