"""Lead distribution and SLA escalation against the FakeCRM and a SQLite store (services.distribute)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crm_bridge.domain.distribution import DistributionPolicy
from crm_bridge.domain.funnels import default_funnels, desired_layout
from crm_bridge.domain.model import Curator, Manager
from crm_bridge.fake import FakeClock, FakeCRM
from crm_bridge.ports import Entity, RecordRef, RecordUpdate
from crm_bridge.services.distribute.escalate import Escalator
from crm_bridge.services.distribute.service import Distributor
from crm_bridge.services.distribute.settings import DistributionSettings, Team
from crm_bridge.services.provision import provision
from crm_bridge.services.sla import WorkingCalendar
from crm_bridge.services.sync.pull import sync
from crm_bridge.store import Store
from crm_bridge.store.assignments import AssignmentRepository

PORTAL = "fake:test"
IRINA = Manager("irina", "Ирина", "7", timezone="Europe/Moscow")
OLEG = Manager("oleg", "Олег", "8", timezone="Asia/Vladivostok")
ANNA = Curator("anna", "Анна", "11")
HEAD = Curator("head", "Мария (МОПП)", "1")
TEAM = Team(managers=(IRINA, OLEG), calendars={}, curators=(ANNA,), head=HEAD, timezone="Europe/Moscow")
ROUND_ROBIN = DistributionSettings(policy=DistributionPolicy(strategy="round_robin"))


class Crash(Exception):
    pass


class RecordingNotifier:
    def __init__(self) -> None:
        self.sent: dict[str, tuple[str, list[Any], str]] = {}

    def notify(self, event: str, recipients: list[Any], text: str, *, key: str) -> None:
        self.sent.setdefault(key, (event, list(recipients), text))


@pytest.fixture
def crm(fake_clock: FakeClock) -> FakeCRM:  # Monday 2026-11-02 09:00 UTC = 12:00 in Moscow
    fake = FakeCRM(clock=fake_clock)
    provision(fake, desired_layout(default_funnels(), "en", ["bronze", "gold"]))
    for user_id, name in (("7", "Ирина"), ("8", "Олег"), ("11", "Анна"), ("1", "Мария")):
        fake.add_user(user_id, name)
    return fake


def new_leads(
    crm: FakeCRM, store: Store, clock: FakeClock, n: int, *, curator: str | None = "anna"
) -> list[str]:
    partner = crm.seed_partner(f"ООО Партнёр {len(crm.state.partners)}", curator_key=curator)
    ids = [crm.seed_lead(partner.crm_id, f"Лид {i}").crm_id for i in range(n)]
    sync(crm, store, PORTAL, now=clock() + timedelta(minutes=5))
    return ids


def distributor(crm: FakeCRM, store: Store, **kw: Any) -> Distributor:
    kw.setdefault("settings", ROUND_ROBIN)
    settings = kw.pop("settings")
    return Distributor(crm, store, PORTAL, kw.pop("team", TEAM), settings, **kw)


def test_each_new_lead_gets_a_manager_and_a_task_whose_deadline_is_the_sla_in_their_zone(
    crm: FakeCRM, store: Store, fake_clock: FakeClock
) -> None:
    a, b = new_leads(crm, store, fake_clock, 2)
    result = distributor(crm, store).distribute(fake_clock())
    assert [(r.lead_crm_id, r.manager_key) for r in result.assigned] == [(a, "irina"), (b, "oleg")]
    assert crm.state.leads[a].manager_user_id == "7" and crm.state.leads[b].manager_user_id == "8"
    tasks = {t.bound_to.crm_id: t for t in crm.state.tasks.values() if t.bound_to}
    # 12:00 Moscow + 4 working hours = 16:00 Moscow; in Vladivostok (UTC+10) it is 19:00: Tuesday 13:00
    assert tasks[a].deadline == datetime(2026, 11, 2, 13, 0, tzinfo=UTC)
    assert tasks[b].deadline == datetime(2026, 11, 3, 3, 0, tzinfo=UTC)
    assert tasks[a].responsible_user_id == "7"
    assert f"lead {a} assigned to Ирина (irina) by round_robin" in tasks[a].description
    assert "2026-11-02 16:00 (Europe/Moscow)" in tasks[a].description


def test_every_assignment_is_recorded_with_its_reason_and_a_rerun_assigns_nothing_again(
    crm: FakeCRM, store: Store, fake_clock: FakeClock
) -> None:
    new_leads(crm, store, fake_clock, 3)
    first = distributor(crm, store).distribute(fake_clock())
    assert all("assigned to" in r.reason and r.strategy == "round_robin" for r in first.assigned)
    calls = (crm.calls["create_tasks"], crm.calls["update_records"])
    again = distributor(crm, store).distribute(fake_clock())  # the replica still shows no manager
    assert again.assigned == [] and (crm.calls["create_tasks"], crm.calls["update_records"]) == calls
    assert len(crm.state.tasks) == 3


def test_the_strategy_state_carries_over_between_runs(
    crm: FakeCRM, store: Store, fake_clock: FakeClock
) -> None:
    new_leads(crm, store, fake_clock, 1)
    first = distributor(crm, store).distribute(fake_clock())
    fake_clock.advance(600)
    new_leads(crm, store, fake_clock, 1)
    second = distributor(crm, store).distribute(fake_clock())
    assert [r.manager_key for r in first.assigned + second.assigned] == ["irina", "oleg"]


@pytest.mark.parametrize("step", ["decided", "responsible"])
def test_a_crash_after_deciding_is_completed_by_the_next_run_with_the_same_manager(
    step: str, crm: FakeCRM, store: Store, fake_clock: FakeClock
) -> None:
    ids = new_leads(crm, store, fake_clock, 4)

    def crash(reached: str) -> None:
        if reached == step:
            raise Crash

    with pytest.raises(Crash):
        distributor(crm, store, checkpoint=crash).distribute(fake_clock())
    result = distributor(crm, store).distribute(fake_clock())
    assert [r.manager_key for r in result.assigned] == ["irina", "oleg", "irina", "oleg"]
    assert sorted(t.bound_to.crm_id for t in crm.state.tasks.values() if t.bound_to) == sorted(ids)


def test_a_lead_the_crm_refused_to_assign_is_reported_with_its_reason_and_assigned_once_the_cause_is_fixed(
    crm: FakeCRM, store: Store, fake_clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    ghost = Manager("ghost", "Призрак", "99", timezone="Europe/Moscow")  # no such CRM user (yet)
    team = Team(managers=(ghost,), calendars={}, curators=(ANNA,), head=HEAD, timezone="Europe/Moscow")
    (lead_id,) = new_leads(crm, store, fake_clock, 1)

    first = distributor(crm, store, team=team).distribute(fake_clock())

    assert [(r.lead_crm_id, r.manager_key) for r in first.failed] == [(lead_id, "ghost")]
    assert "unknown user '99'" in (first.failed[0].error or "")
    assert f"the CRM refused to assign lead {lead_id} to ghost (user 99)" in caplog.text
    assert "unknown user '99'" in caplog.text
    crm.add_user("99", "Призрак")  # the admin creates the user in the CRM
    second = distributor(crm, store, team=team).distribute(fake_clock())
    assert [r.lead_crm_id for r in second.assigned] == [lead_id] and second.failed == []
    assert crm.state.leads[lead_id].manager_user_id == "99"


def test_conflict_leads_are_left_for_review_and_nobody_available_is_recorded_with_why(
    crm: FakeCRM, store: Store, fake_clock: FakeClock
) -> None:
    partner = crm.seed_partner("ООО Гамма", curator_key="anna")
    crm.seed_lead(partner.crm_id, "Чужой клиент")
    lead = next(iter(crm.state.leads.values()))
    crm.update_records([RecordUpdate(Entity.LEAD, lead.crm_id, fields={"conflict": True})])
    other = crm.seed_lead(partner.crm_id, "Обычный")
    sync(crm, store, PORTAL, now=fake_clock() + timedelta(minutes=5))
    away = Team(managers=(Manager("irina", "Ирина", "7", active=False),), calendars={})
    result = distributor(crm, store, team=away).distribute(fake_clock())
    assert result.assigned == []
    assert [(r.lead_crm_id, r.reason) for r in result.unassigned] == [
        (other.crm_id, f"no eligible manager for lead {other.crm_id}: irina skipped: inactive")
    ]
    assert crm.state.tasks == {} and crm.calls["update_records"] == 1


def test_old_closed_or_already_owned_leads_are_not_distributed(
    crm: FakeCRM, store: Store, fake_clock: FakeClock
) -> None:
    partner = crm.seed_partner("ООО Дельта")
    crm.seed_lead(partner.crm_id, "Старый")
    fake_clock.advance(40 * 86400)
    crm.seed_lead(partner.crm_id, "Уже у Олега", manager_user_id="8")
    won = [s for s in crm.lead_funnel_stages()][-2]
    crm.seed_lead(partner.crm_id, "Закрыт", stage=won)
    sync(crm, store, PORTAL, now=fake_clock() + timedelta(minutes=5))
    assert distributor(crm, store).distribute(fake_clock()).assigned == []


def escalator(crm: FakeCRM, store: Store, notifier: RecordingNotifier, **kw: Any) -> Escalator:
    return Escalator(
        crm, store, PORTAL, kw.pop("team", TEAM), kw.pop("settings", ROUND_ROBIN), notifier=notifier
    )


def test_an_untouched_lead_past_its_sla_escalates_once_to_the_curator(
    crm: FakeCRM, store: Store, fake_clock: FakeClock
) -> None:
    (lead_id,) = new_leads(crm, store, fake_clock, 1)
    distributor(crm, store).distribute(fake_clock())
    notifier = RecordingNotifier()
    assert escalator(crm, store, notifier).escalate(fake_clock()).escalated == []  # not due yet
    fake_clock.advance(5 * 3600)  # 17:00 Moscow, deadline was 16:00
    sync(crm, store, PORTAL, now=fake_clock())
    result = escalator(crm, store, notifier).escalate(fake_clock())
    assert [(r.lead_crm_id, c.key) for r, c in result.escalated] == [(lead_id, "anna")]
    task = next(t for t in crm.state.tasks.values() if t.external_id == f"escalation:{lead_id}")
    assert task.responsible_user_id == "11" and "untouched past its SLA" in task.description
    assert notifier.sent[f"lead_escalated:{lead_id}"][0] == "lead_escalated"
    fake_clock.advance(3600)
    assert escalator(crm, store, notifier).escalate(fake_clock()).escalated == []
    assert sum(1 for t in crm.state.tasks.values() if t.external_id.startswith("escalation:")) == 1


def test_a_touched_lead_does_not_escalate(crm: FakeCRM, store: Store, fake_clock: FakeClock) -> None:
    (lead_id,) = new_leads(crm, store, fake_clock, 1)
    distributor(crm, store).distribute(fake_clock())
    fake_clock.advance(3600)
    crm.update_records([RecordUpdate(Entity.LEAD, lead_id, fields={"first_touch_at": fake_clock()})])
    fake_clock.advance(5 * 3600)
    sync(crm, store, PORTAL, now=fake_clock())
    result = escalator(crm, store, RecordingNotifier()).escalate(fake_clock())
    assert result.escalated == [] and result.touched == 1


def test_a_partner_without_curator_escalates_to_the_head(
    crm: FakeCRM, store: Store, fake_clock: FakeClock
) -> None:
    (lead_id,) = new_leads(crm, store, fake_clock, 1, curator=None)
    distributor(crm, store).distribute(fake_clock())
    fake_clock.advance(8 * 3600)
    sync(crm, store, PORTAL, now=fake_clock())
    result = escalator(crm, store, RecordingNotifier()).escalate(fake_clock())
    assert [(r.lead_crm_id, c.key) for r, c in result.escalated] == [(lead_id, "head")]


def test_escalation_waits_for_the_extra_working_time_in_the_managers_calendar(
    crm: FakeCRM, store: Store, fake_clock: FakeClock
) -> None:
    new_leads(crm, store, fake_clock, 1)
    settings = DistributionSettings(
        policy=DistributionPolicy(strategy="round_robin"), escalate_after=timedelta(hours=2)
    )
    team = Team(
        managers=(IRINA,), calendars={"irina": WorkingCalendar()}, curators=(ANNA,), timezone="Europe/Moscow"
    )
    distributor(crm, store, team=team, settings=settings).distribute(fake_clock())
    fake_clock.advance(5 * 3600)  # 17:00 Moscow: SLA over at 16:00, but +2 working hours = Tue 10:00
    sync(crm, store, PORTAL, now=fake_clock())
    assert (
        escalator(crm, store, RecordingNotifier(), team=team, settings=settings)
        .escalate(fake_clock())
        .escalated
        == []
    )
    fake_clock.advance(17 * 3600)  # Tuesday 10:00 Moscow
    assert (
        len(
            escalator(crm, store, RecordingNotifier(), team=team, settings=settings)
            .escalate(fake_clock())
            .escalated
        )
        == 1
    )


def test_the_escalation_task_and_notice_name_the_lead_the_manager_and_when_it_was_due(
    crm: FakeCRM, store: Store, fake_clock: FakeClock
) -> None:
    (lead_id,) = new_leads(crm, store, fake_clock, 1)
    distributor(crm, store).distribute(fake_clock())
    (rec,) = [r for r in AssignmentRepository(store.engine).all(PORTAL) if r.lead_crm_id == lead_id]
    fake_clock.advance(5 * 3600)  # Monday 17:00 in Moscow, the first touch was due at 16:00
    sync(crm, store, PORTAL, now=fake_clock())
    notifier = RecordingNotifier()

    escalator(crm, store, notifier).escalate(fake_clock())

    task = next(t for t in crm.state.tasks.values() if t.external_id == f"escalation:{lead_id}")
    assert task.title == "Overdue partner lead: Лид 0"
    manager = {"irina": "Ирина", "oleg": "Олег"}[rec.manager_key or ""]
    assert task.description == (
        f"The partner lead «Лид 0» assigned to {manager} is untouched past its SLA "
        f"(first touch was due 2026-11-02 16:00 (Europe/Moscow)).\nAssigned because: {rec.reason}"
    )
    # the curator's own deadline: the SLA again in working time (Tue 12:00 Moscow = 09:00 UTC)
    assert task.deadline == datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
    assert task.bound_to == RecordRef(Entity.LEAD, lead_id)
    assert notifier.sent[f"lead_escalated:{lead_id}"] == (
        "lead_escalated",
        [ANNA],
        f"Escalation: partner lead «Лид 0» ({manager}) is overdue since 2026-11-02 16:00 (Europe/Moscow).",
    )


def test_the_escalation_task_is_titled_in_the_settings_language_and_cut_to_the_crms_255_characters(
    crm: FakeCRM, store: Store, fake_clock: FakeClock
) -> None:
    partner = crm.seed_partner("ООО Длинный", curator_key="anna")
    lead_id = crm.seed_lead(partner.crm_id, "Ж" * 250).crm_id
    sync(crm, store, PORTAL, now=fake_clock() + timedelta(minutes=5))
    distributor(crm, store).distribute(fake_clock())
    fake_clock.advance(5 * 3600)
    sync(crm, store, PORTAL, now=fake_clock())
    russian = DistributionSettings(policy=DistributionPolicy(strategy="round_robin"), locale="ru")

    escalator(crm, store, RecordingNotifier(), settings=russian).escalate(fake_clock())

    task = next(t for t in crm.state.tasks.values() if t.external_id == f"escalation:{lead_id}")
    assert task.title == "Просроченный партнёрский лид: " + "Ж" * 225  # 30 + 225 = 255 characters
    assert task.description.startswith(f"Партнёрский лид «{'Ж' * 250}»")


def test_escalation_can_go_to_the_head_be_off_or_find_no_one(
    crm: FakeCRM, store: Store, fake_clock: FakeClock
) -> None:
    (lead_id,) = new_leads(crm, store, fake_clock, 1)
    distributor(crm, store).distribute(fake_clock())
    fake_clock.advance(6 * 3600)
    sync(crm, store, PORTAL, now=fake_clock())
    off = DistributionSettings(policy=DistributionPolicy(strategy="round_robin"), escalation=False)
    assert escalator(crm, store, RecordingNotifier(), settings=off).escalate(fake_clock()).escalated == []
    headless = Team(managers=(IRINA, OLEG), calendars={}, curators=(), head=None, timezone="Europe/Moscow")
    nobody = escalator(crm, store, RecordingNotifier(), team=headless).escalate(fake_clock())
    assert (nobody.escalated, nobody.no_one_to_tell) == ([], [lead_id])
    to_head = DistributionSettings(policy=DistributionPolicy(strategy="round_robin"), escalate_to="head")
    result = escalator(crm, store, RecordingNotifier(), settings=to_head).escalate(fake_clock())
    assert [(r.lead_crm_id, c.key) for r, c in result.escalated] == [(lead_id, "head")]


def test_an_escalation_task_the_crm_refuses_is_tried_again_next_run(
    crm: FakeCRM, store: Store, fake_clock: FakeClock
) -> None:
    (lead_id,) = new_leads(crm, store, fake_clock, 1)
    distributor(crm, store).distribute(fake_clock())
    fake_clock.advance(6 * 3600)
    sync(crm, store, PORTAL, now=fake_clock())
    del crm.state.users["11"]  # the curator's CRM user is gone: the task is refused
    notifier = RecordingNotifier()
    assert escalator(crm, store, notifier).escalate(fake_clock()).escalated == []
    assert notifier.sent == {}
    crm.add_user("11", "Анна")
    again = escalator(crm, store, notifier).escalate(fake_clock())
    assert [r.lead_crm_id for r, _ in again.escalated] == [lead_id]
