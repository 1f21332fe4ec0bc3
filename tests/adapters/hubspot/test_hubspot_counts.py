"""Request counts of the HubSpot adapter on the emulator (every request checked against HubSpot's
OpenAPI specs). Formulas, with N records, P distinct partners, D deals in the account:

* provisioning an empty account: 6 reads (pipelines; properties and groups of companies and deals;
  the deal -> company association labels) + 4 pipelines (each created with its stages) + 2 property
  groups + 2 property batch creates + 1 association label + the 6 reads again and 4 record counts
  (a search per pipeline; one per stage of a pipeline holding deals) = 25; a second run: the 6
  reads and the 4 counts, nothing written;
* backfill of one entity with D records: searches of 200 in id order, ceil(D/200) + 1 (the highest id,
  when D > 200), + at most one part-filled page per id window (none with dense ids); partner leads
  also one association read per 100 (their partner, by the partner label): ceil(D/100) more;
* push of N new leads or deals: ceil(P/100) company checks + ceil(N/100) batch creates; pushed again
  by a fresh process: ceil(P/100) + 2 * ceil(N/100) (each create answers 409, one batch read resolves
  it);
* N tasks: ceil(N/100); pushed again: none.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from hs_support import LEAD_STAGES, MemoryKV, config, make_adapter, provision, writes

from crm_bridge.domain.layout import FieldEntity
from crm_bridge.ports import DealDraft, Entity, LeadDraft, RecordRef, RecordUpdate, TaskDraft
from crm_bridge.sandbox.server import Sandbox
from crm_bridge_hubspot import HubSpotAdapter


def _leads(n: int, partner: str, prefix: str = "ext") -> list[LeadDraft]:
    return [LeadDraft(f"{prefix}-{i}", partner, f"Lead {i}") for i in range(n)]


def _partner(sandbox: Sandbox, adapter: HubSpotAdapter, name: str = "Vector LLC") -> str:
    ptype = adapter.catalog().field(FieldEntity.PARTNER, "partner_type")
    assert ptype is not None
    seeded = sandbox.emulator.seed({"companies": [{"properties": {"name": name, ptype.code: "reseller"}}]})
    return str(seeded["companies"][0])


def test_provisioning_an_empty_account_takes_25_requests_and_a_second_run_writes_nothing(
    adapter: HubSpotAdapter, sandbox: Sandbox
) -> None:
    first = provision(adapter)
    first_count = sandbox.request_count()
    first_writes = writes(sandbox)
    sandbox.log.clear()

    second = provision(adapter)

    assert first.writes and first_count == 6 + 4 + 2 + 2 + 1 + 6 + 4
    assert sorted(first_writes).count("POST /crm/v3/pipelines/deals") == 4
    assert "POST /crm/associations/v4/deals/companies/labels" in first_writes
    assert second.is_noop and writes(sandbox) == [] and sandbox.request_count() == 6 + 4


def test_a_backfill_reads_200_records_a_search_in_parallel_id_windows(
    provisioned: HubSpotAdapter, sandbox: Sandbox
) -> None:
    partner = _partner(sandbox, provisioned)
    provisioned.create_leads(_leads(1050, partner))
    sandbox.log.clear()

    pages = list(provisioned.changed_since(Entity.LEAD, None))

    ids = [r.crm_id for p in pages for r in p.records]
    searches = [r for r in sandbox.requests() if r["path"].endswith("/search")]
    labels = [r for r in sandbox.requests() if r["path"].endswith("/associations/deals/companies/batch/read")]
    assert len(ids) == len(set(ids)) == 1050 and {p.total for p in pages} == {1050}
    assert len(searches) == math.ceil(1050 / 200) + 1  # + the highest id; dense ids
    assert len(labels) == math.ceil(1050 / 100) == sandbox.request_count() - len(searches)
    assert {r.partner_id for p in pages for r in p.records} == {partner}  # through the partner label
    assert all(p.cursor is not None and p.cursor.resume for p in pages[:-1])
    assert pages[0].cursor is not None  # the first page: stored up to its highest id
    assert pages[0].cursor.resume == str(max(int(r.crm_id) for r in pages[0].records))
    assert pages[-1].cursor is not None and not pages[-1].cursor.resume


def test_a_backfill_stopped_midway_resumes_after_what_was_stored(
    provisioned: HubSpotAdapter, sandbox: Sandbox
) -> None:
    partner = _partner(sandbox, provisioned)
    provisioned.create_leads(_leads(1050, partner))
    first: list[str] = []
    listing = provisioned.changed_since(Entity.LEAD, None)
    for page in listing:
        first += [r.crm_id for r in page.records]
        if len(first) >= 600:
            stopped = page.cursor
            break
    listing.close()  # type: ignore[attr-defined]  # the sync stops reading: the workers stop too
    assert stopped is not None and stopped.resume.isdigit()

    rest = [r.crm_id for p in provisioned.changed_since(Entity.LEAD, stopped) for r in p.records]

    assert set(first) | set(rest) == {
        r.crm_id for p in provisioned.changed_since(Entity.LEAD, None) for r in p.records
    }
    assert all(int(i) > int(stopped.resume) for i in rest)
    assert len(set(first) | set(rest)) == 1050


def test_pushing_250_leads_takes_one_company_check_and_three_batches_and_again_resolves_conflicts(
    provisioned: HubSpotAdapter, sandbox: Sandbox, kv: MemoryKV
) -> None:
    partner = _partner(sandbox, provisioned)
    sandbox.log.clear()

    first = provisioned.create_leads(_leads(250, partner))
    pushed = sandbox.request_count()
    sandbox.log.clear()
    fresh = make_adapter(config(sandbox), kv)
    again = fresh.create_leads(_leads(250, partner))
    fresh.close()

    assert all(o.ok and o.created for o in first)
    assert pushed == 1 + math.ceil(250 / 100)
    assert [o.crm_id for o in again] == [o.crm_id for o in first] and not any(o.created for o in again)
    assert sandbox.request_count() == 1 + 2 * math.ceil(250 / 100)
    assert len(sandbox.emulator.dump()["objects"]["deals"]) == 250


def test_pushing_deals_takes_ceil_n_over_100_creates_and_labels_the_partner_as_on_a_lead(
    provisioned: HubSpotAdapter, sandbox: Sandbox, kv: MemoryKV
) -> None:
    partners = [_partner(sandbox, provisioned, f"Partner {p}") for p in range(3)]
    drafts = [DealDraft(f"d-{i}", "repeat", f"Deal {i}", partner_id=partners[i % 3]) for i in range(1001)]
    sandbox.log.clear()

    first = provisioned.create_deals(drafts)
    pushed = [f"{r['method']} {r['path']}" for r in sandbox.requests()]
    sandbox.log.clear()
    fresh = make_adapter(config(sandbox), kv)
    again = fresh.create_deals(drafts)
    fresh.close()

    assert all(o.ok and o.created for o in first)
    assert pushed.count("POST /crm/v3/objects/deals/batch/create") == math.ceil(1001 / 100)
    assert len(pushed) == math.ceil(3 / 100) + math.ceil(1001 / 100)
    assert not any(o.created for o in again) and [o.crm_id for o in again] == [o.crm_id for o in first]
    assert sandbox.request_count() == math.ceil(3 / 100) + 2 * math.ceil(1001 / 100)
    label = provisioned.catalog().field(FieldEntity.LEAD, "partner_ref")
    assert label is not None
    state = sandbox.emulator.dump()
    labelled = {
        (a["from"][1], a["to"][1])
        for a in state["associations"]
        if a["from"][0] == "deals"
        and a["to"][0] == "companies"
        and any(t["typeId"] == int(label.code) and t["category"] == "USER_DEFINED" for t in a["types"])
    }
    assert labelled == {(str(o.crm_id), partners[i % 3]) for i, o in enumerate(first)}
    synced = {d.crm_id: d.partner_id for p in provisioned.changed_since(Entity.DEAL, None) for d in p.records}
    assert synced == {str(o.crm_id): partners[i % 3] for i, o in enumerate(first)}


def test_tasks_go_a_hundred_a_request_and_a_repeated_push_sends_nothing(
    provisioned: HubSpotAdapter, sandbox: Sandbox
) -> None:
    partner = _partner(sandbox, provisioned)
    [lead] = provisioned.create_leads(_leads(1, partner))
    owner = provisioned.list_users()[0].crm_id
    due = datetime(2026, 12, 7, 13, 0, tzinfo=UTC)
    drafts = [
        TaskDraft(f"t-{i}", f"Call {i}", "SLA", owner, due, RecordRef(Entity.LEAD, str(lead.crm_id)))
        for i in range(150)
    ]
    sandbox.log.clear()

    first = provisioned.create_tasks(drafts)
    sent = sandbox.request_count()
    again = provisioned.create_tasks(drafts)

    assert all(o.created for o in first) and sent == math.ceil(150 / 100)
    assert sandbox.request_count() == sent and not any(o.created for o in again)
    tasks = sandbox.emulator.dump()["objects"]["tasks"]
    assert len(tasks) == 150
    assert {t["properties"]["hs_timestamp"] for t in tasks} == {str(int(due.timestamp() * 1000))}


def test_a_lead_moved_to_the_second_stage_reads_back_there(
    provisioned: HubSpotAdapter, sandbox: Sandbox
) -> None:
    partner = _partner(sandbox, provisioned)
    [lead] = provisioned.create_leads(_leads(1, partner))
    sandbox.log.clear()

    [done] = provisioned.update_records([RecordUpdate(Entity.LEAD, str(lead.crm_id), stage=LEAD_STAGES[1])])

    assert done.ok and writes(sandbox) == ["POST /crm/v3/objects/deals/batch/update"]
