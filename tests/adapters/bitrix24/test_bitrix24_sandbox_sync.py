"""Incremental listing against the Bitrix24 sandbox: every record once, the cursor, and the request
counts the issue promises (backfill of N: ceil(N/2500)+2; k changed: ceil(k/2500)+2, plus the stage
history of the leads among them that moved: one batch per listing request and per 1,250 moved leads)."""

from __future__ import annotations

import math

import pytest
from b24_support import LEAD_STAGES, partner_type_item

from crm_bridge.domain.layout import FieldEntity
from crm_bridge.domain.model import Lead
from crm_bridge.ports import Entity, RecordUpdate
from crm_bridge.sandbox.server import Sandbox
from crm_bridge_bitrix24 import Bitrix24Adapter


def _seed_leads(sandbox: Sandbox, adapter: Bitrix24Adapter, n: int, partner: str = "") -> None:
    catalog = adapter.catalog()
    category = catalog.funnels["leads"]
    first = catalog.stage_code("leads", None)
    ref = catalog.field(FieldEntity.LEAD, "partner_ref")
    deals = [
        {
            "TITLE": f"Lead {i}",
            "CATEGORY_ID": category,
            "STAGE_ID": first,
            "OPPORTUNITY": "100.00",
            **({ref.code: partner} if ref and partner else {}),
        }
        for i in range(n)
    ]
    sandbox.emulator.seed({"deals": deals})


@pytest.mark.parametrize("n", [0, 37, 5_100])
def test_a_backfill_of_n_records_costs_at_most_n_over_2500_plus_two_requests(
    provisioned: Bitrix24Adapter, sandbox: Sandbox, n: int
) -> None:
    _seed_leads(sandbox, provisioned, n)
    sandbox.log.clear()

    pages = list(provisioned.changed_since(Entity.LEAD, None))

    ids = [r.crm_id for p in pages for r in p.records]
    assert len(ids) == n and len(set(ids)) == n
    assert sandbox.request_count() <= math.ceil(n / 2500) + 2
    assert pages[-1].cursor is not None and pages[-1].cursor.resume == ""  # finished: incremental next
    positions = [int(p.cursor.resume) for p in pages[:-1] if p.cursor is not None]
    assert len(positions) == len(pages) - 1 and positions == sorted(positions)  # a backfill resumes
    stored = {r.crm_id for p in pages[:-1] for r in p.records}
    assert all(str(i) in stored for i in range(1, positions[-1] + 1)) if positions else True


def test_a_backfill_reports_the_total_for_progress(provisioned: Bitrix24Adapter, sandbox: Sandbox) -> None:
    _seed_leads(sandbox, provisioned, 120)

    pages = list(provisioned.changed_since(Entity.LEAD, None))

    assert pages[-1].total == 120


