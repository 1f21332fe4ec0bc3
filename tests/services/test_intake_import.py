"""CSV import of partner leads and deal registration against the FakeCRM and a SQLite store
(services.intake.service, services.intake.csv_import): exactly once across crashes, conflicts, rejects."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from crm_bridge.domain.funnels import default_funnels, desired_layout
from crm_bridge.domain.model import Curator, Partner
from crm_bridge.fake import FakeClock, FakeCRM
from crm_bridge.ports import Entity
from crm_bridge.services.intake.csv_import import import_csv
from crm_bridge.services.intake.service import IntakePolicy, IntakeService
from crm_bridge.services.provision import provision
from crm_bridge.services.sync.pull import sync
from crm_bridge.store import Store

PORTAL = "fake:test"
HEADER = "partner_id;customer_name;email;phone;tax_id;amount;comment"
CURATORS = [Curator("anna", "Анна", "11"), Curator("boris", "Борис", "12")]


class Crash(Exception):
    """Stands for the process dying between two steps."""


class RecordingNotifier:
    def __init__(self) -> None:
        self.sent: dict[str, tuple[str, list[Any], str]] = {}

    def notify(self, event: str, recipients: list[Any], text: str, *, key: str) -> None:
        self.sent.setdefault(key, (event, list(recipients), text))  # the outbox keeps the first


@pytest.fixture
def crm(fake_clock: FakeClock) -> FakeCRM:
    fake = FakeCRM(clock=fake_clock)
    provision(fake, desired_layout(default_funnels(), "en", ["bronze", "gold"]))
    return fake


@pytest.fixture
def partners(crm: FakeCRM, store: Store, fake_clock: FakeClock) -> tuple[Partner, Partner]:
    a = crm.seed_partner("ООО Альфа", curator_key="anna")
    b = crm.seed_partner("ООО Бета", curator_key="boris")
    sync(crm, store, PORTAL, now=fake_clock(), entities=[Entity.PARTNER])
    return a, b


def service(crm: Any, store: Store, notifier: RecordingNotifier | None = None, **kw: Any) -> IntakeService:
    return IntakeService(crm, store, PORTAL, curators=CURATORS, notifier=notifier, **kw)


def write_csv(tmp_path: Path, rows: list[str], name: str = "leads.csv") -> Path:
    path = tmp_path / name
    path.write_text("\ufeff" + "\r\n".join([HEADER, *rows]) + "\r\n", encoding="utf-8")
    return path


def good_rows(partner_id: str, n: int) -> list[str]:
    return [f"{partner_id};Клиент {i};c{i}@example.ru;;;{1000 + i};" for i in range(n)]


def crash_at(step: str) -> Any:
    def checkpoint(reached: str) -> None:
        if reached == step:
            raise Crash(step)

    return checkpoint


def test_good_rows_become_leads_and_bad_rows_go_to_the_rejects_file(
    tmp_path: Path, crm: FakeCRM, store: Store, partners: tuple[Partner, Partner], fake_clock: FakeClock
) -> None:
    a, _ = partners
    path = write_csv(
        tmp_path,
        [
            f"{a.crm_id};ООО Ромашка;ivan@romashka.ru;8 900 123-45-67;7707083893;1 500,50;срочно",
            f"{a.crm_id};;nobody@x.ru;;;;",
            "999;ООО Лютик;lutik@x.ru;;;;",
            f"{a.crm_id};ООО Василёк;vasilek@x.ru;;;abc;",
        ],
    )
    report = import_csv(path, service(crm, store), now=fake_clock())
    assert (report.rows, report.count("created")) == (4, 1)
    lead = next(iter(crm.state.leads.values()))
    assert (lead.partner_id, lead.customer.phone) == (a.crm_id, "+79001234567")
    assert lead.amount == Decimal("1500.50")
    assert lead.external_id is not None and lead.external_id.startswith("csv:")
    assert report.rejects_file == tmp_path / "leads.rejects.csv"
    rejects = list(
        csv.reader(report.rejects_file.read_text(encoding="utf-8-sig").splitlines(), delimiter=";")
    )
    assert [(r[0], r[1]) for r in rejects[1:]] == [
        ("3", "customer_name: is required"),
        ("4", "partner_id 999: no such partner in the CRM (a company with a partner type)"),
        ("5", "amount: 'abc' is not a number (write 1500.50 or 1 500,50)"),
    ]


def test_importing_the_same_file_again_creates_nothing_and_makes_no_create_call(
    tmp_path: Path, crm: FakeCRM, store: Store, partners: tuple[Partner, Partner], fake_clock: FakeClock
) -> None:
    path = write_csv(tmp_path, good_rows(partners[0].crm_id, 5))
    assert import_csv(path, service(crm, store), now=fake_clock()).count("created") == 5
    calls = crm.calls["create_leads"]
    again = import_csv(path, service(crm, store), now=fake_clock())
    assert again.count("existing") == 5 and again.count("created") == 0
    assert crm.calls["create_leads"] == calls
    assert len(crm.state.leads) == 5


def test_a_customer_repeated_in_one_file_is_a_rejected_duplicate_and_a_fixed_reject_is_the_only_new_lead(
    tmp_path: Path, crm: FakeCRM, store: Store, partners: tuple[Partner, Partner], fake_clock: FakeClock
) -> None:
    pid, other = partners[0].crm_id, partners[1].crm_id
    rows = [
        f"{pid};Клиент;same@x.ru;+7 900 111-22-33;;;",
        f"{pid};Клиент;same@x.ru;+7 900 111-22-33;;;",
        f"{pid};Клиент (ещё раз);SAME@x.ru;;;100;",
        f"{pid};Другой;other@x.ru;8 (900) 111-22-33;;;",
        f"{other};Клиент;same@x.ru;;;;",  # another partner: a channel conflict, not a duplicate row
        f"{pid};Исправь меня;broken;;;;",
    ]
    path = write_csv(tmp_path, rows)
    first = import_csv(path, service(crm, store), now=fake_clock())
    assert first.count("created") == 2 and len(crm.state.leads) == 2
    rejects = list(
        csv.reader(path.with_name("leads.rejects.csv").read_text("utf-8-sig").splitlines(), delimiter=";")
    )
    assert [(r[0], r[1]) for r in rejects[1:]] == [
        ("3", "duplicate of row 2 (same partner and e-mail); not created twice"),
        ("4", "duplicate of row 2 (same partner and e-mail); not created twice"),
        ("5", "duplicate of row 2 (same partner and phone); not created twice"),
        ("7", "email: is not an e-mail address (expected name@domain.tld)"),
    ]
    write_csv(tmp_path, [*rows[:-1], f"{pid};Исправь меня;fixed@x.ru;;;;"])
    second = import_csv(path, service(crm, store), now=fake_clock())
    assert (second.count("existing"), second.count("created")) == (2, 1)
    assert len(crm.state.leads) == 3


@pytest.mark.parametrize("step", ["reserved", "created"])
def test_a_crash_between_steps_then_a_rerun_creates_every_lead_exactly_once(
    step: str,
    tmp_path: Path,
    crm: FakeCRM,
    store: Store,
    partners: tuple[Partner, Partner],
    fake_clock: FakeClock,
) -> None:
    path = write_csv(tmp_path, good_rows(partners[0].crm_id, 120))  # three batches
    with pytest.raises(Crash):
        import_csv(path, service(crm, store, checkpoint=crash_at(step)), now=fake_clock())
    report = import_csv(path, service(crm, store), now=fake_clock())
    assert report.count("created") + report.count("existing") == 120
    assert len(crm.state.leads) == 120
    assert len({lead.external_id for lead in crm.state.leads.values()}) == 120
    assert store.pending(PORTAL, "lead") == []


def test_a_lost_crm_answer_after_the_create_is_looked_up_at_once_and_the_import_finishes(
    tmp_path: Path, crm: FakeCRM, store: Store, partners: tuple[Partner, Partner], fake_clock: FakeClock
) -> None:
    path = write_csv(tmp_path, good_rows(partners[0].crm_id, 3))
    crm.failures.fail_next("transient", method="send_leads", when="after")
    report = import_csv(path, service(crm, store), now=fake_clock())
    assert (report.count("created"), report.uncertain) == (3, 3)
    assert (crm.calls["send_leads"], crm.calls["find_leads"]) == (1, 1)
    assert len(crm.state.leads) == 3
    again = import_csv(path, service(crm, store), now=fake_clock())
    assert again.count("existing") == 3 and len(crm.state.leads) == 3
    assert {
        b.crm_id
        for b in (store.lookup(PORTAL, "lead", crm_id=lead.crm_id) for lead in crm.state.leads.values())
        if b
    } == set(crm.state.leads)


def test_a_customer_registered_by_another_partner_is_a_flagged_conflict_and_both_curators_hear_once(
    tmp_path: Path, crm: FakeCRM, store: Store, partners: tuple[Partner, Partner], fake_clock: FakeClock
) -> None:
    a, b = partners
    notifier = RecordingNotifier()
    import_csv(
        write_csv(tmp_path, [f"{a.crm_id};ООО Ромашка;;+7 900 123-45-67;;;"], "a.csv"),
        service(crm, store, notifier),
        now=fake_clock(),
    )
    fake_clock.advance(86400)
    path_b = write_csv(tmp_path, [f"{b.crm_id};Ромашка;;8(900)1234567;;;"], "b.csv")
    report = import_csv(path_b, service(crm, store, notifier), now=fake_clock())
    ((_, outcome),) = report.outcomes
    assert outcome.status == "created" and outcome.conflict and outcome.owner_partner_id == a.crm_id
    assert "channel conflict: partner" in outcome.reason
    flagged = crm.state.leads[outcome.lead_crm_id or ""]
    assert flagged.conflict and flagged.partner_id == b.crm_id
    import_csv(path_b, service(crm, store, notifier), now=fake_clock())  # a rerun notifies nobody again
    assert list(notifier.sent) == [f"channel_conflict:{flagged.external_id}"]
    event, recipients, text = notifier.sent[f"channel_conflict:{flagged.external_id}"]
    assert event == "channel_conflict" and {c.key for c in recipients} == {"anna", "boris"}
    assert "ООО Альфа" in text and "ООО Бета" in text


def test_the_same_partner_registering_its_customer_again_is_no_conflict(
    tmp_path: Path, crm: FakeCRM, store: Store, partners: tuple[Partner, Partner], fake_clock: FakeClock
) -> None:
    a, _ = partners
    import_csv(
        write_csv(tmp_path, [f"{a.crm_id};Ромашка;r@x.ru;;;;"], "a.csv"),
        service(crm, store),
        now=fake_clock(),
    )
    path = write_csv(tmp_path, [f"{a.crm_id};Ромашка 2;R@X.ru;;;;"], "a2.csv")
    report = import_csv(path, service(crm, store), now=fake_clock())
    assert [(o.status, o.conflict) for _, o in report.outcomes] == [("created", False)]


def test_a_registration_without_progress_expires_and_the_customer_is_free_again(
    tmp_path: Path, crm: FakeCRM, store: Store, partners: tuple[Partner, Partner], fake_clock: FakeClock
) -> None:
    a, b = partners
    policy = IntakePolicy(protection_window_days=90, registration_expiry_days=30)
    import_csv(
        write_csv(tmp_path, [f"{a.crm_id};Ромашка;;;7707083893;;"], "a.csv"),
        service(crm, store, policy=policy),
        now=fake_clock(),
    )
    fake_clock.advance(31 * 86400)
    report = import_csv(
        write_csv(tmp_path, [f"{b.crm_id};Ромашка;;;7707083893;;"], "b.csv"),
        service(crm, store, policy=policy),
        now=fake_clock(),
    )
    ((_, outcome),) = report.outcomes
    assert not outcome.conflict and outcome.reason.startswith("customer free again")


def test_bad_amounts_are_rejected_rows_and_the_good_rows_are_still_created(
    tmp_path: Path, crm: FakeCRM, store: Store, partners: tuple[Partner, Partner], fake_clock: FakeClock
) -> None:
    pid = partners[0].crm_id
    amounts = ["1e30", "1" * 26, "1,500.50", "12.345", "2 500 000,5", "10000000001", "-3"]
    rows = [f"{pid};Клиент {i};c{i}@x.ru;;;{amount};" for i, amount in enumerate(amounts)]
    path = write_csv(tmp_path, rows)
    report = import_csv(path, service(crm, store), now=fake_clock())
    assert [lead.amount for lead in crm.state.leads.values()] == [Decimal("2500000.50")]
    reasons = {int(r.row): r.reason for r in report.rejects}
    assert reasons == {
        2: "amount: '1e30' is not a number (write 1500.50 or 1 500,50)",
        3: f"amount: '{'1' * 26}' is more than the maximum 10,000,000,000 (intake.max_amount)",
        4: "amount: '1,500.50' is not a number (write 1500.50 or 1 500,50)",
        5: "amount: '12.345': at most 2 decimal places",
        7: "amount: '10000000001' is more than the maximum 10,000,000,000 (intake.max_amount)",
        8: "amount: must not be negative",
    }


def test_the_import_tells_its_progress_bar_the_good_rows_and_each_batch(
    tmp_path: Path, crm: FakeCRM, store: Store, partners: tuple[Partner, Partner], fake_clock: FakeClock
) -> None:
    class Progress:
        def __init__(self) -> None:
            self.total = -1
            self.steps: list[int] = []

        def begin(self, total: int) -> None:
            self.total = total

        def advance(self, rows: int) -> None:
            self.steps.append(rows)

    rows = [*good_rows(partners[0].crm_id, 120), f"{partners[0].crm_id};;bad@x.ru;;;;"]
    progress = Progress()
    small_waves = service(crm, store)
    small_waves.wave_batches = 1  # a wave of one CRM batch (50 rows) per step
    import_csv(write_csv(tmp_path, rows), small_waves, now=fake_clock(), progress=progress)
    assert progress.total == 120 and sum(progress.steps) == 120 and len(progress.steps) >= 2


def test_a_create_that_never_reached_the_crm_is_looked_up_found_missing_and_sent_again_once(
    tmp_path: Path, crm: FakeCRM, store: Store, partners: tuple[Partner, Partner], fake_clock: FakeClock
) -> None:
    path = write_csv(tmp_path, good_rows(partners[0].crm_id, 3))
    crm.failures.fail_next("transient", method="send_leads", when="before")
    report = import_csv(path, service(crm, store), now=fake_clock())
    assert (report.count("created"), report.uncertain) == (3, 3)
    assert (crm.calls["send_leads"], crm.calls["find_leads"]) == (2, 1)
    assert len(crm.state.leads) == 3


def test_an_import_right_after_provision_looks_partners_up_in_the_crm_once_and_saves_them(
    tmp_path: Path, crm: FakeCRM, store: Store, fake_clock: FakeClock
) -> None:
    fresh = [crm.seed_partner(f"ООО Новый {i}") for i in range(3)]  # in the CRM, never synced
    rows = [f"{fresh[i % 3].crm_id};Клиент {i};c{i}@x.ru;;;;" for i in range(120)]
    report = import_csv(write_csv(tmp_path, rows), service(crm, store), now=fake_clock())
    assert report.count("created") == 120 and crm.calls["find_partners"] == 1
    assert crm.calls["create_leads"] == crm.calls["find_leads"] == 0 and crm.calls["send_leads"] == 3
    assert {p.crm_id for p in store.partners(PORTAL)} >= {p.crm_id for p in fresh}
