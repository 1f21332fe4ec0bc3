"""What a sales-ops user sees row by row after ``crm-bridge intake import FILE.csv``
(services.intake.csv_import): the report's counts, which rows are rejected and with which reason in the
rejects file and the log, partner ids, duplicates within the file, and the leads' idempotency keys."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import pytest

from crm_bridge.domain.model import Partner
from crm_bridge.fake import FakeClock, FakeCRM
from crm_bridge.services.intake.csv_import import import_csv
from crm_bridge.services.intake.service import IntakePolicy, IntakeService
from crm_bridge.store import Store

PORTAL = "fake:test"
HEADER = "partner_id,customer_name,email,phone,tax_id,amount,comment"


def service(crm: FakeCRM, store: Store, country_code: str = "+7") -> IntakeService:
    return IntakeService(crm, store, PORTAL, policy=IntakePolicy(default_phone_country_code=country_code))


def write_csv(tmp_path: Path, rows: list[str], name: str = "leads.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


BAD_ID_AND_EMAIL = (
    "partner_id: 'acme' is not a CRM company id; email: is not an e-mail address (expected name@domain.tld)"
)


def rejects_file(path: Path) -> list[list[str]]:
    text = path.with_name(f"{path.stem}.rejects.csv").read_text(encoding="utf-8-sig")
    return list(csv.reader(text.splitlines()))


def test_the_report_counts_every_row_and_the_rejects_file_gives_each_bad_row_its_reasons_in_order(
    tmp_path: Path, crm: FakeCRM, store: Store, partner: Partner, fake_clock: FakeClock
) -> None:
    pid = partner.crm_id
    path = write_csv(
        tmp_path,
        [
            f"{pid},ООО Ромашка,r@x.ru,,,,",
            f"{pid},ООО Лютик,l@x.ru",  # three values under seven columns
            ",ООО Василёк,v@x.ru,,,,",  # good fields, no partner
            ",,nobody@x.ru,,,,",  # no partner and no customer name
            "ACME-17,ООО Клевер,k@x.ru,,,,",  # good fields, a partner id that is no CRM id
            "acme,ООО Мак,broken,,,,",  # a bad partner id and a bad e-mail
            "",
            f" {pid} ,ООО Астра,a@x.ru,,,,",  # the spaces Excel keeps around a value
        ],
    )
    report = import_csv(path, service(crm, store), now=fake_clock())
    assert report.path == path
    assert (report.rows, report.count("created")) == (7, 2)
    assert [(r.row, r.reason) for r in report.rejects] == [
        (3, "has 3 values but the header has 7 columns"),
        (4, "partner_id: is required"),
        (5, "partner_id: is required; customer_name: is required"),
        (6, "partner_id: 'ACME-17' is not a CRM company id"),
        (
            7,
            BAD_ID_AND_EMAIL,
        ),
    ]
    assert sorted(lead.partner_id for lead in crm.state.leads.values()) == [pid, pid]
    assert [(row, o.status) for row, o in report.outcomes] == [(2, "created"), (9, "created")]
    assert report.rejects_file == tmp_path / "leads.rejects.csv"
    assert rejects_file(path) == [
        ["row", "reason", "partner_id", "customer_name", "email", "phone", "tax_id", "amount", "comment"],
        ["3", "has 3 values but the header has 7 columns", pid, "ООО Лютик", "l@x.ru", "", "", "", ""],
        ["4", "partner_id: is required", "", "ООО Василёк", "v@x.ru", "", "", "", ""],
        ["5", "partner_id: is required; customer_name: is required", "", "", "nobody@x.ru", "", "", "", ""],
        [
            "6",
            "partner_id: 'ACME-17' is not a CRM company id",
            "ACME-17",
            "ООО Клевер",
            "k@x.ru",
            "",
            "",
            "",
            "",
        ],
        [
            "7",
            BAD_ID_AND_EMAIL,
            "acme",
            "ООО Мак",
            "broken",
            "",
            "",
            "",
            "",
        ],
    ]


def test_every_rejected_row_is_logged_with_the_file_name_row_and_reason(
    tmp_path: Path,
    crm: FakeCRM,
    store: Store,
    partner: Partner,
    fake_clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = write_csv(
        tmp_path, [f"{partner.crm_id},ООО Ромашка,r@x.ru,,,,", ",ООО Лютик,l@x.ru,,,,"], "june.csv"
    )
    with caplog.at_level(logging.WARNING, logger="crm_bridge.intake.import"):
        import_csv(path, service(crm, store), now=fake_clock())
    assert [(r.name, r.levelname, r.getMessage()) for r in caplog.records] == [
        (
            "crm_bridge.intake.import",
            "WARNING",
            "intake import june.csv: row 3 rejected: partner_id: is required",
        )
    ]


def test_a_lead_remembers_the_file_and_row_it_came_from(
    tmp_path: Path, crm: FakeCRM, store: Store, partner: Partner, fake_clock: FakeClock
) -> None:
    path = write_csv(tmp_path, ["", f"{partner.crm_id},ООО Ромашка,r@x.ru,,,,"], "june.csv")
    ((row, outcome),) = import_csv(path, service(crm, store), now=fake_clock()).outcomes
    registration = store.intake.registration(PORTAL, outcome.submission.external_id)
    assert registration is not None and (row, registration.source) == (3, "june.csv row 3")


def test_a_leads_idempotency_key_is_the_one_earlier_versions_stored_so_an_upgrade_doubles_nothing(
    tmp_path: Path, crm: FakeCRM, store: Store, partner: Partner, fake_clock: FakeClock
) -> None:
    # The key goes into the CRM with the lead and into the store: a changed formula would make the next
    # import of an already imported file create all of its leads again. Its parts: the source "csv", the
    # partner, the name case-folded, the e-mail stripped and case-folded, the digits of the phone and
    # of the tax id, the amount and the comment.
    path = write_csv(
        tmp_path,
        [f"{partner.crm_id},ООО Ромашка,Ivan@Romashka.RU,+7 (900) 123-45-67,7707 083 893,1 500,срочно"],
    )
    ((_, outcome),) = import_csv(path, service(crm, store), now=fake_clock()).outcomes
    assert partner.crm_id == "61"
    assert outcome.status == "created"
    assert outcome.submission.external_id == "csv:14e6fd71929f18a399d14a2b3da664ef:1"
    (lead,) = crm.state.leads.values()
    assert lead.external_id == outcome.submission.external_id


def test_a_rerun_with_the_identity_written_differently_finds_the_earlier_lead(
    tmp_path: Path, crm: FakeCRM, store: Store, partner: Partner, fake_clock: FakeClock
) -> None:
    pid = partner.crm_id
    path = write_csv(tmp_path, [f"{pid},ООО Ромашка,ivan@romashka.ru,+7 900 123-45-67,7707083893,100,"])
    assert import_csv(path, service(crm, store), now=fake_clock()).count("created") == 1
    write_csv(tmp_path, [f"{pid},ооо ромашка,IVAN@Romashka.ru,+7 (900) 1234567,7707-083-893,100,"])
    again = import_csv(path, service(crm, store), now=fake_clock())
    assert [o.status for _, o in again.outcomes] == ["existing"]
    assert len(crm.state.leads) == 1


@pytest.mark.parametrize(
    "changed",
    [
        "ООО Ромашка,ivan@romashka.ru,+7 900 123-45-67,7707083893,250,",  # the amount
        "ООО Ромашка,ivan@romashka.ru,+7 900 123-45-67,7707083893,100,перезвонить",  # the comment
        "ООО Ромашка,petr@romashka.ru,+7 900 123-45-67,7707083893,100,",  # the e-mail
        "ООО Ромашка,ivan@romashka.ru,+7 900 765-43-21,7707083893,100,",  # the phone
        "ООО Ромашка,ivan@romashka.ru,+7 900 123-45-67,500100732259,100,",  # the tax id
    ],
)
def test_a_rerun_with_a_rows_content_changed_creates_a_new_lead_for_it(
    changed: str, tmp_path: Path, crm: FakeCRM, store: Store, partner: Partner, fake_clock: FakeClock
) -> None:
    pid = partner.crm_id
    path = write_csv(tmp_path, [f"{pid},ООО Ромашка,ivan@romashka.ru,+7 900 123-45-67,7707083893,100,"])
    import_csv(path, service(crm, store), now=fake_clock())
    write_csv(tmp_path, [f"{pid},{changed}"])
    again = import_csv(path, service(crm, store), now=fake_clock())
    assert [o.status for _, o in again.outcomes] == ["created"]
    assert len(crm.state.leads) == 2


def test_two_customers_whose_phones_differ_only_by_the_plus_are_two_leads(
    tmp_path: Path, crm: FakeCRM, store: Store, partner: Partner, fake_clock: FakeClock
) -> None:
    # "+44 20 7946 0958" is a London number; without the "+" the intake's country code +7 is put in
    # front. Both rows have the same digits, so the same content key: they are told apart by number.
    pid = partner.crm_id
    path = write_csv(
        tmp_path, [f"{pid},ООО Ромашка,,+44 20 7946 0958,,,", f"{pid},ООО Ромашка,,44 20 7946 0958,,,"]
    )
    report = import_csv(path, service(crm, store), now=fake_clock())
    assert [(row, o.status) for row, o in report.outcomes] == [(2, "created"), (3, "created")]
    assert sorted(lead.customer.phone for lead in crm.state.leads.values()) == [
        "+442079460958",
        "+7442079460958",
    ]
    assert [o.submission.external_id[-2:] for _, o in report.outcomes] == [":1", ":2"]


def test_a_duplicate_phone_in_the_file_is_found_with_the_intakes_country_code(
    tmp_path: Path, crm: FakeCRM, store: Store, partner: Partner, fake_clock: FakeClock
) -> None:
    pid = partner.crm_id
    path = write_csv(
        tmp_path, [f"{pid},Müller GmbH,,+49 30 1234567,,,", f"{pid},Müller GmbH,,030 1234567,,,"]
    )
    report = import_csv(path, service(crm, store, country_code="+49"), now=fake_clock())
    assert [(r.row, r.reason) for r in report.rejects] == [
        (3, "duplicate of row 2 (same partner and phone); not created twice")
    ]
    assert [lead.customer.phone for lead in crm.state.leads.values()] == ["+49301234567"]
