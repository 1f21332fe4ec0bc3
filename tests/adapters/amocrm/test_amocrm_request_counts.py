"""Request counts on the amoCRM sandbox, read from its request log: provisioning from scratch and again,
a backfill of N leads, N leads pushed (with customers), N tasks, and a refused item in an array."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from math import ceil

import pytest
from amo_support import DESIRED, LEAD_STAGES, counts, provision, seed_partner, writes

from crm_bridge.domain.model import CustomerIdentity
from crm_bridge.domain.provisioning import plan
from crm_bridge.errors import CrmValidationError
from crm_bridge.ports import Entity, LeadDraft, RecordRef, RecordUpdate, TaskDraft
from crm_bridge.sandbox.server import Sandbox
from crm_bridge_amocrm import AmoCrmAdapter


def test_provisioning_from_scratch_takes_three_reads_and_three_writes_and_a_rerun_writes_nothing(
    adapter: AmoCrmAdapter, sandbox: Sandbox
) -> None:
    first = plan(DESIRED, adapter.observe_layout())
    after = adapter.apply_plan(first)
    made = counts(sandbox)
    sandbox.log.clear()
    second = provision(adapter)

    assert first.writes and second.is_noop
    # the layout apply_plan reports, built from amoCRM's answers to the creates, is already complete
    # (what the provision service checks): nothing is read again after writing
    assert plan(DESIRED, after).is_noop
    # 1 + E reads (the pipelines, each entity's fields: E = 2, companies and leads), then 1 + E writes
    # (all pipelines with every status in one array, one field array per entity): 2 (1 + E) = 6
    assert made == {
        "GET /api/v4/leads/pipelines": 1,
        "GET /api/v4/companies/custom_fields": 1,
        "GET /api/v4/leads/custom_fields": 1,
        "POST /api/v4/leads/pipelines": 1,
        "POST /api/v4/companies/custom_fields": 1,
        "POST /api/v4/leads/custom_fields": 1,
    }
    assert writes(sandbox) == 0 and sandbox.request_count() == 3  # a re-run: 1 + E reads


def test_a_renamed_option_and_a_new_stage_are_two_requests(adapter: AmoCrmAdapter, sandbox: Sandbox) -> None:
    provision(adapter)
    funnels = tuple(
        f
        if f.key != "leads"
        else f.__class__(
            f.key,
            f.name,
            (*f.stages[:1], f.stages[0].__class__("demo", "Demo", sort=150, color="#98cbff"), *f.stages[1:]),
            f.sort,
        )
        for f in DESIRED.funnels
    )
    fields = tuple(
        f
        if f.key != "tier"
        else f.__class__(
            f.key, f.entity, f.label, f.type, tuple(o.__class__(o.key, o.label.upper()) for o in f.options)
        )
        for f in DESIRED.fields
    )
    changed = DESIRED.__class__(funnels, fields)
    sandbox.log.clear()

    after = adapter.apply_plan(plan(changed, adapter.observe_layout()))

    assert plan(changed, after).is_noop
    assert {k: v for k, v in counts(sandbox).items() if not k.startswith("GET")} == {
        "POST /api/v4/leads/pipelines/{id}/statuses": 1,
        "PATCH /api/v4/companies/custom_fields": 1,
    }
    # the added status is taken from the answer; the renamed options are read again (companies only);
    # the adapter was built for DESIRED, where "demo" is not: its record count is read (for --prune)
    assert counts(sandbox, "GET") == {
        "GET /api/v4/leads/pipelines": 1,
        "GET /api/v4/companies/custom_fields": 2,
        "GET /api/v4/leads/custom_fields": 1,
        "GET /api/v4/leads": 1,
    }
    assert provision(adapter, changed).is_noop


def test_a_backfill_of_n_leads_reads_ceil_n_over_250_pages(
    provisioned: AmoCrmAdapter, sandbox: Sandbox
) -> None:
    partner = seed_partner(sandbox, provisioned)
    n = 1_030
    pipeline = provisioned.catalog().funnels["leads"]
    base = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())
    for start in range(0, n, 250):
        sandbox.emulator.seed(
            {
                "leads": [
                    {
                        "name": f"L{i}",
                        "pipeline_id": pipeline,
                        "created_at": base + i // 3,
                        "updated_at": base + i // 3,
                        "_embedded": {"companies": [{"id": int(partner)}]},
                    }
                    for i in range(start, min(n, start + 250))
                ]
            }
        )
    sandbox.log.clear()

    leads = [r for page in provisioned.changed_since(Entity.LEAD, None) for r in page.records]

    assert len(leads) == n and len({r.crm_id for r in leads}) == n
    # 250-row pages; each next page starts at the previous page's last second (3 leads a second here);
    # after the first page the rest of the time range is cut into 4 windows read at once (one last,
    # short page each)
    assert counts(sandbox)["GET /api/v4/leads"] <= ceil(n / (250 - 3)) + 4
    assert set(counts(sandbox)) == {"GET /api/v4/leads"}


def test_a_crowded_second_is_read_alone_and_nothing_is_lost(
    provisioned: AmoCrmAdapter, sandbox: Sandbox
) -> None:
    pipeline = provisioned.catalog().funnels["leads"]
    stamp = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())
    for _ in range(3):  # 750 leads changed in the same second (a bulk import)
        sandbox.emulator.seed(
            {
                "leads": [{"name": "x", "pipeline_id": pipeline, "updated_at": stamp, "created_at": stamp}]
                * 250
            }
        )
    sandbox.log.clear()

    leads = [r for page in provisioned.changed_since(Entity.LEAD, None) for r in page.records]

    assert len({r.crm_id for r in leads}) == 750
    assert counts(sandbox)["GET /api/v4/leads"] <= ceil(750 / 250) + 3


def test_pushing_n_leads_with_customers_and_comments(provisioned: AmoCrmAdapter, sandbox: Sandbox) -> None:
    partner = seed_partner(sandbox, provisioned)
    n = 520
    customer = CustomerIdentity(email="buyer@example.com", phone="+79161234567", tax_id="7707083893")
    drafts = [
        LeadDraft(
            f"ext-{i}",
            partner,
            f"Lead {i}",
            customer_name="Buyer",
            customer=customer,
            amount=Decimal("10.4"),
            comment="Call after 5 pm" if i % 2 == 0 else "",
        )
        for i in range(n)
    ]
    units = [400, n - 400]  # drafts are handled in units of 400, each looked up and then created
    sandbox.log.clear()

    outcomes = provisioned.create_leads(drafts)
    pushed = counts(sandbox)
    sandbox.log.clear()
    again = provisioned.create_leads(drafts)

    assert all(o.ok and o.created for o in outcomes)
    assert pushed == {
        "GET /api/v4/leads": ceil(n / 80),  # external ids looked up, 80 a request (URLs under 8 KB)
        "POST /api/v4/leads/complex": ceil(n / 50),  # lead and contact together, 50 a request
        "POST /api/v4/leads/notes": sum(ceil(u / 2 / 250) for u in units),  # the comments
    }
    assert [o.crm_id for o in again] == [o.crm_id for o in outcomes] and not any(o.created for o in again)
    # a rerun finds every lead; the notes of the leads with a comment are read, none is added twice
    assert counts(sandbox) == {
        "GET /api/v4/leads": ceil(n / 80),
        "GET /api/v4/leads/notes": sum(ceil(u / 2 / 80) for u in units),
    }
    longest = max(len(str(e["query"])) for e in sandbox.requests())
    assert longest < 8_000
    dump = sandbox.emulator.dump()
    lead = dump["leads"][0]
    assert lead["price"] == 10 and len(lead["_contact_ids"]) == 1  # amoCRM keeps whole amounts
    contact = next(c for c in dump["contacts"] if c["id"] == lead["_contact_ids"][0])
    assert contact["name"] == "Buyer (ИНН 7707083893)" and len(dump["contacts"]) == n
    notes = [note for note in dump["notes"] if note["entity_id"] == lead["id"]]
    assert [note["params"]["text"] for note in notes] == ["Call after 5 pm"]
    assert len(dump["notes"]) == n // 2


def test_a_refused_lead_fails_alone_and_its_neighbours_are_created(
    provisioned: AmoCrmAdapter, sandbox: Sandbox
) -> None:
    partner = seed_partner(sandbox, provisioned)
    drafts = [LeadDraft(f"ext-{i}", partner if i != 3 else "987654321", f"Lead {i}") for i in range(6)]
    sandbox.log.clear()

    outcomes = provisioned.create_leads(drafts)

    assert [o.ok for o in outcomes] == [True, True, True, False, True, True]
    assert "_embedded.companies" in (outcomes[3].error or "")
    assert counts(sandbox, "POST") == {"POST /api/v4/leads": 2}  # refused once, resent without it


def test_n_tasks_bound_to_leads_cost_ceil_n_over_250(provisioned: AmoCrmAdapter, sandbox: Sandbox) -> None:
    partner = seed_partner(sandbox, provisioned)
    leads = provisioned.create_leads([LeadDraft(f"ext-{i}", partner, f"Lead {i}") for i in range(300)])
    deadline = datetime(2026, 11, 3, 13, 0, tzinfo=UTC) + timedelta(hours=4)
    tasks = [
        TaskDraft(
            f"task-{o.external_id}",
            "Call the customer",
            "New partner lead",
            "8000002",
            deadline,
            RecordRef(Entity.LEAD, str(o.crm_id)),
        )
        for o in leads
    ]
    sandbox.log.clear()

    first = provisioned.create_tasks(tasks)
    second = provisioned.create_tasks(tasks)

    assert all(o.created for o in first) and not any(o.created for o in second)
    assert counts(sandbox) == {"POST /api/v4/tasks": ceil(300 / 250)}
    task = sandbox.emulator.dump()["tasks"][0]
    assert (task["entity_type"], task["complete_till"]) == ("leads", int(deadline.timestamp()))
    assert LEAD_STAGES


def test_the_pipeline_limit_is_reported_before_anything_is_written(
    adapter: AmoCrmAdapter, sandbox: Sandbox
) -> None:
    sandbox.emulator.seed(
        {
            "pipelines": [
                {"name": f"Sales {i}", "_embedded": {"statuses": [{"name": "New", "sort": 10}]}}
                for i in range(47)
            ]
        }
    )
    sandbox.log.clear()

    with pytest.raises(CrmValidationError) as caught:
        provision(adapter)

    assert "50 lead pipelines" in str(caught.value) and "48" in str(caught.value)
    assert writes(sandbox) == 0


def test_first_touch_and_furthest_stage_cost_one_events_request_per_ten_changed_leads(
    provisioned: AmoCrmAdapter, sandbox: Sandbox
) -> None:
    partner = seed_partner(sandbox, provisioned)
    pipeline = provisioned.catalog().funnels["leads"]
    past = int(datetime.now(UTC).timestamp()) - 3600
    ids = sandbox.emulator.seed(
        {
            "leads": [
                {"name": f"L{i}", "pipeline_id": pipeline, "created_at": past, "updated_at": past}
                for i in range(30)
            ]
        }
    )["leads"]
    moved = [str(i) for i in ids[:12]]
    provisioned.update_records([RecordUpdate(Entity.LEAD, i, stage=LEAD_STAGES[2]) for i in moved])
    provisioned.update_records([RecordUpdate(Entity.LEAD, i, stage=LEAD_STAGES[1]) for i in moved])
    sandbox.log.clear()

    leads = {r.crm_id: r for page in provisioned.changed_since(Entity.LEAD, None) for r in page.records}

    assert counts(sandbox)["GET /api/v4/events"] == ceil(12 / 10)  # only the 12 leads that changed
    assert {leads[i].furthest_stage for i in moved} == {LEAD_STAGES[2]}  # type: ignore[union-attr]
    assert all(leads[i].first_touch_at is not None for i in moved)  # type: ignore[union-attr]
    untouched = [r for i, r in leads.items() if i not in moved]
    assert {(r.first_touch_at, r.furthest_stage) for r in untouched} == {(None, LEAD_STAGES[0])}  # type: ignore[union-attr]
    assert partner
