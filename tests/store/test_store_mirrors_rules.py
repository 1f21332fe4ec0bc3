"""Store queries that pre-filter for a rule decided elsewhere agree with that one definition: the
registrations offered as the same customer (``domain.registration.same_customer``), the assignments
offered for escalation (``services.sla.is_overdue``), and the request budgets (``budgets.admit``, also
behind the in-memory bucket)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, time, timedelta

from crm_bridge.budgets import Bucket
from crm_bridge.domain.model import CustomerIdentity
from crm_bridge.domain.registration import same_customer
from crm_bridge.http import MemoryBucket
from crm_bridge.services.sla import WorkingCalendar, is_overdue, zone
from crm_bridge.store import Store
from crm_bridge.store.assignments import AssignmentRecord, AssignmentRepository
from crm_bridge.store.bucket import SqlBucketStore
from crm_bridge.store.registrations import Registration

PORTAL = "fake:test"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
EMAILS, PHONES, TAX_IDS = ("", "a@x.ru", "b@x.ru"), ("", "+79160000001"), ("", "7707083893")


def registration(n: int, identity: CustomerIdentity, at: datetime) -> Registration:
    return Registration(
        external_id=f"r{n}",
        partner_id=str(10 + n % 3),
        customer_name=f"Customer {n}",
        email=identity.email,
        phone=identity.phone,
        tax_id=identity.tax_id,
        source="test",
        status="pending",
        conflict=False,
        owner_partner_id=None,
        reason="",
        registered_at=at,
        progress_at=at,
    )


def keep(reg: Registration, earlier: list[Registration]) -> Registration:
    return reg


def test_the_registrations_the_store_offers_as_the_same_customer_are_exactly_the_domains(
    store: Store,
) -> None:
    identities = [CustomerIdentity(*parts) for parts in itertools.product(EMAILS, PHONES, TAX_IDS)]
    stored = [registration(n, ident, T0 + timedelta(minutes=n)) for n, ident in enumerate(identities)]
    store.intake.register_many(PORTAL, stored, keep)
    offered: list[list[Registration]] = []

    def decide(reg: Registration, earlier: list[Registration]) -> Registration:
        offered.append(earlier)
        return reg

    for n, new in enumerate(identities):
        offered.clear()
        fresh = registration(100 + n, new, T0 + timedelta(days=1, minutes=n))
        store.intake.register_many(PORTAL, [fresh], decide)
        same = [r for r in stored if same_customer(new, CustomerIdentity(r.email, r.phone, r.tax_id))]
        assert [{r.external_id for r in offered[0]}] == [{r.external_id for r in same}], new
        stored.append(fresh)


def test_every_lead_the_sla_calls_overdue_is_offered_by_the_stores_escalation_query(store: Store) -> None:
    repo = AssignmentRepository(store.engine)
    now = T0
    round_the_clock = WorkingCalendar(days=frozenset(range(7)), start=time(0), end=time(0))
    deadlines = [now - timedelta(hours=2), now - timedelta(seconds=1), now, now + timedelta(seconds=1)]
    for n, deadline in enumerate(deadlines):
        rec = AssignmentRecord(
            f"{n}", "10", "m1", "21", "weighted", "", "NEW", "done", now - timedelta(days=1), deadline
        )
        repo.save(PORTAL, rec)
    offered = {r.lead_crm_id for r in repo.escalation_due(PORTAL, now)}
    for after in (timedelta(0), timedelta(hours=1)):
        overdue = {
            str(n)
            for n, deadline in enumerate(deadlines)
            if is_overdue(deadline, now, after, round_the_clock, zone("UTC"))
        }
        assert overdue <= offered, after
    # with no extra time on a round-the-clock calendar the two are the same set, the deadline itself included
    assert offered == {"0", "1", "2"}


def test_the_state_store_bucket_and_the_in_memory_bucket_admit_the_same_requests(store: Store) -> None:
    sql, memory = SqlBucketStore(store.engine), MemoryBucket()
    buckets = [
        Bucket("b24:portal", 3.0, 2.0),
        Bucket("b24:day", 5.0, window=60.0),
        Bucket("b24:portal", 3.0, 2.0),
    ]
    start = 1_790_000_000.0
    for step in range(40):
        now = start + step * 0.2
        chosen = buckets[: 1 + step % 3]
        assert sql.take_all(chosen, now) == memory.take_all(chosen, now), step
