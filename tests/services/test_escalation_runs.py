"""One escalation run over several partner leads (services.distribute.escalate): a touched, missing,
unaddressed or refused lead never holds up the overdue ones behind it; the extra time is counted in the
manager's own zone and hours; what the curator, the head and the operator see."""

from __future__ import annotations

import logging
from datetime import time, timedelta
from typing import Any

import pytest
from sqlalchemy import delete
from test_distribute import RecordingNotifier

from crm_bridge.domain.distribution import DistributionPolicy
from crm_bridge.domain.funnels import default_funnels, desired_layout
from crm_bridge.domain.model import Curator, Manager
from crm_bridge.fake import FakeClock, FakeCRM
from crm_bridge.ports import Entity, RecordUpdate
from crm_bridge.services.distribute.escalate import Escalator
from crm_bridge.services.distribute.service import Distributor
from crm_bridge.services.distribute.settings import DistributionSettings, Team
from crm_bridge.services.provision import provision
from crm_bridge.services.sla import WorkingCalendar
from crm_bridge.services.sync.pull import sync
from crm_bridge.store import Store
from crm_bridge.store.assignments import AssignmentRepository
from crm_bridge.store.schema import leads

PORTAL = "fake:test"
IRINA = Manager("irina", "Ирина", "7", timezone="Europe/Moscow")
OLEG = Manager("oleg", "Олег", "8", timezone="Asia/Vladivostok")
ANNA = Curator("anna", "Анна", "11")
BORIS = Curator("boris", "Борис", "12")
HEAD = Curator("head", "Мария (МОПП)", "1")
ONLY_IRINA = Team(
    managers=(IRINA,), calendars={}, curators=(ANNA, BORIS), head=HEAD, timezone="Europe/Moscow"
)
ROUND_ROBIN = DistributionSettings(policy=DistributionPolicy(strategy="round_robin"))


@pytest.fixture
def crm(fake_clock: FakeClock) -> FakeCRM:  # Monday 2026-11-02 09:00 UTC = 12:00 in Moscow
    fake = FakeCRM(clock=fake_clock)
    provision(fake, desired_layout(default_funnels(), "en", ["bronze", "gold"]))
    for user_id, name in (("7", "Ирина"), ("8", "Олег"), ("11", "Анна"), ("12", "Борис"), ("1", "Мария")):
        fake.add_user(user_id, name)
    return fake


def lead_of(crm: FakeCRM, curator: str | None, title: str) -> str:
    partner = crm.seed_partner(f"ООО {title}", curator_key=curator)
    return crm.seed_lead(partner.crm_id, title).crm_id


def assign(crm: FakeCRM, store: Store, clock: FakeClock, team: Team, settings: DistributionSettings) -> None:
    sync(crm, store, PORTAL, now=clock() + timedelta(minutes=5))
    assert len(Distributor(crm, store, PORTAL, team, settings).distribute(clock()).assigned) >= 1


def run(
    crm: FakeCRM,
    store: Store,
    clock: FakeClock,
    team: Team = ONLY_IRINA,
    settings: DistributionSettings = ROUND_ROBIN,
    notifier: RecordingNotifier | None = None,
) -> Any:
    sync(crm, store, PORTAL, now=clock())
    return Escalator(crm, store, PORTAL, team, settings, notifier=notifier).escalate(clock())


def escalated(result: Any) -> list[tuple[str, str]]:
    return [(rec.lead_crm_id, target.key) for rec, target in result.escalated]


def test_touched_leads_are_counted_once_and_do_not_stop_the_overdue_lead_behind_them(
    crm: FakeCRM, store: Store, fake_clock: FakeClock
) -> None:
    called, mailed, forgotten = (lead_of(crm, "anna", t) for t in ("Позвонили", "Написали", "Забыли"))
    assign(crm, store, fake_clock, ONLY_IRINA, ROUND_ROBIN)
    fake_clock.advance(3600)
    touch = {"first_touch_at": fake_clock()}
    crm.update_records([RecordUpdate(Entity.LEAD, i, fields=touch) for i in (called, mailed)])
    fake_clock.advance(5 * 3600)  # Monday 18:00 in Moscow, every first touch was due at 16:00

    first = run(crm, store, fake_clock)

    assert (first.touched, escalated(first)) == (2, [(forgotten, "anna")])
    fake_clock.advance(3600)
    again = run(crm, store, fake_clock)  # the touches were remembered: nothing is looked at twice
    assert (again.touched, escalated(again), again.no_one_to_tell) == (0, [], [])


