"""What the services read off the loaded config: which channels carry an event, which are on, the
events receiver URL the CRM is given, a routing rule's managers."""

from __future__ import annotations

from crm_bridge.config.ops import EventsConfig, NotificationsConfig
from crm_bridge.config.people import DistributionRule


def test_an_event_goes_to_its_routed_channels_else_to_the_default_ones_in_the_order_written() -> None:
    notifications = NotificationsConfig.model_validate(
        {
            "channels": {
                "telegram": {"enabled": True, "bot_token": "t"},
                "email": {"enabled": True, "smtp_host": "smtp.example.ru", "sender": "bridge@example.ru"},
            },
            "default": ["email", "crm"],
            "routing": {"tier_changed": ["telegram", "crm"]},
        }
    )
    assert notifications.channels_for("tier_changed") == ["telegram", "crm"]
    assert notifications.channels_for("lead_assigned") == ["email", "crm"]
    assert notifications.enabled_channels() == ["crm", "telegram", "email"]
    quiet = NotificationsConfig.model_validate({"channels": {"crm": {"enabled": False}}})
    assert quiet.enabled_channels() == [] and quiet.channels_for("new_partner") == ["crm"]
    assert NotificationsConfig().enabled_channels() == ["crm"]


def test_the_receiver_url_is_the_public_url_and_the_secret_path_token_only_when_both_are_set() -> None:
    token = "0123456789abcdef0123"
    events = EventsConfig.model_validate({"public_url": "https://bridge.example.ru/", "path_token": token})
    assert events.receiver_url() == f"https://bridge.example.ru/v1/events/{token}"
    behind = EventsConfig.model_validate({"public_url": "https://example.ru/crmX/", "path_token": token})
    assert behind.receiver_url() == f"https://example.ru/crmX/v1/events/{token}"
    assert EventsConfig.model_validate({"path_token": token}).receiver_url() is None
    assert EventsConfig().receiver_url() is None


def test_a_rule_names_one_manager_or_several() -> None:
    assert DistributionRule.model_validate({"manager": "anna"}).manager_keys() == ["anna"]
    assert DistributionRule.model_validate({"managers": ["anna", "bob"]}).manager_keys() == ["anna", "bob"]
