"""Training completions from a CSV (``crm-bridge training import``): when a completion happened
(``parse_moment``: the forms the file may use, a date read in the company's zone), which partner it
belongs to, whether it certifies, and the reason each bad row is refused (nothing is imported then)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from test_partner_lifecycle import (
    PORTAL,
    _sync,
    _training,
    world,  # noqa: F401 (the fixture the tests take)
)

from crm_bridge.errors import DataError, UsageError
from crm_bridge.fake import FakeCRM
from crm_bridge.services.partners.training import parse_moment

MSK = ZoneInfo("Europe/Moscow")


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("2026-11-05", datetime(2026, 11, 4, 21, 0, tzinfo=UTC)),
        (" 05.11.2026 ", datetime(2026, 11, 4, 21, 0, tzinfo=UTC)),
        ("2026-11-05T14:30:00", datetime(2026, 11, 5, 11, 30, tzinfo=UTC)),
        ("2026-11-05T14:30:00+05:00", datetime(2026, 11, 5, 9, 30, tzinfo=UTC)),
        ("1793000000", datetime.fromtimestamp(1793000000, UTC)),
    ],
)
def test_a_completion_time_is_read_in_the_forms_the_file_may_use(text: str, moment: datetime) -> None:
    got = parse_moment(text, MSK)
    assert got == moment and got.tzinfo is UTC


@pytest.mark.parametrize("text", ["", "yesterday", "2026-13-01", "31.02.2026", "5/11/2026"])
def test_anything_else_is_refused_naming_the_accepted_forms(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_moment(text, MSK)
    assert str(caught.value) == f"{text!r} is not a date (use 2026-11-05, 05.11.2026 or an ISO time)"


def test_each_bad_row_is_named_with_its_reason_and_nothing_is_imported(
    world: dict[str, Any],  # noqa: F811
    tmp_path: Path,
) -> None:
    fake: FakeCRM = world["fake"]
    partner = fake.seed_partner("Kazan Soft")
    _sync(world)
    service = _training(world, partner.crm_id)
    csv = tmp_path / "training.csv"
    pid = partner.crm_id
    csv.write_text(
        "partner_id,email,course_id,completed_at,certified\n"
        f"{pid},anna@kazan-soft.ru,sales-101,2026-10-20,yes\n"
        ",oleg@unknown.ru,sales-101,2026-10-20,\n"
        "999,ivan@kazan-soft.ru,sales-101,2026-10-20,\n"
        f"{pid},@kazan-soft.ru,sales-101,2026-10-20,\n"
        f"{pid},ivan@,sales-101,2026-10-20,\n"
        f"{pid},ivan-kazan-soft.ru,sales-101,2026-10-20,\n"
        f"{pid},ivan@kazan-soft.ru,,2026-10-20,\n"
        f"{pid},ivan@kazan-soft.ru,sales-101,soon,\n"
        f"{pid},ivan@kazan-soft.ru,sales-101,2026-10-20,maybe\n",
        encoding="utf-8",
    )

    with pytest.raises(UsageError) as caught:
        service.import_csv(csv)

    assert str(caught.value).splitlines() == [
        f"{csv}: nothing imported, fix these rows:",
        "row 3: no partner_id and the domain of 'oleg@unknown.ru' is not in training.partner_domains",
        "row 4: partner_id '999' is not a partner in the state store (run sync)",
        "row 5: email: '@kazan-soft.ru' is not an e-mail address",
        "row 6: email: 'ivan@' is not an e-mail address",
        "row 7: email: 'ivan-kazan-soft.ru' is not an e-mail address",
        "row 8: course_id is empty",
        "row 9: completed_at: 'soon' is not a date (use 2026-11-05, 05.11.2026 or an ISO time)",
        "row 10: certified: 'maybe' (use yes or no)",
    ]
    assert world["life"].store.training.all(PORTAL) == []


def test_a_course_certifies_as_the_row_says_else_as_the_certifying_courses_say(
    world: dict[str, Any],  # noqa: F811
    tmp_path: Path,
) -> None:
    fake: FakeCRM = world["fake"]
    partner = fake.seed_partner("Kazan Soft")
    _sync(world)
    service = _training(world, partner.crm_id)
    assert service.certifies("any", None) is True  # no certifying courses listed: every course does
    service.cfg = service.cfg.model_copy(update={"certifying_courses": ["cert-1"]})
    assert (service.certifies("cert-1", None), service.certifies("intro", None)) == (True, False)
    assert (service.certifies("intro", True), service.certifies("cert-1", False)) == (True, False)
    assert service.partner_for("", "a@KAZAN-soft.ru") == partner.crm_id
    assert service.partner_for("77", "a@kazan-soft.ru") == "77"
    assert service.partner_for("", "a@other.ru") is None

    csv = tmp_path / "training.csv"
    csv.write_text(
        "email,course_id,completed_at,certified\n"
        "anna@kazan-soft.ru,intro,2026-10-20,\n"
        "ivan@kazan-soft.ru,intro,2026-10-20,да\n"
        "oleg@kazan-soft.ru,cert-1,2026-10-20,нет\n"
        "petr@kazan-soft.ru,cert-1,2026-10-20,\n",
        encoding="utf-8",
    )
    done = service.import_csv(csv)
    assert (done.rows, done.new, done.partners) == (4, 4, 1)
    stored = {c.person_email: c.certified for c in world["life"].store.training.all(PORTAL)}
    assert stored == {
        "anna@kazan-soft.ru": False,
        "ivan@kazan-soft.ru": True,
        "oleg@kazan-soft.ru": False,
        "petr@kazan-soft.ru": True,
    }
    assert service.certified_people(datetime(2026, 11, 1, tzinfo=UTC)) == {partner.crm_id: 2}


def test_completions_of_an_unknown_partner_are_refused(world: dict[str, Any]) -> None:  # noqa: F811
    from crm_bridge.domain.training import Completion

    service = _training(world, "x")
    moment = datetime(2026, 10, 20, tzinfo=UTC)
    with pytest.raises(DataError, match=r"no such partner\(s\) in the state store: 404, 405 \(run sync\)"):
        service.record(
            [
                Completion("405", "a@b.ru", "c", moment, "", "", True, "lms"),
                Completion("404", "a@b.ru", "c", moment, "", "", True, "lms"),
            ]
        )