def test_a_lead_with_no_one_to_tell_is_reported_and_the_next_lead_still_reaches_its_curator(
    crm: FakeCRM, store: Store, fake_clock: FakeClock
) -> None:
    headless = Team(managers=(IRINA,), calendars={}, curators=(ANNA,), head=None, timezone="Europe/Moscow")
    orphan = lead_of(crm, None, "Без куратора")
    looked_after = lead_of(crm, "anna", "С куратором")
    assign(crm, store, fake_clock, headless, ROUND_ROBIN)
    fake_clock.advance(6 * 3600)

    result = run(crm, store, fake_clock, headless)

    assert (escalated(result), result.no_one_to_tell) == ([(looked_after, "anna")], [orphan])


def test_a_lead_gone_from_the_replica_is_skipped_and_the_next_lead_still_escalates(
    crm: FakeCRM, store: Store, fake_clock: FakeClock
) -> None:
    gone = lead_of(crm, "anna", "Удалён из реплики")
    kept = lead_of(crm, "anna", "На месте")
    assign(crm, store, fake_clock, ONLY_IRINA, ROUND_ROBIN)
    with store.engine.begin() as conn:  # e.g. an operator pruned the replica's table by hand
        conn.execute(delete(leads).where(leads.c.portal == PORTAL, leads.c.crm_id == gone))
    fake_clock.advance(6 * 3600)

    result = Escalator(crm, store, PORTAL, ONLY_IRINA, ROUND_ROBIN).escalate(fake_clock())

    assert (escalated(result), result.touched, result.no_one_to_tell) == ([(kept, "anna")], 0, [])


