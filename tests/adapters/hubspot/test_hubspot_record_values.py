"""How the HubSpot adapter reads a partner company's properties and writes domain values: amounts as
plain decimals (never ``1E+3``), owners and flags as HubSpot stores them, and the refusals a draft or an
update gets (in the reader's words) without costing the rest of its batch."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hs_support import DESIRED, MemoryKV, SharedClock, Sleeps, config, make_adapter, provision
from hs_support import field_code as _code
from hs_support import request_bodies as _bodies
from hs_support import seeded_partner as _partner

from crm_bridge.domain.layout import DesiredField, DesiredStage, FieldEntity, FieldType
from crm_bridge.domain.model import PartnerType, StageKind
from crm_bridge.errors import CrmValidationError
from crm_bridge.ports import (
    AdapterContext,
    CustomerIdentity,
    DealDraft,
    Entity,
    LeadDraft,
    PartnerUpdate,
    RecordUpdate,
    SyncCursor,
    WriteOutcome,
)
from crm_bridge.sandbox.faults import FaultPlan
from crm_bridge.sandbox.server import Sandbox
from crm_bridge_hubspot import HubSpotAdapter, build_adapter
from crm_bridge_hubspot.rows import RowReader

REGION = DesiredField("region", FieldEntity.PARTNER, "Region", FieldType.STRING)
MOSCOW = timezone(timedelta(hours=3))
WITH_REGION = dataclasses.replace(DESIRED, fields=(*DESIRED.fields, REGION))


@pytest.fixture
def tokyo(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The machine running crm-bridge is set to Tokyo time."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _with_curators(sandbox: Sandbox, curators: dict[str, str]) -> HubSpotAdapter:
    ctx = AdapterContext(kv=MemoryKV(), clock=time.time, sleep=Sleeps())
    return build_adapter(config(sandbox), ctx, desired=WITH_REGION, curators=curators)


def test_a_partner_company_is_read_with_its_curator_region_dates_training_and_type(
    adapter: HubSpotAdapter, sandbox: Sandbox
) -> None:
    provision(adapter, WITH_REGION)
    owner = adapter.list_users()[0].crm_id
    reader = _with_curators(sandbox, {"anna": owner})
    reader.observe_layout()

    def code(key: str) -> str:
        return _code(reader, FieldEntity.PARTNER, key)

    full = _partner(
        sandbox,
        reader,
        **{
            code("partner_type"): "integrator",
            code("tier"): "gold",
            code("curator"): owner,
            code("region"): "North-West",
            code("partner_since"): "2026-03-01",
            code("training_completed"): "yes",
        },
    )
    # someone added a partner type of their own in HubSpot, and a company is curated by a non-curator
    ptype = reader.transport.call("GET", f"/crm/v3/properties/companies/{code('partner_type')}")
    options = [*ptype["options"], {"label": "Vendor", "value": "vendor", "displayOrder": 9, "hidden": False}]
    reader.transport.call(
        "PATCH", f"/crm/v3/properties/companies/{code('partner_type')}", json={"options": options}
    )
    stranger = next(u.crm_id for u in reader.list_users() if u.crm_id != owner)
    other = _partner(
        sandbox,
        reader,
        **{code("partner_type"): "vendor", code("curator"): stranger, code("training_completed"): "no"},
    )

    [page] = list(reader.changed_since(Entity.PARTNER, None))

    by_id = {p.crm_id: p for p in page.records}
    first, second = by_id[full], by_id[other]
    assert (first.type, first.tier, first.curator_key, first.region) == (
        PartnerType.INTEGRATOR,
        "gold",
        "anna",
        "North-West",
    )
    assert first.partner_since == datetime(2026, 3, 1, tzinfo=UTC) and first.training_completed
    assert first.modified_at is not None and first.modified_at.tzinfo is not None
    # a type that is not one of ours and an owner who is no curator are read as unknown, not refused
    assert (second.type, second.curator_key, second.region, second.training_completed) == (
        None,
        None,
        "",
        False,
    )
    reader.close()


def test_a_partner_row_without_its_modified_property_takes_hubspots_updated_at(
    provisioned: HubSpotAdapter,
) -> None:
    ptype = _code(provisioned, FieldEntity.PARTNER, "partner_type")
    rows = RowReader(provisioned.catalog(), {}, "leads")
    row = {
        "id": "7",
        "properties": {"name": "Vector", ptype: "reseller"},
        "updatedAt": "2026-12-06T21:00:00Z",
    }
    only = {
        "id": "8",
        "properties": {"name": "Vector", ptype: "reseller", "hs_lastmodifieddate": "1796648400000"},
    }

    assert rows.partner(row).modified_at == datetime(2026, 12, 6, 21, 0, tzinfo=UTC)
    assert rows.partner(only).modified_at == datetime(2026, 12, 7, 13, 0, tzinfo=UTC)


def test_a_deal_of_the_repeat_funnel_is_read_as_a_repeat_deal(
    provisioned: HubSpotAdapter, sandbox: Sandbox
) -> None:
    provisioned.create_deals(
        [DealDraft("r-1", "repeat", "Again", stage="repeat_won"), DealDraft("u-1", "tier_upgrade", "Up")]
    )

    [page] = list(provisioned.changed_since(Entity.DEAL, None))

    kinds = {d.external_id: (d.funnel, d.repeat) for d in page.records}
    assert kinds == {"r-1": ("repeat", True), "u-1": ("tier_upgrade", False)}


def test_amounts_are_sent_as_plain_decimals_not_in_exponent_form(
    provisioned: HubSpotAdapter, sandbox: Sandbox
) -> None:
    partner = _partner(sandbox, provisioned)
    provisioned.create_leads([LeadDraft("l-1", partner, "Lead", amount=Decimal("1E+3"))])
    [deal] = provisioned.create_deals([DealDraft("d-1", "repeat", "Deal", partner, amount=Decimal("1.5E+3"))])
    provisioned.update_records(
        [
            RecordUpdate(Entity.DEAL, str(deal.crm_id), fields={"amount": Decimal("2E+3")}),
            RecordUpdate(Entity.DEAL, str(deal.crm_id), fields={"amount": 10}),
        ]
    )
    provisioned.update_partners([PartnerUpdate(partner, {"score_total": Decimal("1E+2")})])

    [lead_in], [deal_in] = (b["inputs"] for b in _bodies(sandbox, "/deals/batch/create"))
    assert lead_in["properties"]["amount"] == "1000" and deal_in["properties"]["amount"] == "1500"
    [update] = _bodies(sandbox, "/deals/batch/update")
    assert [i["properties"] for i in update["inputs"]] == [{"amount": "2000"}, {"amount": "10"}]
    [company] = _bodies(sandbox, "/companies/batch/update")
    assert company["inputs"][0]["properties"] == {
        _code(provisioned, FieldEntity.PARTNER, "score_total"): "100"
    }


def test_an_amount_that_is_no_number_fails_its_own_draft_only(
    provisioned: HubSpotAdapter, sandbox: Sandbox
) -> None:
    partner = _partner(sandbox, provisioned)

    leads = provisioned.create_leads(
        [LeadDraft("l-1", partner, "Lead", amount=Decimal("NaN")), LeadDraft("l-2", partner, "Fine")]
    )
    deals = provisioned.create_deals(
        [DealDraft("d-1", "repeat", "Deal", partner, amount=Decimal("Infinity"))]
    )
    updates = provisioned.update_records(
        [
            RecordUpdate(Entity.DEAL, "1", fields={"amount": Decimal("-Infinity")}),
            RecordUpdate(Entity.DEAL, "2", fields={"amount": "about 10"}),
        ]
    )

    assert leads[0] == WriteOutcome("l-1", None, error="amount NaN is not a number HubSpot can store")
    assert leads[1].ok
    assert deals == [WriteOutcome("d-1", None, error="amount Infinity is not a number HubSpot can store")]
    assert updates == [
        WriteOutcome("1", None, error="amount -Infinity is not a number HubSpot can store"),
        WriteOutcome("2", None, error="amount about 10 is not a number HubSpot can store"),
    ]


def test_curators_flags_and_dates_are_written_as_hubspot_stores_them(
    adapter: HubSpotAdapter, sandbox: Sandbox, tokyo: None
) -> None:
    """A date property takes the UTC date of a moment, whatever the zone of the machine that syncs."""
    provision(adapter)
    owner = adapter.list_users()[0].crm_id
    writer = _with_curators(sandbox, {"anna": owner})
    writer.observe_layout()
    p1, p2, p3 = (_partner(sandbox, writer) for _ in range(3))
    sandbox.log.clear()

    outcomes = writer.update_partners(
        [
            PartnerUpdate(p1, {"curator": "anna", "access": True, "plan_period": False}),
            PartnerUpdate(
                p2, {"curator": owner, "partner_since": datetime(2026, 3, 2, 1, 30, tzinfo=MOSCOW)}
            ),
            PartnerUpdate(p3, {"training_completed": "no", "plan_targets": date(2026, 1, 2)}),
            PartnerUpdate(p3, {"access": datetime(2026, 12, 7, 16, 0, tzinfo=timezone(timedelta(hours=3)))}),
            PartnerUpdate(p1, {"partner_type": "vendor"}),
        ]
    )

    def code(key: str) -> str:
        return _code(writer, FieldEntity.PARTNER, key)

    inputs = [i["properties"] for i in _bodies(sandbox, "/companies/batch/update")[0]["inputs"]]
    assert inputs == [
        {code("curator"): owner, code("access"): "true", code("plan_period"): "false"},
        {code("curator"): owner, code("partner_since"): "2026-03-01"},
        {code("training_completed"): "no", code("plan_targets"): "2026-01-02"},
        {code("access"): "1796648400000"},
    ]
    assert outcomes[:4] == [WriteOutcome(p, p) for p in (p1, p2, p3, p3)]
    assert outcomes[4] == WriteOutcome(
        p1, None, error=f"option 'vendor' does not exist in {code('partner_type')}; run crm-bridge provision"
    )
    writer.close()


def test_a_lead_funnel_deal_and_a_missing_partner_label_are_refused_in_words(
    adapter: HubSpotAdapter, sandbox: Sandbox
) -> None:
    without_label = dataclasses.replace(
        DESIRED,
        fields=tuple(f for f in DESIRED.fields if (f.entity, f.key) != (FieldEntity.LEAD, "partner_ref")),
    )
    provision(adapter, without_label)
    partner = _partner(sandbox, adapter)
    sandbox.log.clear()

    leads = adapter.create_leads([LeadDraft("l-1", partner, "Lead"), LeadDraft("l-2", "", "No partner")])
    deals = adapter.create_deals(
        [DealDraft("d-1", "leads", "Wrong"), DealDraft("d-2", "repeat", "Deal", partner)]
    )

    assert leads[0] == WriteOutcome(
        "l-1", None, error="the partner association label is missing: run crm-bridge provision"
    )
    assert leads[1].ok and deals[1].ok
    assert deals[0] == WriteOutcome("d-1", None, error="partner leads are created with create_leads")
    [lead_in], [deal_in] = (b["inputs"] for b in _bodies(sandbox, "/deals/batch/create"))
    assert lead_in["associations"] == []
    assert deal_in["associations"] == [
        {
            "to": {"id": partner},
            "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 341}],
        }
    ]


def test_a_lead_update_writes_its_own_fields_and_keeps_its_stage(
    provisioned: HubSpotAdapter, sandbox: Sandbox
) -> None:
    partner = _partner(sandbox, provisioned)
    [lead] = provisioned.create_leads([LeadDraft("l-1", partner, "Lead")])
    sandbox.log.clear()

    [outcome] = provisioned.update_records(
        [RecordUpdate(Entity.LEAD, str(lead.crm_id), fields={"conflict": True})]
    )

    [update] = _bodies(sandbox, "/deals/batch/update")
    conflict = _code(provisioned, FieldEntity.LEAD, "conflict")
    assert update["inputs"] == [{"id": str(lead.crm_id), "properties": {conflict: "yes"}}]
    assert outcome == WriteOutcome(str(lead.crm_id), str(lead.crm_id))


def test_a_refused_update_is_reported_under_its_record_id(
    provisioned: HubSpotAdapter, sandbox: Sandbox
) -> None:
    p1, p2 = (_partner(sandbox, provisioned) for _ in range(2))
    sandbox.emulator.inject_batch_failure(1)

    outcomes = provisioned.update_partners([PartnerUpdate(p, {"tier": "gold"}) for p in (p1, p2)])
    refused = provisioned.update_records([RecordUpdate(Entity.DEAL, "5", fields={"colour": "red"})])

    assert outcomes[0] == WriteOutcome(p1, p1)
    assert outcomes[1].crm_id is None and outcomes[1].external_id == p2 and outcomes[1].error
    assert refused == [
        WriteOutcome("5", None, error="unknown field 'colour' on deal; run crm-bridge provision")
    ]


def test_batch_writes_and_reads_are_sent_again_after_a_dropped_connection(
    provisioned: HubSpotAdapter, sandbox: Sandbox
) -> None:
    partner = _partner(sandbox, provisioned)
    customer = CustomerIdentity(email="buyer@example.com")
    sandbox.faults.set(FaultPlan(drop_at=[1]))  # the read that checks the partner company exists
    [lead] = provisioned.create_leads([LeadDraft("l-0", partner, "Warm-up")])

    sandbox.faults.set(FaultPlan(drop_at=[1]))  # the contact upsert
    [created] = provisioned.create_leads([LeadDraft("l-1", partner, "Lead", customer=customer)])
    sandbox.faults.set(FaultPlan(drop_at=[2]))  # the read by external id after HubSpot's 409
    [again] = provisioned.create_leads([LeadDraft("l-0", partner, "Warm-up")])
    sandbox.faults.set(FaultPlan(drop_at=[1]))
    [updated] = provisioned.update_records(
        [RecordUpdate(Entity.LEAD, str(lead.crm_id), fields={"title": "T"})]
    )
    sandbox.faults.set(FaultPlan(drop_at=[1]))
    [partner_out] = provisioned.update_partners([PartnerUpdate(partner, {"tier": "gold"})])
    sandbox.faults.clear()

    assert created.ok and created.created
    assert again == WriteOutcome("l-0", lead.crm_id, created=False)
    assert updated.ok and partner_out.ok


def test_a_contact_hubspot_refuses_leaves_only_its_own_lead_without_a_contact(
    provisioned: HubSpotAdapter, sandbox: Sandbox
) -> None:
    partner = _partner(sandbox, provisioned)
    provisioned.create_leads([LeadDraft("l-0", partner, "Warm-up")])
    sandbox.emulator.inject_batch_failure(1)  # the upsert's last input (b@…) fails: HTTP 207
    sandbox.log.clear()

    outcomes = provisioned.create_leads(
        [
            LeadDraft("l-1", partner, "A", customer=CustomerIdentity(email="a@example.com")),
            LeadDraft("l-2", partner, "B", customer=CustomerIdentity(email="b@example.com")),
        ]
    )

    [create] = _bodies(sandbox, "/deals/batch/create")
    contacts = [
        [a["to"]["id"] for a in i["associations"] if a["types"][0]["associationTypeId"] == 3]
        for i in create["inputs"]
    ]
    assert [len(c) for c in contacts] == [1, 0] and all(o.ok for o in outcomes)


def test_a_create_without_the_external_id_property_is_refused_before_any_request(
    adapter: HubSpotAdapter, sandbox: Sandbox
) -> None:
    without = dataclasses.replace(
        DESIRED,
        fields=tuple(f for f in DESIRED.fields if f.key != "external_id"),
    )
    provision(adapter, without)
    sandbox.log.clear()

    with pytest.raises(CrmValidationError) as refused:
        adapter.create_leads([LeadDraft("l-1", "1", "Lead")])

    assert str(refused.value) == "the external-id property is missing: run crm-bridge provision"
    assert refused.value.crm == "hubspot" and sandbox.request_count() == 0


def test_a_draft_given_twice_is_created_once_and_answered_for_each_position(
    provisioned: HubSpotAdapter, sandbox: Sandbox
) -> None:
    partner = _partner(sandbox, provisioned)
    sandbox.log.clear()

    outcomes = provisioned.create_leads(
        [LeadDraft("a", partner, "A"), LeadDraft("a", partner, "A"), LeadDraft("b", partner, "B")]
    )

    [create] = _bodies(sandbox, "/deals/batch/create")
    assert [i["objectWriteTraceId"] for i in create["inputs"]] == ["a", "b"]
    assert outcomes[0] == outcomes[1] and outcomes[0].created and outcomes[2].created
    assert outcomes[0].crm_id != outcomes[2].crm_id


def test_creates_are_sent_again_after_a_dropped_connection_and_a_refused_input_is_named(
    provisioned: HubSpotAdapter, sandbox: Sandbox
) -> None:
    partner = _partner(sandbox, provisioned)
    [known] = provisioned.create_leads([LeadDraft("l-0", partner, "Warm-up")])  # the partner is known now

    sandbox.faults.set(FaultPlan(drop_at=[1]))  # the create
    [first] = provisioned.create_leads([LeadDraft("l-1", partner, "Lead")])
    sandbox.faults.set(FaultPlan(drop_at=[3]))  # 409 for l-0, the read, then the create of l-2 drops
    again, second = provisioned.create_leads(
        [LeadDraft("l-0", partner, "Warm-up"), LeadDraft("l-2", partner, "L")]
    )
    sandbox.faults.set(FaultPlan(sequence=[0, 0, 400]))  # 409 for l-0, the read, l-5's create refused
    again_refused = provisioned.create_leads([LeadDraft("l-0", partner, "W"), LeadDraft("l-5", partner, "L")])
    sandbox.faults.set(FaultPlan(batch_fail={"inputs": 1}))  # HubSpot fails the last input (207)
    refused = provisioned.create_leads([LeadDraft("l-3", partner, "L"), LeadDraft("l-4", partner, "L")])
    sandbox.faults.clear()

    assert first.ok and first.created
    assert second == WriteOutcome("l-2", second.crm_id, created=True) and second.crm_id
    assert again_refused[0].ok and again_refused[1].external_id == "l-5" and again_refused[1].crm_id is None
    assert "HTTP 400" in (again_refused[1].error or "")
    assert again == WriteOutcome("l-0", known.crm_id, created=False)
    assert refused[0].ok and refused[1].external_id == "l-4" and refused[1].crm_id is None
    assert "INTERNAL_ERROR" in (refused[1].error or "")


def test_a_stage_key_shared_with_the_lead_funnel_moves_a_deal_within_its_own_funnel(
    adapter: HubSpotAdapter, sandbox: Sandbox
) -> None:
    offer = DesiredStage("offer", "Upgrade offer", StageKind.OPEN, "#AABBCC", 15)
    funnels = tuple(
        dataclasses.replace(f, stages=(*f.stages, offer)) if f.key == "tier_upgrade" else f
        for f in DESIRED.funnels
    )
    provision(adapter, dataclasses.replace(DESIRED, funnels=funnels))
    [deal] = adapter.create_deals([DealDraft("d-1", "tier_upgrade", "Upgrade")])
    sandbox.log.clear()

    [outcome] = adapter.update_records([RecordUpdate(Entity.DEAL, str(deal.crm_id), stage="offer")])

    catalog = adapter.catalog()
    [update] = _bodies(sandbox, "/deals/batch/update")
    assert update["inputs"][0]["properties"] == {
        "pipeline": catalog.funnels["tier_upgrade"],
        "dealstage": catalog.stage_code("tier_upgrade", "offer"),
    }
    assert outcome.ok


def test_partner_companies_are_checked_once_and_a_missing_one_fails_only_its_drafts(
    provisioned: HubSpotAdapter, sandbox: Sandbox
) -> None:
    a, b = _partner(sandbox, provisioned), _partner(sandbox, provisioned)
    sandbox.log.clear()

    outcomes = provisioned.create_deals(
        [DealDraft("d-1", "repeat", "X", "99999999"), DealDraft("d-2", "repeat", "Y", a)]
    )
    provisioned.create_deals([DealDraft("d-3", "repeat", "Z", b)])
    provisioned.create_deals([DealDraft("d-4", "repeat", "W", a), DealDraft("d-5", "repeat", "V", b)])

    assert outcomes[0] == WriteOutcome(
        "d-1", None, error="partner company 99999999 does not exist in HubSpot"
    )
    assert outcomes[1].ok
    reads = [sorted(i["id"] for i in body["inputs"]) for body in _bodies(sandbox, "/companies/batch/read")]
    assert reads == [sorted(["99999999", a]), [b]]


def test_a_backfill_asks_hubspot_in_id_order_and_its_cursor_is_the_listing_start(
    sandbox: Sandbox, kv: MemoryKV
) -> None:
    clock = SharedClock(1_765_000_000.75)
    adapter = make_adapter(config(sandbox), kv, clock.sleep, clock)
    provision(adapter)
    _partner(sandbox, adapter)
    sandbox.log.clear()

    [page] = list(adapter.changed_since(Entity.PARTNER, None))
    [resumed] = list(adapter.changed_since(Entity.PARTNER, SyncCursor(page.cursor.modified_at, resume="x")))

    fresh, again = _bodies(sandbox, "/companies/search")
    assert fresh["sorts"] == ["hs_object_id"] and again == fresh
    assert page.cursor == SyncCursor(datetime(2025, 12, 6, 5, 46, 40, tzinfo=UTC)) and page.total == 1
    assert [p.crm_id for p in resumed.records] == [p.crm_id for p in page.records]
    adapter.close()


def test_a_backfill_of_exactly_one_full_page_ends_with_a_finished_cursor(
    provisioned: HubSpotAdapter, sandbox: Sandbox
) -> None:
    ptype = _code(provisioned, FieldEntity.PARTNER, "partner_type")
    companies = [{"properties": {"name": f"P{i}", ptype: "reseller"}} for i in range(200)]
    sandbox.emulator.seed({"companies": companies})

    pages = list(provisioned.changed_since(Entity.PARTNER, None))

    assert [len(p.records) for p in pages] == [200] and pages[0].total == 200
    cursor = pages[0].cursor
    assert cursor is not None and not cursor.resume
    assert cursor.modified_at is not None and cursor.modified_at.tzinfo is not None  # the listing's start
