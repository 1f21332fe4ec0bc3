"""Exclusive access by tier (what is refused, described, gained and lost) and phone numbers at the edges of
E.164. Found unstated by mutation testing (scripts/mutation.sh); hard-coded expectations."""

from __future__ import annotations

import pytest

from crm_bridge.domain.access import Access, AccessChange, AccessPolicy, access_change, unlocked
from crm_bridge.domain.registration import normalise_phone

POLICY = AccessPolicy(
    ("bronze", "silver", "gold"),
    {
        "silver": Access({"regions": frozenset({"Kazan", "Moscow"}), "products": frozenset({"Pro"})}),
        "gold": Access({"events": frozenset({"Summit"})}),
    },
)


def test_access_refuses_unknown_kinds_and_grants_for_unknown_tiers() -> None:
    with pytest.raises(ValueError) as kinds:
        Access({"perks": frozenset({"x"})})
    with pytest.raises(ValueError) as tiers:
        AccessPolicy(("silver", "gold"), {"platinum": Access()})

    assert str(kinds.value) == "unknown access kinds ['perks']: use regions, products, materials, events"
    assert str(tiers.value) == "access for unknown tiers ['platinum']: tiers are silver, gold"


def test_access_is_described_in_the_partner_s_language() -> None:
    silver = unlocked(POLICY, "silver")

    assert silver.describe() == "regions: Kazan, Moscow; products: Pro"
    assert silver.describe("ru") == "регионы: Kazan, Moscow; продукты: Pro"
    assert Access().describe("ru") == ""


def test_what_one_access_has_beyond_another() -> None:
    silver = unlocked(POLICY, "silver")
    moscow = Access({"regions": frozenset({"Moscow"})})

    assert silver.minus(moscow) == Access({"regions": frozenset({"Kazan"}), "products": frozenset({"Pro"})})
    assert silver.minus(silver) == Access()


def test_no_access_for_a_tier_outside_the_policy_or_one_granting_nothing_itself() -> None:
    flat = AccessPolicy(POLICY.tiers, POLICY.by_tier, cumulative=False)

    assert unlocked(POLICY, "platinum") == Access()
    assert unlocked(flat, "bronze") == Access()
    assert unlocked(flat, "gold") == Access({"events": frozenset({"Summit"})})


def test_a_tier_change_names_the_partner_both_tiers_and_the_difference() -> None:
    summit = Access({"events": frozenset({"Summit"})})
    assert access_change(POLICY, "p9", "gold", "silver") == AccessChange(
        "p9", "gold", "silver", Access(), summit, unlocked(POLICY, "silver")
    )


def test_phone_numbers_at_the_edges_of_e164() -> None:
    assert normalise_phone("  ") == ""
    assert normalise_phone("+12345678") == "+12345678"  # 8 digits with the country code
    assert normalise_phone("+123456789012345") == "+123456789012345"  # 15 digits
    assert normalise_phone("89 1234567", "+49") == "+49891234567"  # a leading 8 is Russian only under +7
    too_short_or_long = r"^phone: is not a phone number \(expected 8 to 15 digits with the country code\)$"
    for wrong in ("+1234567", "+1234567890123456", "+0123456789", "000123456789"):
        with pytest.raises(ValueError, match=too_short_or_long):
            normalise_phone(wrong)


def test_phone_numbers_refused_with_a_message_that_names_the_problem() -> None:
    with pytest.raises(ValueError, match=r"^default country code '7' must look like \+7 or \+49$"):
        normalise_phone("123", "7")
    with pytest.raises(
        ValueError, match=r"^phone: may contain only digits, spaces, dashes, brackets and a leading \+$"
    ):
        normalise_phone("8 916 ABC")