def test_a_refused_escalation_task_is_logged_and_does_not_stop_the_next_which_records_its_curator(
    crm: FakeCRM, store: Store, fake_clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    refused = lead_of(crm, "anna", "Отказ")
    accepted = lead_of(crm, "boris", "Принят")
    assign(crm, store, fake_clock, ONLY_IRINA, ROUND_ROBIN)
    fake_clock.advance(6 * 3600)
    del crm.state.users["11"]  # Anna's CRM user is gone: her task is refused
    notifier = RecordingNotifier()

    with caplog.at_level(logging.INFO, logger="crm_bridge.escalate"):
        result = run(crm, store, fake_clock, notifier=notifier)

    assert escalated(result) == [(accepted, "boris")]
    assert list(notifier.sent) == [f"lead_escalated:{accepted}"]
    assert [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "crm_bridge.escalate"] == [
        ("WARNING", f"escalation task for lead {refused} refused: unknown user '11'"),
        ("INFO", "escalate: 1 lead(s) escalated"),
    ]
    records = {r.lead_crm_id: r for r in AssignmentRepository(store.engine).all(PORTAL)}
    assert (records[accepted].escalated_at, records[accepted].escalated_to) == (fake_clock(), "12")
    assert (records[refused].escalated_at, records[refused].escalated_to) == (None, None)


def test_the_extra_time_counts_in_the_managers_zone_and_a_lead_not_yet_overdue_does_not_stop_the_next(
    crm: FakeCRM, store: Store, fake_clock: FakeClock
) -> None:
    # Irina (Moscow) works Mondays only; Oleg (Vladivostok, UTC+10) the default Monday-Friday 9-18
    team = Team(
        managers=(IRINA, OLEG),
        calendars={"irina": WorkingCalendar(days=frozenset({0}))},
        curators=(ANNA, BORIS),
        head=HEAD,
        timezone="Europe/Moscow",
    )
    settings = DistributionSettings(
        policy=DistributionPolicy(strategy="round_robin"), escalate_after=timedelta(hours=3)
    )
    irinas = lead_of(crm, "anna", "У Ирины")  # due Monday 16:00 Moscow, overdue next Monday 10:00
    olegs = lead_of(crm, "boris", "У Олега")  # due Tuesday 13:00 Vladivostok, overdue at 16:00 there
    assign(crm, store, fake_clock, team, settings)
    fake_clock.advance(20 * 3600)  # Tuesday 05:00 UTC = 15:00 in Vladivostok, 08:00 in Moscow
    assert escalated(run(crm, store, fake_clock, team, settings)) == []
    fake_clock.advance(3600)  # Tuesday 16:00 in Vladivostok (09:00 in Moscow, when Moscow's hours begin)

    result = run(crm, store, fake_clock, team, settings)

    assert escalated(result) == [(olegs, "boris")]
    assert irinas not in result.no_one_to_tell and result.touched == 0


def test_the_extra_time_counts_in_the_managers_own_working_hours(
    crm: FakeCRM, store: Store, fake_clock: FakeClock
) -> None:
    late = Team(
        managers=(IRINA,),
        calendars={"irina": WorkingCalendar(start=time(9), end=time(20))},
        curators=(ANNA,),
        head=HEAD,
        timezone="Europe/Moscow",
    )
    settings = DistributionSettings(
        policy=DistributionPolicy(strategy="round_robin"), escalate_after=timedelta(hours=3)
    )
    lead_id = lead_of(crm, "anna", "Вечерний")
    assign(crm, store, fake_clock, late, settings)  # due Monday 16:00 Moscow; she works until 20:00
    fake_clock.advance(6 * 3600 + 59 * 60)  # 18:59 Moscow
    assert escalated(run(crm, store, fake_clock, late, settings)) == []
    fake_clock.advance(60)  # 19:00 Moscow: three of her working hours past the deadline

    assert escalated(run(crm, store, fake_clock, late, settings)) == [(lead_id, "anna")]


def test_a_lead_whose_manager_has_left_the_team_escalates_naming_the_managers_key(
    crm: FakeCRM, store: Store, fake_clock: FakeClock
) -> None:
    lead_id = lead_of(crm, "anna", "Лид 0")
    assign(crm, store, fake_clock, ONLY_IRINA, ROUND_ROBIN)  # due Monday 16:00 Moscow
    without_irina = Team(
        managers=(OLEG,), calendars={}, curators=(ANNA,), head=HEAD, timezone="Europe/Moscow"
    )
    fake_clock.advance(7 * 3600)  # Monday 19:00 Moscow
    notifier = RecordingNotifier()

    result = run(crm, store, fake_clock, without_irina, notifier=notifier)

    assert escalated(result) == [(lead_id, "anna")]
    assert notifier.sent[f"lead_escalated:{lead_id}"] == (
        "lead_escalated",
        [ANNA],
        "Escalation: partner lead «Лид 0» (irina) is overdue since 2026-11-02 16:00 (Europe/Moscow).",
    )
    task = next(t for t in crm.state.tasks.values() if t.external_id == f"escalation:{lead_id}")
    assert task.description.startswith("The partner lead «Лид 0» assigned to irina is untouched")


def test_the_escalation_notice_is_written_in_the_settings_language(
    crm: FakeCRM, store: Store, fake_clock: FakeClock
) -> None:
    lead_id = lead_of(crm, "anna", "Лид 0")
    assign(crm, store, fake_clock, ONLY_IRINA, ROUND_ROBIN)
    fake_clock.advance(6 * 3600)
    russian = DistributionSettings(policy=DistributionPolicy(strategy="round_robin"), locale="ru")
    notifier = RecordingNotifier()

    run(crm, store, fake_clock, settings=russian, notifier=notifier)

    assert notifier.sent[f"lead_escalated:{lead_id}"][2] == (
        "Эскалация: партнёрский лид «Лид 0» (Ирина) просрочен с 2026-11-02 16:00 (Europe/Moscow)."
    )
