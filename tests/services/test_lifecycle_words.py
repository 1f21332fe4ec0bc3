"""The lifecycle services' lines come from the word catalogue (``words("lifecycle", locale)``): the same
change is told in Russian with a Russian config and in English with an English one."""

from __future__ import annotations

from crm_bridge.domain.access import Access, AccessChange
from crm_bridge.domain.model import Partner, PartnerType
from crm_bridge.services.partners.access import change_text
from crm_bridge.services.partners.plans import target_name


def test_an_access_change_and_the_plan_targets_are_told_in_the_configs_language() -> None:
    partner = Partner("7", "Казань Софт", PartnerType.RESELLER)
    change = AccessChange(
        "7", "bronze", "silver", Access({"regions": frozenset({"Kazan"})}), Access(), Access()
    )
    names = {"bronze": "Бронзовый", "silver": "Серебряный"}
    assert change_text(partner, change, names, "ru") == (
        "Казань Софт: уровень Бронзовый → Серебряный. Открыто: регионы: Kazan."
    )
    assert change_text(partner, change, names, "en") == (
        "Казань Софт: tier Бронзовый → Серебряный. Gained: regions: Kazan."
    )
    assert [target_name(t, "ru") for t in ("revenue", "qualified_leads")] == ["выручка", "квал. лиды"]
    assert target_name("revenue", "en") == "revenue" and target_name("unknown", "ru") == "unknown"


def test_an_access_change_names_both_tiers_what_was_lost_and_a_missing_tier_as_a_dash() -> None:
    partner = Partner("7", "Казань Софт", PartnerType.RESELLER)
    names = {"silver": "Серебряный", "gold": "Золотой"}
    down = AccessChange(
        "7",
        "gold",
        "silver",
        Access(),
        Access({"regions": frozenset({"Kazan", "Moscow"})}),
        Access(),
    )
    assert change_text(partner, down, names, "ru") == (
        "Казань Софт: уровень Золотой → Серебряный. Закрыто: регионы: Kazan, Moscow."
    )
    assert change_text(partner, down, names, "en") == (
        "Казань Софт: tier Золотой → Серебряный. Lost: regions: Kazan, Moscow."
    )
    first = AccessChange("7", None, "platinum", Access(), Access(), Access())
    assert change_text(partner, first, names, "en") == "Казань Софт: tier — → platinum."
    gone = AccessChange("7", "silver", None, Access(), Access(), Access())
    assert change_text(partner, gone, names, "en") == "Казань Софт: tier Серебряный → —."
