"""The CRM event queue on SQLite and PostgreSQL: a redelivered event (same dedup key) is stored once,
pending events come oldest first, processed ones leave the queue and are purged after their time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crm_bridge.ports import CrmEvent, Entity
from crm_bridge.store import Store

T0 = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def _event(n: int) -> CrmEvent:
    return CrmEvent(kind="deal.creation", entity=Entity.LEAD, crm_id=str(n), dedup_key=f"hubspot:{n}")


def test_a_redelivered_event_is_stored_once_and_processed_events_leave_the_queue(store: Store) -> None:
    assert store.events.add("p", [_event(1), _event(2)], T0) == 2
    assert store.events.add("p", [_event(2), _event(3)], T0) == 1  # 2 is a redelivery
    assert store.events.add("other", [_event(1)], T0) == 1  # another portal's queue
    pending = store.events.pending("p")
    assert [q.event.crm_id for q in pending] == ["1", "2", "3"]
    assert pending[0].event == _event(1)
    store.events.mark_processed([pending[0].id, pending[1].id], T0)
    assert [q.event.crm_id for q in store.events.pending("p")] == ["3"]
    assert store.events.add("p", [_event(1)], T0) == 0  # still remembered after processing
    assert store.events.purge("p", T0 + timedelta(hours=1)) == 2
    assert store.events.add("p", [_event(1)], T0) == 1  # forgotten after the purge
    assert store.events.count_pending("p") == 2
