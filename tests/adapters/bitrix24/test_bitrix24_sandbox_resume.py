"""A Bitrix24 backfill through the sync service into a SQLite state store: killed midway it resumes
from its last stored page (requests of the resumed run counted in the sandbox log), and the sync
overlap reads a write committed late within the cursor's second without re-reading everything."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from b24_support import LEAD_STAGES
from test_bitrix24_sandbox_sync import _seed_leads

from crm_bridge.ports import Entity, RecordUpdate
from crm_bridge.sandbox.server import Sandbox
from crm_bridge.services.sync.pull import sync
from crm_bridge.store import Store, open_store
from crm_bridge_bitrix24 import Bitrix24Adapter
from crm_bridge_bitrix24.rows import iso

PORTAL = "bitrix24:sandbox"
N = 12_000


class Killed(Exception):
    """Stands for the process dying right after a page was stored."""


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(f"sqlite:///{tmp_path / 'state.db'}") as s:
        yield s


def _killer(after_pages: int) -> object:
    stored: list[int] = []

    def on_page(entity: Entity, records: int) -> None:
        stored.append(records)
        if len(stored) == after_pages:
            raise Killed

    return on_page


@pytest.mark.parametrize("killed_after", [1, 3])
def test_a_backfill_killed_midway_resumes_from_its_last_stored_page(
    provisioned: Bitrix24Adapter, sandbox: Sandbox, store: Store, killed_after: int
) -> None:
    _seed_leads(sandbox, provisioned, N)
    sandbox.advance(10)
    sandbox.log.clear()
    with pytest.raises(Killed):
        sync(
            provisioned,
            store,
            PORTAL,
            now=datetime.now(UTC),
            entities=[Entity.LEAD],
            on_page=_killer(killed_after),
        )  # type: ignore[arg-type]
    first_run = sandbox.request_count()
    stopped = store.get_cursor(PORTAL, Entity.LEAD)
    assert stopped is not None and stopped.resume.isdigit()
    done = int(stopped.resume)
    assert store.records.count(PORTAL, Entity.LEAD) >= done > 0  # everything up to it is stored
    sandbox.log.clear()

    resumed = sync(provisioned, store, PORTAL, now=datetime.now(UTC), entities=[Entity.LEAD])

    assert resumed.entities[0].backfill and store.records.count(PORTAL, Entity.LEAD) == N
    assert sandbox.request_count() <= math.ceil((N - done) / 2500) + 2  # only what was left
    if killed_after > 1:  # past the first batch of 2,500: fewer requests than starting over
        assert sandbox.request_count() < math.ceil(N / 2500) + 1 <= first_run + 1
    finished = store.get_cursor(PORTAL, Entity.LEAD)
    assert finished is not None and finished.resume == "" and finished.modified_at <= stopped.modified_at


def test_a_write_committed_late_within_the_cursors_second_is_read_and_little_else(
    provisioned: Bitrix24Adapter, sandbox: Sandbox
) -> None:
    _seed_leads(sandbox, provisioned, 40)
    sandbox.advance(60)
    listed_at = datetime.fromtimestamp(int(sandbox.clock()), UTC)
    cursor = list(provisioned.changed_since(Entity.LEAD, None))[-1].cursor
    assert cursor is not None
    # Stamped two seconds before that listing began but committed (visible) only after it: the
    # portal's clock said 12:00:58, the transaction landed at 12:01:01.
    stamp = iso(listed_at - timedelta(seconds=2))
    catalog = provisioned.catalog()
    row = {
        "TITLE": "Late",
        "CATEGORY_ID": catalog.funnels["leads"],
        "DATE_CREATE": stamp,
        "DATE_MODIFY": stamp,
    }
    late = sandbox.emulator.seed({"deals": [row]})
    sandbox.advance(60)

    pages = list(provisioned.changed_since(Entity.LEAD, cursor))

    seen = [r.crm_id for p in pages for r in p.records]
    assert seen == [str(late["deals"][0])]  # the late write; none of the 40 older leads again
    quiet = list(provisioned.changed_since(Entity.LEAD, pages[-1].cursor))
    assert [r for p in quiet for r in p.records] == []


def test_the_overlap_rereads_only_its_last_seconds(provisioned: Bitrix24Adapter, sandbox: Sandbox) -> None:
    _seed_leads(sandbox, provisioned, 30)
    sandbox.advance(60)
    cursor = list(provisioned.changed_since(Entity.LEAD, None))[-1].cursor
    sandbox.advance(30)
    provisioned.update_records([RecordUpdate(Entity.LEAD, "7", stage=LEAD_STAGES[1])])
    sandbox.advance(2)  # the next sync comes within the overlap of that change

    def listed(since: object) -> tuple[list[str], object]:
        pages = list(provisioned.changed_since(Entity.LEAD, since))  # type: ignore[arg-type]
        return [r.crm_id for p in pages for r in p.records], pages[-1].cursor

    first, after_first = listed(cursor)
    sandbox.advance(60)
    second, after_second = listed(after_first)
    third, _ = listed(after_second)

    assert (first, second, third) == (["7"], ["7"], [])  # once more for the overlap, then never


def test_a_quiet_sync_a_minute_later_reads_nothing_again(
    provisioned: Bitrix24Adapter, sandbox: Sandbox, store: Store
) -> None:
    _seed_leads(sandbox, provisioned, 30)
    sandbox.advance(10)
    sync(provisioned, store, PORTAL, now=datetime.fromtimestamp(sandbox.clock(), UTC), entities=[Entity.LEAD])
    sandbox.advance(60)  # inside the service's own 2-minute default, well past the 5 s overlap

    quiet = sync(provisioned, store, PORTAL, now=datetime.fromtimestamp(sandbox.clock(), UTC))

    assert quiet.records == 0  # the overlap (crm.bitrix24.sync_overlap) is seconds, not minutes
