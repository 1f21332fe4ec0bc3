"""Incremental sync from the FakeCRM into a SQLite state store (services.sync)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from crm_bridge.domain.funnels import default_funnels, desired_layout
from crm_bridge.errors import TransientError
from crm_bridge.fake import FakeClock, FakeCRM
from crm_bridge.ports import Entity, RecordUpdate
from crm_bridge.services.provision import provision
from crm_bridge.services.sync.pull import DEFAULT_OVERLAP, sync
from crm_bridge.store import Store

PORTAL = "fake:test"


@pytest.fixture
def crm(fake_clock: FakeClock) -> FakeCRM:
    fake = FakeCRM(clock=fake_clock, page_size=3)
    provision(fake, desired_layout(default_funnels(), "en", ["bronze", "gold"]))
    fake.add_user("7", "Ирина")
    return fake


def seed(crm: FakeCRM, partners: int, leads_each: int) -> None:
    for p in range(partners):
        partner = crm.seed_partner(f"Партнёр {p}")
        for n in range(leads_each):
            crm.seed_lead(partner.crm_id, f"Лид {p}-{n}", amount=Decimal(100 * n))


class Progress:
    def __init__(self) -> None:
        self.events: list[tuple[str, Entity, object]] = []

    def begin(self, entity: Entity, total: int | None, backfill: bool) -> None:
        self.events.append(("begin", entity, (total, backfill)))

    def advance(self, entity: Entity, records: int) -> None:
        self.events.append(("advance", entity, records))

    def end(self, entity: Entity) -> None:
        self.events.append(("end", entity, None))


def test_first_run_backfills_every_entity_with_progress(
    crm: FakeCRM, store: Store, fake_clock: FakeClock
) -> None:
    seed(crm, partners=2, leads_each=3)
    progress = Progress()
    result = sync(crm, store, PORTAL, now=fake_clock(), progress=progress)
    assert [(e.entity, e.backfill, e.records) for e in result.entities] == [
        (Entity.PARTNER, True, 2),
        (Entity.LEAD, True, 6),
        (Entity.DEAL, True, 0),
    ]
    assert len(list(store.leads(PORTAL))) == 6
    assert ("begin", Entity.LEAD, (6, True)) in progress.events
    assert sum(n for kind, e, n in progress.events if kind == "advance" and e is Entity.LEAD) == 6  # type: ignore[misc]
    assert ("end", Entity.LEAD, None) in progress.events


def test_the_cursor_never_passes_the_sync_start_minus_the_overlap(
    crm: FakeCRM, store: Store, fake_clock: FakeClock
) -> None:
    seed(crm, partners=1, leads_each=2)
    now = fake_clock()
    sync(crm, store, PORTAL, now=now)
    cursor = store.get_cursor(PORTAL, Entity.LEAD)
    assert cursor is not None and cursor.modified_at <= now - DEFAULT_OVERLAP


def test_records_in_the_overlap_are_read_again_but_stored_once(
    crm: FakeCRM, store: Store, fake_clock: FakeClock
) -> None:
    seed(crm, partners=1, leads_each=2)
    sync(crm, store, PORTAL, now=fake_clock())
    fake_clock.advance(3600)
    again = sync(crm, store, PORTAL, now=fake_clock())
    assert again.entities[1].records == 2 and not again.entities[1].backfill
    assert store.records.count(PORTAL, Entity.LEAD) == 2
    assert sync(crm, store, PORTAL, now=fake_clock()).records == 0


def test_an_incremental_run_reads_only_what_changed(
    crm: FakeCRM, store: Store, fake_clock: FakeClock
) -> None:
    seed(crm, partners=2, leads_each=3)
    sync(crm, store, PORTAL, now=fake_clock())
    fake_clock.advance(3600)
    sync(crm, store, PORTAL, now=fake_clock())
    fake_clock.advance(60)
    lead = next(iter(crm.state.leads.values()))
    crm.update_records([RecordUpdate(Entity.LEAD, lead.crm_id, responsible_user_id="7")])
    fake_clock.advance(3600)
    result = sync(crm, store, PORTAL, now=fake_clock())
    assert [(e.entity, e.records) for e in result.entities] == [
        (Entity.PARTNER, 0),
        (Entity.LEAD, 1),
        (Entity.DEAL, 0),
    ]
    stored = next(x for x in store.leads(PORTAL) if x.crm_id == lead.crm_id)
    assert stored.manager_user_id == "7"


def test_a_failure_midway_keeps_the_saved_pages_and_the_next_run_resumes_after_them(
    crm: FakeCRM, store: Store, fake_clock: FakeClock
) -> None:
    seed(crm, partners=1, leads_each=8)
    fake_clock.advance(3600)
    sync(crm, store, PORTAL, now=fake_clock(), entities=[Entity.PARTNER])
    crm.failures.fail_call(crm.calls["changed_since"] + 3, method="changed_since")  # the third lead page
    with pytest.raises(TransientError):
        sync(crm, store, PORTAL, now=fake_clock(), entities=[Entity.LEAD])
    assert store.records.count(PORTAL, Entity.LEAD) == 6
    resumed = sync(crm, store, PORTAL, now=fake_clock(), entities=[Entity.LEAD])
    assert resumed.entities[0].records == 2 and not resumed.entities[0].backfill
    assert store.records.count(PORTAL, Entity.LEAD) == 8


def test_a_stop_request_finishes_the_current_page_and_the_next_run_resumes(
    crm: FakeCRM, store: Store, fake_clock: FakeClock
) -> None:
    seed(crm, partners=1, leads_each=7)
    fake_clock.advance(3600)
    stop_after = iter([False, True])
    first = sync(crm, store, PORTAL, now=fake_clock(), should_stop=lambda: next(stop_after, True))
    assert first.stopped and [(e.entity, e.records) for e in first.entities] == [(Entity.PARTNER, 1)]
    rest = sync(crm, store, PORTAL, now=fake_clock())
    assert store.records.count(PORTAL, Entity.LEAD) == 7 and rest.entities[0].records == 0


def test_naive_sync_start_is_refused(crm: FakeCRM, store: Store) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        sync(crm, store, PORTAL, now=crm.clock().replace(tzinfo=None))


def test_on_page_reports_records_for_metrics(crm: FakeCRM, store: Store, fake_clock: FakeClock) -> None:
    seed(crm, partners=1, leads_each=4)
    seen: list[tuple[Entity, int]] = []
    sync(crm, store, PORTAL, now=fake_clock() + timedelta(hours=1), on_page=lambda e, n: seen.append((e, n)))
    assert seen == [(Entity.PARTNER, 1), (Entity.LEAD, 3), (Entity.LEAD, 1)]


def test_a_source_declaring_its_own_overlap_is_capped_by_it(
    crm: FakeCRM, store: Store, fake_clock: FakeClock
) -> None:
    seed(crm, partners=1, leads_each=2)
    crm.sync_overlap = timedelta(seconds=5)  # type: ignore[attr-defined]  # e.g. crm.bitrix24.sync_overlap
    now = fake_clock()
    sync(crm, store, PORTAL, now=now)
    cursor = store.get_cursor(PORTAL, Entity.LEAD)
    assert cursor is not None and now - DEFAULT_OVERLAP < cursor.modified_at <= now - timedelta(seconds=5)