@pytest.mark.parametrize("k", [3, 120, 2_700])
def test_an_incremental_sync_of_k_stage_moves_costs_the_listing_plus_their_history(
    provisioned: Bitrix24Adapter, sandbox: Sandbox, k: int
) -> None:
    _seed_leads(sandbox, provisioned, 3_000)
    sandbox.advance(10)  # the seeded records are older than the backfill minus the 5 s overlap
    cursor = list(provisioned.changed_since(Entity.LEAD, None))[-1].cursor
    sandbox.advance(5)
    changed = [str(i) for i in range(1, 3_001, 3_000 // k)][:k]
    provisioned.update_records(
        [RecordUpdate(Entity.LEAD, crm_id, stage=LEAD_STAGES[1]) for crm_id in changed]
    )
    sandbox.advance(2)
    sandbox.log.clear()

    pages = list(provisioned.changed_since(Entity.LEAD, cursor))

    seen = [r.crm_id for p in pages for r in p.records]
    assert sorted(seen, key=int) == sorted(changed, key=int)
    # The listing: ceil(k/2500)+2 requests. The moved leads' stage history (first touch, furthest stage)
    # with each request of the listing: 25 leads a command, 50 commands (1,250 leads) a batch.
    listing = math.ceil(k / 2500) + 2
    assert sandbox.request_count() <= 2 * listing + math.ceil(k / 1250)
    assert all(isinstance(r, Lead) and r.stage == LEAD_STAGES[1] for p in pages for r in p.records)
    assert all(r.furthest_stage == LEAD_STAGES[1] and r.first_touch_at for p in pages for r in p.records)  # type: ignore[union-attr]


def test_the_next_sync_after_a_finished_one_returns_nothing(
    provisioned: Bitrix24Adapter, sandbox: Sandbox
) -> None:
    _seed_leads(sandbox, provisioned, 60)
    sandbox.advance(10)  # past the 5 s overlap
    cursor = list(provisioned.changed_since(Entity.LEAD, None))[-1].cursor

    again = list(provisioned.changed_since(Entity.LEAD, cursor))

    assert [r for p in again for r in p.records] == []
    assert again[-1].cursor is not None and cursor is not None
    assert again[-1].cursor.modified_at >= cursor.modified_at


def test_records_changed_in_the_second_the_listing_started_are_read_again(
    provisioned: Bitrix24Adapter, sandbox: Sandbox
) -> None:
    _seed_leads(sandbox, provisioned, 2)  # modified "now": the listing starts in the same second
    cursor = list(provisioned.changed_since(Entity.LEAD, None))[-1].cursor

    again = [r.crm_id for p in provisioned.changed_since(Entity.LEAD, cursor) for r in p.records]

    assert again == ["1", "2"]  # a change made during that second after we read it cannot be missed


def test_partners_are_the_companies_carrying_a_partner_type(
    provisioned: Bitrix24Adapter, sandbox: Sandbox
) -> None:
    reseller = partner_type_item(provisioned)
    sandbox.emulator.seed(
        {"companies": [{"TITLE": "ООО Вектор", "UF_CRM_PARTNER_TYPE": reseller}, {"TITLE": "Just a client"}]}
    )

    partners = [r for p in provisioned.changed_since(Entity.PARTNER, None) for r in p.records]

    assert [(p.name, p.type and p.type.value) for p in partners] == [("ООО Вектор", "reseller")]


def test_deals_of_the_other_funnels_carry_their_funnel_and_stage_keys(
    provisioned: Bitrix24Adapter, sandbox: Sandbox
) -> None:
    catalog = provisioned.catalog()
    sandbox.emulator.seed(
        {
            "deals": [
                {
                    "TITLE": "Repeat",
                    "CATEGORY_ID": catalog.funnels["repeat"],
                    "STAGE_ID": catalog.stage_code("repeat", "repeat_won"),
                },
                {"TITLE": "Somebody else's funnel"},
            ]
        }
    )

    deals = [r for p in provisioned.changed_since(Entity.DEAL, None) for r in p.records]

    assert [(d.title, d.funnel, d.stage, d.stage_kind.value, d.repeat) for d in deals] == [  # type: ignore[union-attr]
        ("Repeat", "repeat", "repeat_won", "won", True)
    ]


def test_a_backfill_between_other_funnels_deals_reads_each_lead_once_in_few_requests(
    provisioned: Bitrix24Adapter, sandbox: Sandbox
) -> None:
    catalog = provisioned.catalog()
    lead, repeat = catalog.funnels["leads"], catalog.funnels["repeat"]
    deals = [{"TITLE": f"D{i}", "CATEGORY_ID": lead if i % 2 else repeat} for i in range(10_000)]
    sandbox.emulator.seed({"deals": deals})  # every other id is a partner lead
    sandbox.log.clear()

    ids = [r.crm_id for p in provisioned.changed_since(Entity.LEAD, None) for r in p.records]

    assert len(ids) == 5_000 == len(set(ids))
    assert sandbox.request_count() <= math.ceil(5_000 / 2500) + 2  # windows sized for 90 % of a page
