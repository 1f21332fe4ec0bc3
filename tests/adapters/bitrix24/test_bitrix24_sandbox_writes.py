"""Writes against the Bitrix24 sandbox: partner leads created once (with the lookup that makes a
retried push safe), per-record failures, tasks on the deal card, the partner tier, notifications,
and the request counts the issue promises (N leads: <= 2*ceil(N/50); N tasks: ceil(N/50))."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from b24_support import LEAD_STAGES, partner_type_item

from crm_bridge.domain.layout import FieldEntity
from crm_bridge.domain.model import CustomerIdentity
from crm_bridge.ports import (
    DealDraft,
    Entity,
    LeadDraft,
    NotificationDraft,
    PartnerUpdate,
    RecordRef,
    RecordUpdate,
    TaskDraft,
)
from crm_bridge.sandbox.faults import FaultPlan
from crm_bridge.sandbox.server import Sandbox
from crm_bridge_bitrix24 import Bitrix24Adapter


def _partner(sandbox: Sandbox, adapter: Bitrix24Adapter, name: str = "ООО Вектор") -> str:
    created = sandbox.emulator.seed(
        {"companies": [{"TITLE": name, "UF_CRM_PARTNER_TYPE": partner_type_item(adapter)}]}
    )
    return str(created["companies"][0])


def _deals(sandbox: Sandbox) -> list[dict]:
    return sandbox.emulator.dump()["records"]["deal"]


def test_n_leads_with_the_dedupe_lookup_cost_at_most_two_requests_per_fifty(
    provisioned: Bitrix24Adapter, sandbox: Sandbox
) -> None:
    partner = _partner(sandbox, provisioned)
    sandbox.log.clear()
    drafts = [LeadDraft(f"ext-{i}", partner, f"Lead {i}", amount=Decimal("1500.50")) for i in range(260)]

    out = provisioned.create_leads(drafts)

    assert all(o.ok and o.created for o in out) and len({o.crm_id for o in out}) == 260
    assert sandbox.request_count() <= 2 * math.ceil(260 / 50)


def test_a_retried_push_finds_the_leads_it_already_made(
    provisioned: Bitrix24Adapter, sandbox: Sandbox
) -> None:
    partner = _partner(sandbox, provisioned)
    drafts = [LeadDraft(f"ext-{i}", partner, f"Lead {i}") for i in range(70)]
    first = provisioned.create_leads(drafts[:40])  # "crash" after the first 40 reached the portal
    sandbox.log.clear()

    second = provisioned.create_leads(drafts)

    assert [o.created for o in second] == [False] * 40 + [True] * 30
    assert [o.crm_id for o in second[:40]] == [o.crm_id for o in first]
    assert len(_deals(sandbox)) == 70
    assert sandbox.request_count() <= 2 * math.ceil(70 / 50)


def test_a_lead_carries_its_external_id_partner_reference_and_customer_for_the_manager(
    provisioned: Bitrix24Adapter, sandbox: Sandbox
) -> None:
    partner = _partner(sandbox, provisioned)
    customer = CustomerIdentity(email="buyer@example.com", phone="+79161234567", tax_id="7707083893")

    [out] = provisioned.create_leads(
        [
            LeadDraft(
                "ext-1",
                partner,
                "Станки",
                customer_name="ООО Клиент",
                customer=customer,
                amount=Decimal("990.10"),
            )
        ]
    )

    [deal] = _deals(sandbox)
    assert (deal["ORIGINATOR_ID"], deal["ORIGIN_ID"], deal["UF_CRM_BRIDGE_EXT_ID"]) == (
        "crm-bridge",
        "ext-1",
        "ext-1",
    )
    assert str(deal["UF_CRM_PARTNER_REF"]) == partner and deal["OPPORTUNITY"] == "990.10"
    assert "buyer@example.com" in deal["COMMENTS"] and "7707083893" in deal["COMMENTS"]
    [lead] = [r for p in provisioned.changed_since(Entity.LEAD, None) for r in p.records]
    assert (lead.crm_id, lead.partner_id, lead.stage, lead.external_id) == (
        out.crm_id,
        partner,
        LEAD_STAGES[0],
        "ext-1",
    )


def test_one_bad_lead_fails_alone(provisioned: Bitrix24Adapter, sandbox: Sandbox) -> None:
    partner = _partner(sandbox, provisioned)

    out = provisioned.create_leads(
        [
            LeadDraft("bad-stage", partner, "A", stage="no_such_stage"),
            LeadDraft("no-partner", "987654", "B"),
            LeadDraft("good", partner, "C"),
        ]
    )

    assert [o.ok for o in out] == [False, False, True]
    assert "no_such_stage" in (out[0].error or "") and "987654" in (out[1].error or "")
    assert [d["ORIGIN_ID"] for d in _deals(sandbox)] == ["good"]


def test_a_command_refused_inside_a_batch_is_reported_on_its_own_record(
    provisioned: Bitrix24Adapter, sandbox: Sandbox
) -> None:
    partner = _partner(sandbox, provisioned)
    sandbox.faults.set(
        FaultPlan(batch_fail={"keys": ["c2"], "error": "ERROR_CORE", "description": "Injected"})
    )
    drafts = [LeadDraft(f"e{i}", partner, f"L{i}") for i in range(3)]

    out = provisioned.create_leads(drafts)

    assert [o.ok for o in out] == [True, True, False]  # c2 of the create batch (the lookups are c0, c1)
    assert "Injected" in (out[2].error or "")
    assert sorted(d["ORIGIN_ID"] for d in _deals(sandbox)) == ["e0", "e1"]


def test_moving_a_lead_and_assigning_it_marks_the_write_as_ours(
    provisioned: Bitrix24Adapter, sandbox: Sandbox
) -> None:
    partner = _partner(sandbox, provisioned)
    [made] = provisioned.create_leads([LeadDraft("ext-1", partner, "A")])
    assert made.crm_id
    sandbox.log.clear()

    [out] = provisioned.update_records(
        [RecordUpdate(Entity.LEAD, made.crm_id, stage=LEAD_STAGES[1], responsible_user_id="2")]
    )

    assert out.ok
    [deal] = _deals(sandbox)
    assert deal["ASSIGNED_BY_ID"] == "2" and deal["STAGE_ID"].endswith(":PREPARATION")
    [cmd] = json.loads(sandbox.requests()[0]["body"])["cmd"].values()
    assert cmd.startswith("crm.deal.update?") and "auth_connector=crm_bridge" in cmd


def test_a_tier_card_moves_to_another_funnel_through_crm_item_update(
    provisioned: Bitrix24Adapter, sandbox: Sandbox
) -> None:
    partner = _partner(sandbox, provisioned)
    [card] = provisioned.create_deals([DealDraft("card-1", "acquisition", "Вектор", partner_id=partner)])
    assert card.crm_id

    [out] = provisioned.update_records(
        [RecordUpdate(Entity.DEAL, card.crm_id, funnel="tier_upgrade", stage="training")]
    )

    assert out.ok, out.error
    [deal] = [r for p in provisioned.changed_since(Entity.DEAL, None) for r in p.records]
    assert (deal.funnel, deal.stage) == ("tier_upgrade", "training")  # type: ignore[union-attr]


def test_n_tasks_cost_one_request_per_fifty_and_show_on_the_deal_card(
    provisioned: Bitrix24Adapter, sandbox: Sandbox
) -> None:
    partner = _partner(sandbox, provisioned)
    [lead] = provisioned.create_leads([LeadDraft("ext-1", partner, "A")])
    deadline = datetime.now(UTC) + timedelta(hours=4)
    drafts = [
        TaskDraft(
            f"t-{i}", f"Call {i}", "New partner lead", "2", deadline, RecordRef(Entity.LEAD, str(lead.crm_id))
        )
        for i in range(120)
    ]
    sandbox.log.clear()

    out = provisioned.create_tasks(drafts)

    assert all(o.ok and o.created for o in out)
    assert sandbox.request_count() == math.ceil(120 / 50)
    task = sandbox.emulator.dump()["tasks"][0]
    assert task["ufCrmTask"] == [f"D_{lead.crm_id}"] and task["responsibleId"] == "2"
    sandbox.log.clear()
    again = provisioned.create_tasks(drafts)
    assert [o.crm_id for o in again] == [o.crm_id for o in out] and not any(o.created for o in again)
    assert sandbox.request_count() == 0 and len(sandbox.emulator.dump()["tasks"]) == 120


def test_a_task_push_cut_off_midway_is_looked_up_instead_of_made_twice(
    provisioned: Bitrix24Adapter, sandbox: Sandbox
) -> None:
    deadline = datetime.now(UTC) + timedelta(hours=4)
    draft = TaskDraft("t-1", "Call", "New partner lead", "2", deadline)
    [made] = provisioned.create_tasks([draft])
    provisioned.ctx.kv.set("bitrix24.task:t-1", {"pending": True})  # as if the answer was lost

    [again] = provisioned.create_tasks([draft])

    assert (again.crm_id, again.created) == (made.crm_id, False)
    assert len(sandbox.emulator.dump()["tasks"]) == 1


def test_a_tier_is_pushed_as_the_enumeration_item_of_its_option(
    provisioned: Bitrix24Adapter, sandbox: Sandbox
) -> None:
    partner = _partner(sandbox, provisioned)
    gold = provisioned.catalog().field(FieldEntity.PARTNER, "tier")
    assert gold is not None

    out = provisioned.update_partners(
        [PartnerUpdate(partner, {"tier": "gold"}), PartnerUpdate(partner, {"tier": "diamond"})]
    )

    assert out[0].ok and not out[1].ok and "diamond" in (out[1].error or "")
    company = next(c for c in sandbox.emulator.dump()["records"]["company"] if str(c["ID"]) == partner)
    assert str(company["UF_CRM_PARTNER_TIER"]) == str(gold.options["gold"])
    [seen] = [r for p in provisioned.changed_since(Entity.PARTNER, None) for r in p.records]
    assert seen.tier == "gold"  # type: ignore[union-attr]


def test_notifications_go_to_the_user_with_our_tag(provisioned: Bitrix24Adapter, sandbox: Sandbox) -> None:
    out = provisioned.send_notifications(
        [NotificationDraft("n-1", "2", "Новый лид от партнёра"), NotificationDraft("n-2", "999", "x")]
    )

    assert out[0].ok and not out[1].ok
    [note] = sandbox.emulator.dump()["notifications"]
    assert (note["user_id"], note["tag"]) == (2, "crm_bridge|n-1")


def test_an_injected_503_is_retried_and_the_push_still_succeeds(
    provisioned: Bitrix24Adapter, sandbox: Sandbox
) -> None:
    partner = _partner(sandbox, provisioned)
    sandbox.faults.set(FaultPlan(sequence=[503, 0, 503]))

    out = provisioned.create_leads([LeadDraft("e1", partner, "A")])

    assert out[0].ok and len(_deals(sandbox)) == 1
