"""What provisioning creates for a config: the four funnels with the ``funnels`` section's changes, the
partner fields with the tiers named in the chosen language, and stage colours as the CRM can show them."""

from __future__ import annotations

import textwrap

import pytest
import yaml

from crm_bridge.config.funnels import desired_layout_for, fit_colours
from crm_bridge.config.settings import Settings, parse_settings
from crm_bridge.domain.layout import DesiredLayout

B24 = 'crm: {kind: bitrix24, bitrix24: {webhook_url: "${B24_WEBHOOK_URL}"}}\n'
HUBSPOT = 'crm: {kind: hubspot, hubspot: {access_token: "${HUBSPOT_TOKEN}"}}\n'
ENV = {"B24_WEBHOOK_URL": "https://example.bitrix24.ru/rest/1/s3cr3t/", "HUBSPOT_TOKEN": "pat-na1-0000"}
FUNNELS = """
tiers:
  levels:
    - {key: basic, name: {ru: Базовый, en: Basic}}
    - {key: pro, name: {ru: Профи, en: Pro}}
funnels:
  acquisition:
    name: {ru: Поиск партнёров, en: Partner search}
    stages:
      first_contact: {name: {ru: Знакомство, en: Introduction}, color: '#123456'}
      negotiation: {color: '#654321'}
    add: [{key: scouting, name: {ru: Разведка, en: Scouting}, color: '#ABCDEF', after: identification}]
  repeat:
    define: [{key: again, name: {ru: Снова, en: Again}}]
"""


def settings(text: str) -> Settings:
    return parse_settings(yaml.safe_load(textwrap.dedent(text)), ENV)


def stages(layout: DesiredLayout, funnel: str) -> list[tuple[str, str, str]]:
    found = next(f for f in layout.funnels if f.key == funnel)
    return [(s.key, s.name, s.color) for s in found.stages]


def funnel_names(layout: DesiredLayout) -> dict[str, str]:
    return {f.key: f.name for f in layout.funnels}


def options(layout: DesiredLayout, field: str) -> list[tuple[str, str]]:
    found = next(f for f in layout.fields if f.key == field)
    return [(o.key, o.label) for o in found.options]


def test_the_funnels_section_renames_recolours_adds_and_defines_stages() -> None:
    layout = desired_layout_for(settings(B24 + FUNNELS), "en")

    assert funnel_names(layout) == {
        "acquisition": "Partner search",
        "leads": "Partner lead processing",
        "tier_upgrade": "Partner tier upgrade",
        "repeat": "Repeat deals",
    }
    assert stages(layout, "acquisition") == [
        ("identification", "Identification", "#39A8EF"),
        ("scouting", "Scouting", "#ABCDEF"),
        ("first_contact", "Introduction", "#123456"),
        ("negotiation", "Negotiation and terms", "#654321"),
        ("agreement_signed", "Agreement signed", "#FFA900"),
        ("onboarding", "Onboarding", "#FFD200"),
        ("partner_active", "Partner active", "#7BD500"),
        ("not_a_fit", "Not a fit", "#FF5752"),
    ]
    assert stages(layout, "repeat") == [
        ("again", "Again", ""),
        ("repeat_won", "Repeat deal closed", "#7BD500"),
        ("repeat_lost", "Repeat deal lost", "#FF5752"),
    ]


@pytest.mark.parametrize(
    ("locale", "tiers", "acquisition"),
    [
        (None, [("basic", "Базовый"), ("pro", "Профи")], "Поиск партнёров"),  # the config's locale: ru
        ("ru", [("basic", "Базовый"), ("pro", "Профи")], "Поиск партнёров"),
        ("en", [("basic", "Basic"), ("pro", "Pro")], "Partner search"),
    ],
)
def test_tiers_and_funnels_are_named_in_the_chosen_language(
    locale: str | None, tiers: list[tuple[str, str]], acquisition: str
) -> None:
    layout = desired_layout_for(settings(B24 + FUNNELS), locale)

    assert options(layout, "tier") == tiers
    assert funnel_names(layout)["acquisition"] == acquisition


def test_the_partner_type_field_offers_every_partner_type() -> None:
    layout = desired_layout_for(settings(B24 + "locale: en\n"))

    assert options(layout, "partner_type") == [
        ("distributor", "Distributor"),
        ("reseller", "Reseller"),
        ("integrator", "Integrator"),
        ("referral", "Referral agent"),
    ]


def test_a_crm_without_stage_colours_gets_none() -> None:
    layout = desired_layout_for(settings(HUBSPOT + FUNNELS), "en")

    assert stages(layout, "acquisition")[:3] == [
        ("identification", "Identification", ""),
        ("scouting", "Scouting", ""),
        ("first_contact", "Introduction", ""),
    ]


def test_colours_for_a_crm_whose_adapter_is_not_installed_are_kept_as_configured() -> None:
    layout = desired_layout_for(settings(B24 + FUNNELS), "en")

    assert fit_colours(layout, "tinycrm") == layout
