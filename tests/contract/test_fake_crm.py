"""What only the FakeCRM offers: failure injection, call counts, the CRM's own won/lost stages on a
new funnel, and its strictness about hand-made records."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crm_bridge import ports
from crm_bridge.domain.layout import (
    DesiredFunnel,
    DesiredStage,
    PlanAction,
    PlanItem,
    PlanObject,
    ProvisionPlan,
)
from crm_bridge.domain.model import StageKind
from crm_bridge.errors import CrmValidationError, RateLimited, TransientError
from crm_bridge.fake import FakeClock, FakeCRM
from crm_bridge.ports import Entity, LeadDraft


def _lead_funnel_plan() -> ProvisionPlan:
    stages = (
        DesiredStage("registered", "Registered", StageKind.OPEN, sort=10),
        DesiredStage("qualified", "Qualified", StageKind.OPEN, sort=20),
        DesiredStage("won", "Deal closed", StageKind.WON, sort=90),
        DesiredStage("lost", "Lost", StageKind.LOST, sort=100),
    )
    funnel = DesiredFunnel("leads", "Partner leads", stages, sort=20)
    items = [PlanItem(PlanObject.FUNNEL, PlanAction.CREATE, "leads", desired=funnel)]
    items += [PlanItem(PlanObject.STAGE, PlanAction.CREATE, f"leads/{s.key}", desired=s) for s in stages]
    return ProvisionPlan(tuple(items))


@pytest.fixture
def fake() -> FakeCRM:
    crm = FakeCRM(clock=FakeClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC)))
    crm.apply_plan(_lead_funnel_plan())
    crm.calls.clear()
    return crm


def test_the_fake_satisfies_every_port() -> None:
    crm = FakeCRM()
    adapter: ports.CrmAdapter = crm
    for port in (
        ports.FunnelAdmin,
        ports.RecordSource,
        ports.RecordWriter,
        ports.TaskSink,
        ports.PartnerFieldWriter,
        ports.UserDirectory,
        ports.Diagnostics,
    ):
        assert isinstance(adapter, port), port.__name__


def test_a_new_funnel_gets_the_crms_own_won_and_lost_stages_which_the_plan_takes_over() -> None:
    crm = FakeCRM()

    layout = crm.apply_plan(_lead_funnel_plan())

    [funnel] = layout.funnels
    assert [(s.key, s.kind, s.system) for s in funnel.stages] == [
        ("registered", StageKind.OPEN, False),
        ("qualified", StageKind.OPEN, False),
        ("won", StageKind.WON, True),
        ("lost", StageKind.LOST, True),
    ]


def test_a_stage_holding_records_cannot_be_deleted(fake: FakeCRM) -> None:
    partner = fake.seed_partner("ООО «Вектор»")
    fake.seed_lead(partner.crm_id, "Лид", stage="qualified")
    stage = next(s for s in fake.observe_layout().funnels[0].stages if s.key == "qualified")

    with pytest.raises(CrmValidationError, match="holds records"):
        fake.apply_plan(
            ProvisionPlan(
                (PlanItem(PlanObject.STAGE, PlanAction.DELETE, "leads/qualified", observed_id=stage.crm_id),)
            )
        )


def test_a_hand_made_lead_with_a_taken_external_id_is_refused(fake: FakeCRM) -> None:
    partner = fake.seed_partner("ООО «Вектор»")
    fake.seed_lead(partner.crm_id, "Первый", external_id="ext-1")

    with pytest.raises(CrmValidationError, match="duplicate external id"):
        fake.seed_lead(partner.crm_id, "Второй", external_id="ext-1")


def test_the_same_external_id_for_another_partner_is_refused_not_merged(fake: FakeCRM) -> None:
    one, other = fake.seed_partner("Один"), fake.seed_partner("Другой")
    fake.create_leads([LeadDraft("ext-1", one.crm_id, "Лид")])

    [outcome] = fake.create_leads([LeadDraft("ext-1", other.crm_id, "Лид")])

    assert outcome.error == "external id already used by another partner's lead"


def test_an_injected_rate_limit_fails_the_call_before_any_write(fake: FakeCRM) -> None:
    partner = fake.seed_partner("ООО «Вектор»")
    fake.failures.fail_next("rate_limit", method="create_leads")

    with pytest.raises(RateLimited) as caught:
        fake.create_leads([LeadDraft("ext-1", partner.crm_id, "Лид")])

    assert caught.value.retry_after == 1.0
    assert fake.state.leads == {}
    assert fake.create_leads([LeadDraft("ext-1", partner.crm_id, "Лид")])[0].created


def test_a_lost_answer_after_the_write_is_healed_by_retrying_with_the_same_external_id(fake: FakeCRM) -> None:
    partner = fake.seed_partner("ООО «Вектор»")
    fake.failures.fail_next("transient", method="create_leads", when="after")

    with pytest.raises(TransientError):
        fake.create_leads([LeadDraft("ext-1", partner.crm_id, "Лид")])
    [retry] = fake.create_leads([LeadDraft("ext-1", partner.crm_id, "Лид")])

    assert not retry.created
    assert len(fake.state.leads) == 1


def test_the_nth_call_fails_once(fake: FakeCRM) -> None:
    fake.failures.fail_call(2, "transient")

    fake.list_users()
    with pytest.raises(TransientError):
        fake.list_users()
    fake.list_users()

    assert fake.calls["list_users"] == 3


def test_a_seeded_fraction_of_calls_fails_reproducibly() -> None:
    def failures(seed: int) -> list[int]:
        crm = FakeCRM()
        crm.failures.fail_fraction(0.3, seed=seed)
        failed = []
        for n in range(50):
            try:
                crm.list_users()
            except TransientError:
                failed.append(n)
        return failed

    assert failures(7) == failures(7)
    assert 5 <= len(failures(7)) <= 25
    assert failures(7) != failures(8)


def test_paging_a_listing_counts_one_call_per_page(fake: FakeCRM) -> None:
    fake.page_size = 2
    partner = fake.seed_partner("ООО «Вектор»")
    for n in range(5):
        fake.seed_lead(partner.crm_id, f"Лид {n}")

    pages = list(fake.changed_since(Entity.LEAD, None))

    assert [len(p.records) for p in pages] == [2, 2, 1]
    assert pages[0].total == 5
    assert fake.calls["changed_since"] == 3
