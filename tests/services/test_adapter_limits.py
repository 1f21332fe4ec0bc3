"""Services follow what the adapter declares: the write batch size from its capabilities (leads
created, lead updates and tasks of distribution, escalation tasks), and CRM notifications through its
NotificationSink port."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from crm_bridge.domain.distribution import DistributionPolicy
from crm_bridge.domain.funnels import default_funnels, desired_layout
from crm_bridge.domain.model import Curator, CustomerIdentity, Manager
from crm_bridge.fake import FakeClock, FakeCRM
from crm_bridge.plugin import Capabilities
from crm_bridge.ports import Entity, NotificationDraft, NotificationSink, TaskSink, WriteOutcome
from crm_bridge.services.distribute.escalate import Escalator
from crm_bridge.services.distribute.service import Distributor
from crm_bridge.services.distribute.settings import DistributionSettings, Team
from crm_bridge.services.intake.fields import LeadFields
from crm_bridge.services.intake.service import IntakeService, LeadSubmission
from crm_bridge.services.notify.channels import CrmNotifications, Message
from crm_bridge.services.provision import provision
from crm_bridge.services.sync.pull import sync
from crm_bridge.store import Store, open_store

PORTAL = "fake:limits"
TEAM = Team(
    managers=(Manager("irina", "Ирина", "7"), Manager("oleg", "Олег", "8")),
    calendars={},
    curators=(Curator("anna", "Анна", "11"),),
    timezone="UTC",
)
ROUND_ROBIN = DistributionSettings(policy=DistributionPolicy(strategy="round_robin"))
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(f"sqlite:///{tmp_path / 'state.db'}") as s:
        yield s


def small_batch_crm(clock: FakeClock, write_batch: int | None) -> FakeCRM:
    if write_batch is None:
        crm = FakeCRM(clock=clock)
    else:
        crm = FakeCRM(clock=clock, capabilities=Capabilities(write_batch=write_batch))
    provision(crm, desired_layout(default_funnels(), "en", ["bronze", "gold"]))
    for user_id, name in (("7", "Ирина"), ("8", "Олег"), ("11", "Анна")):
        crm.add_user(user_id, name)
    return crm


def submission(i: int, partner_id: str) -> LeadSubmission:
    customer = CustomerIdentity(email=f"c{i}@example.ru")
    return LeadSubmission(f"csv:{i}", partner_id, LeadFields(f"Клиент {i}", customer, Decimal(1000 + i)))


def test_intake_creates_leads_in_batches_of_the_adapters_write_batch(
    store: Store, fake_clock: FakeClock
) -> None:
    crm = small_batch_crm(fake_clock, 2)
    partner = crm.seed_partner("ООО Альфа", curator_key="anna")
    sync(crm, store, PORTAL, now=fake_clock(), entities=[Entity.PARTNER])
    subs = [submission(i, partner.crm_id) for i in range(5)]
    outcomes = IntakeService(crm, store, PORTAL).submit(subs, now=fake_clock())
    assert [o.status for o in outcomes] == ["created"] * 5
    assert crm.calls["send_leads"] == 3  # 2 + 2 + 1
    assert len(crm.state.leads) == 5


def test_distribution_and_escalation_write_in_the_adapters_batches(
    store: Store, fake_clock: FakeClock
) -> None:
    crm = small_batch_crm(fake_clock, 3)
    partner = crm.seed_partner("ООО Бета", curator_key="anna")
    for i in range(7):
        crm.seed_lead(partner.crm_id, f"Лид {i}")
    sync(crm, store, PORTAL, now=fake_clock() + timedelta(minutes=5))
    result = Distributor(crm, store, PORTAL, TEAM, ROUND_ROBIN).distribute(fake_clock())
    assert len(result.assigned) == 7
    assert (crm.calls["update_records"], crm.calls["create_tasks"]) == (3, 3)  # 3 + 3 + 1
    fake_clock.advance(3 * 86400)  # every SLA long past, nobody touched the leads
    sync(crm, store, PORTAL, now=fake_clock())
    escalated = Escalator(crm, store, PORTAL, TEAM, ROUND_ROBIN).escalate(fake_clock())
    assert len(escalated.escalated) == 7
    assert crm.calls["create_tasks"] == 3 + 3


def test_an_adapter_declaring_nothing_gets_the_default_batch(store: Store, fake_clock: FakeClock) -> None:
    crm = small_batch_crm(fake_clock, None)
    partner = crm.seed_partner("ООО Гамма")
    sync(crm, store, PORTAL, now=fake_clock(), entities=[Entity.PARTNER])
    subs = [submission(i, partner.crm_id) for i in range(60)]
    IntakeService(crm, store, PORTAL).submit(subs, now=fake_clock())
    assert crm.calls["send_leads"] == 2


class BellOnly:
    """A CRM side that can only ring users' bells: a NotificationSink and no TaskSink."""

    def __init__(self) -> None:
        self.sent: list[NotificationDraft] = []

    def send_notifications(self, drafts: Sequence[NotificationDraft]) -> list[WriteOutcome]:
        self.sent.extend(drafts)
        return [WriteOutcome(d.external_id, f"n{len(self.sent)}", created=True) for d in drafts]


def message(key: str) -> Message:
    return Message(1, key, "sync_failed", "Sync failed", "details", "Анна", crm_user_id="11")


def test_crm_notifications_need_only_the_notification_port() -> None:
    bell = BellOnly()
    assert isinstance(bell, NotificationSink) and not isinstance(bell, TaskSink)
    deliveries = CrmNotifications(bell).deliver([message("sf:1"), message("sf:2")], NOW)
    assert [d.ok for d in deliveries] == [True, True]
    assert [(d.external_id, d.user_id) for d in bell.sent] == [("sf:1", "11"), ("sf:2", "11")]


def test_the_task_mode_takes_a_separate_task_sink_or_refuses_without_one(fake_clock: FakeClock) -> None:
    crm = small_batch_crm(fake_clock, 50)
    with pytest.raises(ValueError, match="TaskSink"):
        CrmNotifications(BellOnly(), mode="task")
    deliveries = CrmNotifications(BellOnly(), tasks=crm, mode="task").deliver([message("sf:3")], NOW)
    assert deliveries[0].ok and [t.external_id for t in crm.state.tasks.values()] == ["sf:3"]


def test_every_adapter_port_set_includes_the_notification_sink(fake_clock: FakeClock) -> None:
    crm = small_batch_crm(fake_clock, 50)
    assert isinstance(crm, NotificationSink)
    assert crm.send_notifications([NotificationDraft("n:1", "11", "hello")])[0].ok
