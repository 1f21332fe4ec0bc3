"""CRM-agnostic use cases on every contract target (the fake and each installed adapter over its own
emulator): the same service code provisions, syncs and distributes alike, whatever the CRM. Also: no
installed adapter may escape the contract suite."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

from contract_targets import TARGETS, ContractTarget
from layout_fixtures import desired_for

from crm_bridge.domain.distribution import DistributionPolicy
from crm_bridge.domain.model import Manager
from crm_bridge.plugin import installed_specs
from crm_bridge.ports import Entity, LeadDraft
from crm_bridge.services.distribute.service import Distributor
from crm_bridge.services.distribute.settings import DistributionSettings, Team
from crm_bridge.services.provision import provision
from crm_bridge.services.sync.pull import sync
from crm_bridge.store import open_store


def test_every_installed_adapter_has_a_contract_target() -> None:
    targets = {t.name.split("-")[0] for t in TARGETS}

    assert set(installed_specs()) <= targets, "add tests/contract/target_<kind>.py for each adapter"


def test_provision_sync_and_distribute_give_each_new_lead_one_manager_and_one_task(
    crm: ContractTarget, tmp_path: Path
) -> None:
    provision(crm.adapter, desired_for(crm.adapter))  # as `crm-bridge provision` asks for it
    partner = crm.seeder.partner("ООО Контракт")
    anna, boris = crm.seeder.user("Анна Петрова"), crm.seeder.user("Борис Иванов")
    drafts = [LeadDraft(external_id=f"svc-{i}", partner_id=partner, title=f"Lead {i}") for i in range(3)]
    created = crm.adapter.create_leads(drafts)
    assert all(o.crm_id for o in created), [o.error for o in created]
    crm.let_time_pass(5)
    team = Team(
        managers=(Manager("anna", "Анна", anna), Manager("boris", "Борис", boris)),
        calendars={},
        curators=(),
        head=None,
        timezone="UTC",
    )
    settings = DistributionSettings(policy=DistributionPolicy(strategy="round_robin"))
    listed = [r for page in crm.adapter.changed_since(Entity.LEAD, None) for r in page.records]
    now = max(lead.created_at for lead in listed) + timedelta(minutes=1)  # the CRM's own clock

    with open_store(f"sqlite:///{tmp_path / 'state.db'}") as store:
        sync(crm.adapter, store, "contract", now=now)
        first = Distributor(crm.adapter, store, "contract", team, settings).distribute(now)
        again = Distributor(crm.adapter, store, "contract", team, settings).distribute(now)

    ids = {o.crm_id for o in created}
    assert {r.lead_crm_id for r in first.assigned} == ids
    assert sorted(first.per_manager().values()) == [1, 2]
    assert all(r.task_crm_id for r in first.assigned)
    assert again.assigned == [] and again.unassigned == []
    crm.let_time_pass(5)
    leads = [r for page in crm.adapter.changed_since(Entity.LEAD, None) for r in page.records]
    managers = {lead.crm_id: lead.manager_user_id for lead in leads if lead.crm_id in ids}
    assert set(managers.values()) == {anna, boris}
    assert sorted(Counter(managers.values()).values()) == [1, 2]
