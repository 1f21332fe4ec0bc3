"""Deal registration: the decision and its whole reason in each case (not checked, new, free again, own,
conflict; in English and Russian), the first registration winning a tie by partner id, and the settings
refused. Found unstated by mutation testing (scripts/mutation.sh); hard-coded expectations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crm_bridge.domain.model import CustomerIdentity
from crm_bridge.domain.registration import RegistrationDecision, RegistrationRecord, check_registration

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
ACME = CustomerIdentity("buyer@acme.ru", "+79161234567", "7707083893")


def reg(
    partner: str, days_ago: int, customer: CustomerIdentity = ACME, **extra: object
) -> RegistrationRecord:
    return RegistrationRecord(partner, customer, NOW - timedelta(days=days_ago), **extra)  # type: ignore[arg-type]


def test_a_registration_without_identity_is_not_checked() -> None:
    empty = reg("p1", 0, CustomerIdentity())

    assert check_registration(empty, [reg("p2", 1)], 90, 30, NOW) == RegistrationDecision(
        False, "p1", "no e-mail, phone or tax id to compare: not checked"
    )


def test_a_new_customer_and_a_customer_free_again_after_lapsed_registrations() -> None:
    new = reg("p1", 0)
    old = [reg("p3", 40), reg("p2", 100, progress_at=NOW - timedelta(days=35))]  # both lapsed

    assert check_registration(new, [], 90, 30, NOW) == RegistrationDecision(
        False, "p1", "new customer: no other partner's registration protects it"
    )
    free = check_registration(new, [reg("p0", -1), *old], 90, 30, NOW)  # p0 registers after `now`
    assert free == RegistrationDecision(
        False, "p1", "customer free again: earlier registration(s) by p2, p3 lapsed", lapsed=tuple(old)
    )


def test_the_earliest_protecting_registration_owns_the_customer_ties_going_to_the_lower_partner_id() -> None:
    new = reg("p9", 0, CustomerIdentity("buyer@acme.ru", "", "7707083893"))
    first, tied = reg("p2", 10), reg("p1", 10)
    refused = reg("p0", 20, conflict=True)

    decision = check_registration(new, [refused, first, reg("p3", 5), tied], 90, 30, NOW)

    assert decision == RegistrationDecision(
        True,
        "p1",
        "channel conflict: partner p1 registered this customer (e-mail and tax id) first, "
        "on 2026-11-10, protected until 2026-12-10",
        ("email", "tax_id"),
        tied,
        NOW - timedelta(days=10) + timedelta(days=30),
    )


def test_a_partner_registering_its_own_customer_again_is_told_so_in_its_language() -> None:
    again = check_registration(reg("p1", 0), [reg("p1", 3)], 90, 30, NOW, locale="ru")

    assert not again.conflict and again.owner_partner_id == "p1"
    assert again.reason == (
        "партнёр p1 уже зарегистрировал этого клиента (эл. почта и телефон и ИНН) "
        "2026-11-17 (регистрация действует до 2026-12-17)"
    )


def test_the_settings_and_the_clock_are_checked() -> None:
    for window, expiry in ((0, 30), (90, 0)):
        with pytest.raises(ValueError, match="^window_days and expiry_days must be at least 1$"):
            check_registration(reg("p1", 0), [], window, expiry, NOW)
    with pytest.raises(ValueError, match="^now must be timezone-aware$"):
        check_registration(reg("p1", 0), [], 90, 30, datetime(2026, 11, 20))  # noqa: DTZ001
    half_a_day_ago = RegistrationRecord("p2", ACME, NOW - timedelta(hours=12))
    assert check_registration(reg("p1", 0), [half_a_day_ago], 1, 1, NOW).conflict  # one day is allowed


def test_the_whole_decision_for_an_own_registration_and_for_a_conflict_lists_the_lapsed_ones() -> None:
    mine, lapsed = reg("p1", 3), reg("p4", 200)

    own = check_registration(reg("p1", 0), [lapsed, mine], 90, 30, NOW)
    conflict = check_registration(reg("p2", 0), [lapsed, mine], 90, 30, NOW)

    until = NOW - timedelta(days=3) + timedelta(days=30)
    all_three = ("email", "phone", "tax_id")
    assert own == RegistrationDecision(False, "p1", own.reason, all_three, mine, until, (lapsed,))
    assert conflict == RegistrationDecision(True, "p1", conflict.reason, all_three, mine, until, (lapsed,))
