"""Deal registration: identity normalisation and channel-conflict decisions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm_bridge.domain.model import CustomerIdentity
from crm_bridge.domain.registration import (
    RegistrationRecord,
    check_registration,
    identity_problems,
    inn_checksum_ok,
    normalise_email,
    normalise_identity,
    normalise_phone,
    normalise_tax_id,
    same_customer,
)

T0 = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)


def reg(partner: str, days: float = 0, progress: float | None = None, **who: str) -> RegistrationRecord:
    at = T0 + timedelta(days=days)
    prog = None if progress is None else T0 + timedelta(days=progress)
    return RegistrationRecord(partner, CustomerIdentity(**who), at, prog, external_id=f"{partner}-{days}")


def test_email_is_lowercased_and_stripped_but_gmail_dots_are_kept() -> None:
    assert normalise_email("  John.Smith@GMail.com ") == "john.smith@gmail.com"
    assert normalise_email("") == ""


def test_a_malformed_email_is_refused_without_echoing_it() -> None:
    with pytest.raises(ValueError, match="email") as err:
        normalise_email("secret-person@nowhere")
    assert "secret-person" not in str(err.value)


@pytest.mark.parametrize(
    "raw",
    ["8 (916) 123-45-67", "+7 916 123 45 67", "79161234567", "9161234567", "0079161234567", "8-916-123-4567"],
)
def test_russian_phone_numbers_in_any_common_writing_become_one_e164_number(raw: str) -> None:
    assert normalise_phone(raw, "+7") == "+79161234567"


def test_a_national_number_gets_the_configured_country_code_without_its_trunk_zero() -> None:
    assert normalise_phone("030 1234567", "+49") == "+49301234567"
    assert normalise_phone("+44 20 7946 0958", "+7") == "+442079460958"


@pytest.mark.parametrize("raw", ["12345", "call me", "+7 916 123 45 67 89 01 23"])
def test_something_that_is_not_a_phone_number_is_refused_without_echoing_it(raw: str) -> None:
    with pytest.raises(ValueError, match="phone") as err:
        normalise_phone(raw)
    assert raw not in str(err.value)


def test_tax_id_keeps_digits_and_checks_the_inn_length_and_optionally_its_control_digits() -> None:
    assert normalise_tax_id(" 7707-083 893 ") == "7707083893"
    assert normalise_tax_id("500100732259", checksum=True) == "500100732259"
    with pytest.raises(ValueError, match="10 or 12 digits, this one has 9"):
        normalise_tax_id("770708389")
    with pytest.raises(ValueError, match="control digits"):
        normalise_tax_id("7707083894", checksum=True)
    assert normalise_tax_id("7707083894") == "7707083894"  # checksum off by default
    assert normalise_tax_id("12345", inn=False) == "12345"


def test_inn_checksum_detects_any_single_digit_typo_in_a_known_valid_inn() -> None:
    for valid in ("7707083893", "500100732259"):
        assert inn_checksum_ok(valid)
        typos = [valid[:i] + str((int(c) + 1) % 10) + valid[i + 1 :] for i, c in enumerate(valid)]
        assert sum(inn_checksum_ok(t) for t in typos) == 0


def test_normalise_identity_normalises_all_three_parts() -> None:
    raw = CustomerIdentity(email=" A@B.RU", phone="8 916 123-45-67", tax_id="7707 083893")
    assert normalise_identity(raw) == CustomerIdentity("a@b.ru", "+79161234567", "7707083893")


def test_first_registrant_wins_and_the_second_partner_gets_a_conflict_naming_the_owner() -> None:
    first = reg("p1", 0, email="a@b.ru")
    decision = check_registration(reg("p2", 5, email="a@b.ru"), [first], 90, 60, T0 + timedelta(days=5))
    assert decision.conflict and decision.owner_partner_id == "p1"
    assert decision.matched_on == ("email",)
    assert "p1" in decision.reason and "a@b.ru" not in decision.reason
    assert decision.protected_until == T0 + timedelta(days=60)


def test_a_match_on_any_one_identity_part_is_the_same_customer() -> None:
    first = reg("p1", 0, email="x@y.ru", tax_id="7707083893")
    new = reg("p2", 1, email="other@y.ru", phone="+79161234567", tax_id="7707083893")
    decision = check_registration(new, [first], 90, 60, T0 + timedelta(days=1))
    assert decision.conflict and decision.matched_on == ("tax_id",)


def test_the_earliest_of_several_protecting_registrations_owns_the_customer() -> None:
    regs = [reg("p3", 2, phone="+79161234567"), reg("p1", 1, phone="+79161234567")]
    decision = check_registration(reg("p4", 3, phone="+79161234567"), regs, 90, 60, T0 + timedelta(days=3))
    assert decision.owner_partner_id == "p1"


def test_the_same_partner_registering_again_is_not_a_conflict() -> None:
    decision = check_registration(reg("p1", 3, email="a@b.ru"), [reg("p1", 0, email="a@b.ru")], 90, 60, T0)
    assert not decision.conflict and "already registered" in decision.reason


def test_a_registration_without_progress_for_expiry_days_frees_the_customer() -> None:
    first = reg("p1", 0, email="a@b.ru")
    now = T0 + timedelta(days=61)
    decision = check_registration(reg("p2", 61, email="a@b.ru"), [first], 90, 60, now)
    assert not decision.conflict and decision.owner_partner_id == "p2"
    assert decision.lapsed == (first,) and "lapsed" in decision.reason
    assert first.expired_for_lack_of_progress(90, 60, now)


def test_progress_keeps_a_registration_alive_until_the_protection_window_ends() -> None:
    first = reg("p1", 0, progress=50, email="a@b.ru")
    at_80 = check_registration(reg("p2", 80, email="a@b.ru"), [first], 90, 60, T0 + timedelta(days=80))
    assert at_80.conflict
    at_90 = check_registration(reg("p2", 90, email="a@b.ru"), [first], 90, 60, T0 + timedelta(days=90))
    assert not at_90.conflict
    assert not first.expired_for_lack_of_progress(90, 60, T0 + timedelta(days=90))


def test_refused_registrations_never_own_a_customer() -> None:
    refused = RegistrationRecord(
        "p0", CustomerIdentity(email="a@b.ru"), T0 - timedelta(days=1), conflict=True
    )
    decision = check_registration(reg("p2", 1, email="a@b.ru"), [refused], 90, 60, T0 + timedelta(days=1))
    assert not decision.conflict


def test_a_lead_without_any_identity_cannot_conflict() -> None:
    decision = check_registration(reg("p2", 1), [reg("p1", 0)], 90, 60, T0 + timedelta(days=1))
    assert not decision.conflict and "not checked" in decision.reason


@given(
    offsets=st.lists(st.integers(min_value=0, max_value=200), min_size=1, max_size=6),
    now_day=st.integers(min_value=0, max_value=300),
)
def test_a_conflict_is_only_ever_reported_against_a_registration_still_protecting_at_now(
    offsets: list[int], now_day: int
) -> None:
    regs = [reg(f"p{i}", d, email="c@d.ru") for i, d in enumerate(offsets)]
    now = T0 + timedelta(days=now_day)
    decision = check_registration(reg("new", now_day, email="c@d.ru"), regs, 90, 60, now)
    protecting = [r for r in regs if r.registered_at <= now < r.protected_until(90, 60)]
    assert decision.conflict == bool(protecting)
    if protecting:
        assert decision.owner_partner_id == min(protecting, key=lambda r: r.registered_at).partner_id


def test_two_registrations_are_the_same_customer_when_any_part_is_equal_and_never_on_empty_parts() -> None:
    ivan = CustomerIdentity(email="ivan@romashka.ru", phone="+79161234567", tax_id="7707083893")
    assert same_customer(ivan, CustomerIdentity(phone="+79161234567")) == ("phone",)
    assert same_customer(ivan, ivan) == ("email", "phone", "tax_id")
    assert same_customer(CustomerIdentity(), CustomerIdentity()) == ()
    assert same_customer(ivan, CustomerIdentity(email="other@romashka.ru", tax_id="7707083894")) == ()
    assert ivan.keys() == (("email", "ivan@romashka.ru"), ("phone", "+79161234567"), ("tax_id", "7707083893"))


def test_identity_problems_names_every_invalid_part_in_order_without_quoting_the_values() -> None:
    bad = CustomerIdentity(email="ivan at example", phone="call me", tax_id="12-34")
    problems = identity_problems(bad)
    assert [p.field for p in problems] == ["email", "phone", "tax_id"]
    for problem, value in zip(problems, ("ivan at example", "call me", "12-34"), strict=True):
        assert problem.problem and value not in problem.problem
        assert str(problem) == f"{problem.field}: {problem.problem}"
    good = CustomerIdentity(email=" Ivan@Example.com ", phone="8 916 123-45-67", tax_id="7707083893")
    assert identity_problems(good) == []
    assert identity_problems(CustomerIdentity()) == []  # nothing given is not a problem here


def test_identity_problems_reads_the_phone_with_the_country_code_and_the_tax_id_by_the_inn_rules() -> None:
    six_digits = CustomerIdentity(phone="123456")  # +7: 7 digits, too short; +49: 8 digits, a number
    assert [p.field for p in identity_problems(six_digits)] == ["phone"]
    assert identity_problems(six_digits, "+49") == []
    with pytest.raises(ValueError, match="country code"):
        identity_problems(six_digits, "49")  # a config error, not a lead's problem
    five_digits = CustomerIdentity(tax_id="12345")
    assert [p.problem for p in identity_problems(five_digits)] == [
        "an ИНН has 10 or 12 digits, this one has 5"
    ]
    assert identity_problems(five_digits, inn=False) == []
    typo = CustomerIdentity(tax_id="7707083894")  # 7707083893 with its control digit mistyped
    assert identity_problems(typo) == []
    assert [p.field for p in identity_problems(typo, inn_checksum=True)] == ["tax_id"]
    assert identity_problems(typo, inn=False, inn_checksum=True) == []
