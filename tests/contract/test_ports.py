"""The port contract: what every CRM adapter (and the FakeCRM) must do alike.

Runs once per target registered in this directory (see conftest.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from contract_targets import ContractTarget
from layout_fixtures import LEAD_STAGES, desired_layout, provision, rename_stage

from crm_bridge.domain.layout import DesiredLayout, PlanAction, PlanObject
from crm_bridge.domain.model import CustomerIdentity, Lead, Partner, StageKind
from crm_bridge.ports import (
    DealDraft,
    Entity,
    LeadDraft,
    NotificationDraft,
    NotificationSink,
    PartnerUpdate,
    RecordRef,
    RecordUpdate,
    TaskDraft,
)


def _leads(crm: ContractTarget) -> list[Lead]:
    return [r for page in crm.adapter.changed_since(Entity.LEAD, None) for r in page.records]  # type: ignore[misc]


def _partner(crm: ContractTarget, crm_id: str) -> Partner:
    found = [r for page in crm.adapter.changed_since(Entity.PARTNER, None) for r in page.records]
    [partner] = [p for p in found if p.crm_id == crm_id]
    assert isinstance(partner, Partner)
    return partner


def _draft(external_id: str, partner_id: str, **kwargs: object) -> LeadDraft:
    return LeadDraft(external_id=external_id, partner_id=partner_id, title=f"Lead {external_id}", **kwargs)  # type: ignore[arg-type]


class TestProvisioning:
    def test_provisioning_twice_leaves_nothing_to_do_the_second_time(self, crm: ContractTarget) -> None:
        first = provision(crm.adapter, desired_layout())

        second = provision(crm.adapter, desired_layout())

        assert first.writes, "an empty CRM needs funnels, stages and fields"
        assert second.is_noop, [f"{i.path}: {i.action}" for i in second.writes]

    def test_the_four_funnels_exist_with_their_stages_in_order_and_won_lost_ends(
        self, crm: ContractTarget
    ) -> None:
        provision(crm.adapter, desired_layout())

        observed = {f.key: f for f in crm.adapter.observe_layout().funnels if f.key}

        assert set(observed) >= {"acquisition", "leads", "tier_upgrade", "repeat"}
        leads = observed["leads"]
        ordered = [s.key for s in sorted(leads.stages, key=lambda s: s.sort) if s.kind is StageKind.OPEN]
        assert ordered == LEAD_STAGES
        kinds = [s.kind for s in leads.stages]
        assert kinds.count(StageKind.WON) == 1 and StageKind.LOST in kinds

    def test_a_renamed_stage_is_one_update_and_then_settles(self, crm: ContractTarget) -> None:
        provision(crm.adapter, desired_layout())
        renamed: DesiredLayout = rename_stage(
            desired_layout(), "leads", LEAD_STAGES[1], "Qualification (BANT)"
        )

        changed = provision(crm.adapter, renamed)

        assert [(i.object, i.action, i.path) for i in changed.writes] == [
            (PlanObject.STAGE, PlanAction.UPDATE, f"leads/{LEAD_STAGES[1]}")
        ]
        assert provision(crm.adapter, renamed).is_noop

    def test_the_partner_fields_are_created_with_their_options(self, crm: ContractTarget) -> None:
        provision(crm.adapter, desired_layout())

        fields = {(f.entity.value, f.key): f for f in crm.adapter.observe_layout().fields if f.key}

        tier = fields[("partner", "tier")]
        assert {o.key for o in tier.options} >= {"bronze", "silver", "gold", "platinum"}
        assert ("partner", "partner_type") in fields


class TestLeads:
    def test_creating_the_same_leads_twice_returns_the_same_records(self, crm: ContractTarget) -> None:
        provision(crm.adapter, desired_layout())
        partner = crm.seeder.partner("ООО «Вектор»")
        drafts = [_draft("ext-1", partner), _draft("ext-2", partner, amount=Decimal("150000.50"))]

        first = crm.adapter.create_leads(drafts)
        second = crm.adapter.create_leads(drafts)

        assert [o.created for o in first] == [True, True] and all(o.ok for o in first)
        assert [o.created for o in second] == [False, False]
        assert [o.crm_id for o in second] == [o.crm_id for o in first]
        assert sorted(lead.external_id or "" for lead in _leads(crm)) == ["ext-1", "ext-2"]

    def test_a_new_lead_starts_in_the_first_stage_with_the_partner_reference(
        self, crm: ContractTarget
    ) -> None:
        provision(crm.adapter, desired_layout())
        partner = crm.seeder.partner("ООО «Вектор»")
        customer = CustomerIdentity(email="buyer@example.com", phone="+79161234567", tax_id="7707083893")

        [outcome] = crm.adapter.create_leads(
            [_draft("ext-1", partner, customer=customer, amount=Decimal("990.10"))]
        )

        [lead] = _leads(crm)
        assert lead.crm_id == outcome.crm_id
        assert (lead.partner_id, lead.stage, lead.stage_kind) == (partner, LEAD_STAGES[0], StageKind.OPEN)
        step = crm.amount_step
        assert lead.amount == (
            Decimal("990.10") if step is None else Decimal("990.10").quantize(step, ROUND_HALF_UP)
        )
        assert lead.created_at.tzinfo is not None

    def test_an_unknown_stage_fails_only_that_lead(self, crm: ContractTarget) -> None:
        provision(crm.adapter, desired_layout())
        partner = crm.seeder.partner("ООО «Вектор»")

        outcomes = crm.adapter.create_leads(
            [_draft("bad", partner, stage="no_such_stage"), _draft("good", partner)]
        )

        assert outcomes[0].crm_id is None and outcomes[0].error
        assert outcomes[1].ok and outcomes[1].crm_id
        assert [lead.external_id for lead in _leads(crm)] == ["good"]

    def test_a_lead_for_an_unknown_partner_is_refused(self, crm: ContractTarget) -> None:
        provision(crm.adapter, desired_layout())

        [outcome] = crm.adapter.create_leads([_draft("orphan", "987654321")])

        assert not outcome.ok and outcome.crm_id is None
        assert _leads(crm) == []

    def test_moving_a_lead_to_a_later_stage_and_assigning_it(self, crm: ContractTarget) -> None:
        provision(crm.adapter, desired_layout())
        partner = crm.seeder.partner("ООО «Вектор»")
        manager = crm.seeder.user("Анна Смирнова")
        [created] = crm.adapter.create_leads([_draft("ext-1", partner)])
        assert created.crm_id is not None

        [updated] = crm.adapter.update_records(
            [RecordUpdate(Entity.LEAD, created.crm_id, stage=LEAD_STAGES[1], responsible_user_id=manager)]
        )

        assert updated.ok
        [lead] = _leads(crm)
        assert (lead.stage, lead.manager_user_id) == (LEAD_STAGES[1], manager)


class TestChangedSince:
    def test_a_backfill_returns_every_record_once_in_modification_order(self, crm: ContractTarget) -> None:
        provision(crm.adapter, desired_layout())
        partner = crm.seeder.partner("ООО «Вектор»")
        for n in range(7):
            crm.adapter.create_leads([_draft(f"ext-{n}", partner)])
            crm.let_time_pass(1)

        pages = list(crm.adapter.changed_since(Entity.LEAD, None))

        seen = [r.external_id for page in pages for r in page.records]  # type: ignore[union-attr]
        assert seen == [f"ext-{n}" for n in range(7)]
        stamps = [(r.modified_at, int(r.crm_id)) for page in pages for r in page.records]
        assert stamps == sorted(stamps)

    def test_resuming_from_the_last_cursor_returns_only_later_changes(self, crm: ContractTarget) -> None:
        provision(crm.adapter, desired_layout())
        partner = crm.seeder.partner("ООО «Вектор»")
        crm.adapter.create_leads([_draft(f"old-{n}", partner) for n in range(4)])
        cursor = list(crm.adapter.changed_since(Entity.LEAD, None))[-1].cursor
        crm.let_time_pass(5)
        crm.adapter.create_leads([_draft("new-1", partner)])

        later = [
            r.external_id for page in crm.adapter.changed_since(Entity.LEAD, cursor) for r in page.records
        ]  # type: ignore[union-attr]

        assert later == ["new-1"]

    def test_nothing_changed_means_no_records(self, crm: ContractTarget) -> None:
        provision(crm.adapter, desired_layout())
        partner = crm.seeder.partner("ООО «Вектор»")
        crm.adapter.create_leads([_draft("ext-1", partner)])
        cursor = list(crm.adapter.changed_since(Entity.LEAD, None))[-1].cursor

        assert [r for page in crm.adapter.changed_since(Entity.LEAD, cursor) for r in page.records] == []

    def test_an_updated_record_comes_back_after_the_cursor(self, crm: ContractTarget) -> None:
        provision(crm.adapter, desired_layout())
        partner = crm.seeder.partner("ООО «Вектор»")
        [first, _] = crm.adapter.create_leads([_draft("a", partner), _draft("b", partner)])
        cursor = list(crm.adapter.changed_since(Entity.LEAD, None))[-1].cursor
        crm.let_time_pass(5)
        assert first.crm_id is not None
        crm.adapter.update_records([RecordUpdate(Entity.LEAD, first.crm_id, stage=LEAD_STAGES[1])])

        later = [r.crm_id for page in crm.adapter.changed_since(Entity.LEAD, cursor) for r in page.records]

        assert later == [first.crm_id]


class TestDealsTasksPartners:
    def test_deals_in_another_funnel_are_idempotent_and_listed_with_their_funnel(
        self, crm: ContractTarget
    ) -> None:
        provision(crm.adapter, desired_layout())
        partner = crm.seeder.partner("ООО «Вектор»")
        draft = DealDraft(
            external_id="card-1", funnel="tier_upgrade", title="Вектор: повышение", partner_id=partner
        )

        first = crm.adapter.create_deals([draft])
        second = crm.adapter.create_deals([draft])

        assert first[0].created and not second[0].created and first[0].crm_id == second[0].crm_id
        deals = [r for page in crm.adapter.changed_since(Entity.DEAL, None) for r in page.records]
        assert [(d.funnel, d.partner_id) for d in deals] == [("tier_upgrade", partner)]  # type: ignore[union-attr]

    def test_a_task_is_bound_to_a_lead_and_created_once(self, crm: ContractTarget) -> None:
        provision(crm.adapter, desired_layout())
        partner = crm.seeder.partner("ООО «Вектор»")
        manager = crm.seeder.user("Анна Смирнова")
        [lead] = crm.adapter.create_leads([_draft("ext-1", partner)])
        assert lead.crm_id is not None
        task = TaskDraft(
            external_id="task-ext-1",
            title="Связаться с клиентом",
            description="Новый лид партнёра",
            responsible_user_id=manager,
            deadline=datetime(2026, 11, 3, 13, 0, tzinfo=UTC) + timedelta(hours=4),
            bound_to=RecordRef(Entity.LEAD, lead.crm_id),
        )

        first = crm.adapter.create_tasks([task])
        second = crm.adapter.create_tasks([task])

        assert first[0].ok and first[0].created and first[0].crm_id
        assert not second[0].created and second[0].crm_id == first[0].crm_id

    def test_a_user_is_notified_through_the_notification_port(self, crm: ContractTarget) -> None:
        manager = crm.seeder.user("Анна Смирнова")

        assert isinstance(crm.adapter, NotificationSink)
        [sent] = crm.adapter.send_notifications([NotificationDraft("note-1", manager, "Новый лид")])

        assert sent.ok and sent.crm_id

    def test_a_partner_tier_is_written_by_option_key(self, crm: ContractTarget) -> None:
        provision(crm.adapter, desired_layout())
        partner = crm.seeder.partner("ООО «Вектор»")

        [outcome] = crm.adapter.update_partners([PartnerUpdate(partner, {"tier": "gold"})])

        assert outcome.ok
        assert _partner(crm, partner).tier == "gold"

    def test_an_unknown_tier_option_is_refused(self, crm: ContractTarget) -> None:
        provision(crm.adapter, desired_layout())
        partner = crm.seeder.partner("ООО «Вектор»")

        [outcome] = crm.adapter.update_partners([PartnerUpdate(partner, {"tier": "diamond"})])

        assert not outcome.ok
        assert _partner(crm, partner).tier != "diamond"

    def test_selection_scores_written_to_a_partner_read_back_as_its_qualification(
        self, crm: ContractTarget
    ) -> None:
        provision(crm.adapter, desired_layout())
        partner = crm.seeder.partner("ООО «Вектор»")
        scores = {"score_values_fit": 5, "score_reputation": 3, "score_total": 79, "score_verdict": "passed"}

        [outcome] = crm.adapter.update_partners([PartnerUpdate(partner, scores)])

        assert outcome.ok
        assert _partner(crm, partner).qualification == {"values_fit": 5, "reputation": 3}

    def test_users_are_listed_and_the_connection_checks_out(self, crm: ContractTarget) -> None:
        manager = crm.seeder.user("Анна Смирнова")

        assert manager in {u.crm_id for u in crm.adapter.list_users()}
        checks = crm.adapter.check()
        assert checks and next(c for c in checks if c.name == "connection").ok


@pytest.mark.parametrize("entity", [Entity.PARTNER, Entity.LEAD, Entity.DEAL])
def test_an_empty_crm_lists_nothing(crm: ContractTarget, entity: Entity) -> None:
    provision(crm.adapter, desired_layout())

    assert [r for page in crm.adapter.changed_since(entity, None) for r in page.records] == []
