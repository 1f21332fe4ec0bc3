"""What an admin gets without writing a key: the daemon's job intervals, the report formats, the
onboarding checklist (as the handbook gives it) and where events go."""

from __future__ import annotations

from decimal import Decimal

from crm_bridge.config.lifecycle import OnboardingConfig
from crm_bridge.config.ops import NotificationsConfig, ReportsConfig, ScheduleConfig
from crm_bridge.config.programme import TiersConfig


def test_the_daemon_jobs_run_every_so_many_seconds_by_default() -> None:
    schedule = ScheduleConfig()
    jobs = ("sync", "distribute", "escalate", "lifecycle", "notify", "bot", "bot_updates", "events")
    assert {job: getattr(schedule, job).every for job in jobs} == {
        "sync": 300.0,
        "distribute": 60.0,
        "escalate": 300.0,
        "lifecycle": 900.0,
        "notify": 30.0,
        "bot": 10.0,
        "bot_updates": 1.0,
        "events": 2.0,
    }


def test_reports_are_written_as_html_and_csv_and_events_go_to_the_crm_by_default() -> None:
    assert ReportsConfig().formats == ["html", "csv"]
    assert NotificationsConfig().default == ["crm"]


def test_the_default_onboarding_checklist_is_the_handbooks_five_steps() -> None:
    assert [(c.key, c.title, c.due_days) for c in OnboardingConfig().checklist] == [
        ("welcome_call", "{partner}: welcome call and introduction to the curator", 1),
        ("portal_access", "{partner}: access to the partner portal and materials", 2),
        ("plan", "{partner}: agree the individual cooperation plan", 7),
        ("training", "{partner}: enrol the partner's people in the basic training", 7),
        ("first_lead", "{partner}: first joint lead or demo", 30),
    ]


def test_the_default_tiers_are_four_by_won_deals_named_in_both_languages() -> None:
    levels = TiersConfig().levels
    assert [(t.key, t.name.as_dict(), t.thresholds()) for t in levels] == [
        ("bronze", {"ru": "Бронзовый", "en": "Bronze"}, {"min_won_deals": Decimal(0)}),
        ("silver", {"ru": "Серебряный", "en": "Silver"}, {"min_won_deals": Decimal(3)}),
        ("gold", {"ru": "Золотой", "en": "Gold"}, {"min_won_deals": Decimal(10)}),
        ("platinum", {"ru": "Платиновый", "en": "Platinum"}, {"min_won_deals": Decimal(25)}),
    ]


def test_default_service_urls_are_validated_urls_like_a_value_from_the_file() -> None:
    from pydantic import HttpUrl

    from crm_bridge.config.bot import BotConfig
    from crm_bridge.config.ops import TelegramChannel

    got = {"bot": BotConfig().base_url, "telegram": TelegramChannel().base_url}

    assert all(isinstance(url, HttpUrl) for url in got.values())
    assert {name: str(url) for name, url in got.items()} == {
        "bot": "https://api.telegram.org/",
        "telegram": "https://api.telegram.org/",
    }
