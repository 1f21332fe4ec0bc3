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
