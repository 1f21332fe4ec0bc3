"""Managers, curators and the selection scorecard as the services get them from the config."""

from __future__ import annotations

from decimal import Decimal

from crm_bridge.config.lifecycle import SelectionConfig
from crm_bridge.config.people import CuratorConfig, ManagerConfig
from crm_bridge.domain.model import Curator, Manager


def test_a_manager_keeps_every_setting_and_gets_the_top_level_time_zone_unless_it_has_its_own() -> None:
    given = {"key": "anna", "name": "Анна", "crm_user_id": 17, "weight": 3, "regions": ["msk"]}
    anna = ManagerConfig.model_validate(
        {
            **given,
            "specialisations": ["erp"],
            "capacity": 20,
            "timezone": "Asia/Yekaterinburg",
            "active": False,
        }
    )
    assert anna.to_domain("Europe/Moscow") == Manager(
        "anna", "Анна", "17", 3, frozenset({"msk"}), frozenset({"erp"}), 20, "Asia/Yekaterinburg", False
    )
    assert ManagerConfig.model_validate(given).to_domain("Europe/Moscow") == Manager(
        "anna", "Анна", "17", 3, frozenset({"msk"}), timezone="Europe/Moscow"
    )


def test_a_curator_keeps_its_contacts_regions_and_partner_types() -> None:
    curator = CuratorConfig.model_validate(
        {
            "key": "olga",
            "name": "Ольга",
            "crm_user_id": "5",
            "email": "olga@example.ru",
            "telegram_chat_id": "42",
            "regions": ["spb"],
            "partner_types": ["integrator", "reseller"],
        }
    )
    assert curator.to_domain() == Curator(
        "olga",
        "Ольга",
        "5",
        "olga@example.ru",
        "42",
        frozenset({"spb"}),
        frozenset({"integrator", "reseller"}),
    )


def test_the_default_scorecard_weighs_values_and_audience_first_and_an_unlisted_criterion_zero() -> None:
    assert SelectionConfig().full_weights() == {
        "values_fit": Decimal(25),
        "audience_overlap": Decimal(25),
        "reputation": Decimal(20),
        "track_record": Decimal(20),
        "scalability": Decimal(10),
    }
    only_two = SelectionConfig.model_validate({"weights": {"values_fit": 3, "scalability": 1}})
    assert only_two.full_weights() == {
        "values_fit": Decimal(3),
        "audience_overlap": Decimal(0),
        "reputation": Decimal(0),
        "track_record": Decimal(0),
        "scalability": Decimal(1),
    }
