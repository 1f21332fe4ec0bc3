"""A bad config is refused with every problem at once, one line each, naming the key path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from crm_bridge.config import load_settings
from crm_bridge.errors import ConfigError

WEBHOOK = "https://example.bitrix24.ru/rest/1/s3cr3tw3bh00k/"
CRM = 'crm: {kind: bitrix24, bitrix24: {webhook_url: "${B24_WEBHOOK_URL}"}}\n'


def problems(path: Path, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={"B24_WEBHOOK_URL": WEBHOOK} if env is None else env)
    return caught.value.problems


def test_every_problem_is_reported_at_once_in_file_order(write_config: Callable[..., Path]) -> None:
    path = write_config(
        CRM
        + """
managers:
  - {key: anna, name: Анна, crm_user_id: 1, weight: 0}
distribution:
  rules:
    - {manager: bob}
tiers:
  levels:
    - {key: bronze, name: Bronze}
    - {key: silver, name: Silver, min_revenue: -5}
colour: blue
"""
    )

    assert problems(path) == [
        "managers[0].weight: must be >= 1",
        "distribution.rules[0].manager: unknown manager 'bob' (known: anna)",
        "tiers.levels[1].min_revenue: must be >= 0",
        "colour: unknown key",
    ]


def test_an_unset_variable_is_named_with_the_key_that_needs_it(write_config: Callable[..., Path]) -> None:
    assert problems(write_config(CRM), env={}) == [
        "crm.bitrix24.webhook_url: environment variable B24_WEBHOOK_URL is not set"
    ]


def test_an_empty_variable_is_reported_as_empty(write_config: Callable[..., Path]) -> None:
    assert problems(write_config(CRM), env={"B24_WEBHOOK_URL": ""}) == [
        "crm.bitrix24.webhook_url: environment variable B24_WEBHOOK_URL is empty"
    ]


def test_a_secret_written_in_the_file_is_refused_without_echoing_it(
    write_config: Callable[..., Path],
) -> None:
    path = write_config(f"crm: {{kind: bitrix24, bitrix24: {{webhook_url: '{WEBHOOK}'}}}}\n")

    found = problems(path)

    assert found == [
        "crm.bitrix24.webhook_url: is a secret and must come from the environment: write ${B24_WEBHOOK_URL} "
        "here and set B24_WEBHOOK_URL in the environment or in .env"
    ]
    assert "s3cr3t" not in "\n".join(found)


def test_a_database_password_written_in_the_file_is_refused(write_config: Callable[..., Path]) -> None:
    path = write_config(CRM + "state: {url: 'postgresql+psycopg://bridge:hunter2@db/bridge'}\n")

    found = problems(path)

    assert [line.split(":")[0] for line in found] == ["state.url"]
    assert "hunter2" not in found[0]


def test_a_misspelt_key_gets_a_suggestion(write_config: Callable[..., Path]) -> None:
    path = write_config(CRM + "managers:\n  - {key: anna, name: Анна, crm_user_id: 1, wieght: 2}\n")

    assert problems(path) == ["managers[0].wieght: unknown key (did you mean 'weight'?)"]


def test_a_misspelt_choice_gets_a_suggestion(write_config: Callable[..., Path]) -> None:
    path = write_config(CRM + "notifications:\n  routing:\n    tier_chnged: [crm]\n")

    assert problems(path) == [
        "notifications.routing.tier_chnged: 'tier_chnged' is not allowed (did you mean 'tier_changed'?)"
    ]


def test_a_wrong_type_and_a_wrong_choice_are_described_in_plain_words(
    write_config: Callable[..., Path],
) -> None:
    path = write_config(CRM + "locale: de\nintake: {listen_port: many}\n")

    assert problems(path) == [
        "locale: must be one of 'ru' or 'en' (got 'de')",
        "intake.listen_port: must be a whole number",
    ]


def test_the_crm_section_must_match_the_kind(write_config: Callable[..., Path]) -> None:
    path = write_config("crm:\n  kind: bitrix24\n")

    assert problems(path) == ["crm: crm.kind is 'bitrix24' but the crm.bitrix24 section is missing"]


def test_a_kind_with_no_installed_adapter_is_one_line_naming_what_to_install(
    write_config: Callable[..., Path],
) -> None:
    path = write_config("crm:\n  kind: pipedrive\n  pipedrive: {api_token: x}\n")

    [line] = problems(path)
    assert line.startswith("crm.kind: no adapter for 'pipedrive' is installed (installed: ")
    assert line.endswith("; install crm-bridge-pipedrive")


def test_a_mistyped_key_in_an_adapters_section_is_named_with_its_path(
    write_config: Callable[..., Path],
) -> None:
    path = write_config(
        "crm:\n  kind: bitrix24\n  bitrix24:\n    webhook_url: ${B24_WEBHOOK_URL}\n    plann: x\n"
    )

    assert any(line.startswith("crm.bitrix24.plann: ") and "plan" in line for line in problems(path))


def test_a_missing_required_key_is_named(write_config: Callable[..., Path]) -> None:
    path = write_config(CRM + "managers:\n  - {key: anna, crm_user_id: 1}\n")

    assert problems(path) == ["managers[0].name: required key is missing"]


def test_higher_tiers_may_not_ask_for_less_than_lower_ones(write_config: Callable[..., Path]) -> None:
    path = write_config(
        CRM
        + """
tiers:
  levels:
    - {key: bronze, name: Bronze, min_won_deals: 2}
    - {key: silver, name: Silver, min_won_deals: 5}
    - {key: gold, name: Gold, min_won_deals: 4}
"""
    )

    assert problems(path) == [
        "tiers.levels[2].min_won_deals: must be >= 5 (the value of the lower tier 'silver')"
    ]


def test_duplicate_keys_in_lists_are_reported_with_both_positions(write_config: Callable[..., Path]) -> None:
    path = write_config(
        CRM
        + """
curators:
  - {key: olga, name: Ольга, crm_user_id: 5}
  - {key: olga, name: Ольга Петровна, crm_user_id: 6}
"""
    )

    assert problems(path) == ["curators[1].key: duplicate curator key 'olga' (also curators[0])"]


def test_reward_rules_must_cover_every_tier_and_only_known_ones(write_config: Callable[..., Path]) -> None:
    path = write_config(
        CRM
        + """
tiers:
  levels: [{key: base, name: Base}, {key: pro, name: Pro, min_leads: 10}]
rewards:
  rule_sets:
    - effective_from: 2026-01-01
      commission: {by_tier: {base: 5, diamond: 9}}
"""
    )

    assert problems(path) == [
        "rewards.rule_sets[0].commission.by_tier: no commission rate for tier 'pro'",
        "rewards.rule_sets[0].commission.by_tier.diamond: unknown tier 'diamond' (known: base, pro)",
    ]


def test_routing_to_a_disabled_channel_is_refused(write_config: Callable[..., Path]) -> None:
    path = write_config(CRM + "notifications:\n  routing:\n    lead_escalated: [crm, telegram]\n")

    assert problems(path) == [
        "notifications.routing.lead_escalated[1]: channel 'telegram' is not enabled in notifications.channels"
    ]


def test_a_bad_cron_expression_and_two_triggers_are_refused(write_config: Callable[..., Path]) -> None:
    path = write_config(
        CRM + "schedule:\n  tiers: {cron: '0 3 * *'}\n  sync: {every: 5m, cron: '* * * * *'}\n"
    )

    found = problems(path)

    assert [line.split(": ")[0] for line in found] == ["schedule.tiers.cron", "schedule.sync"]
    assert found[1] == "schedule.sync: give exactly one of every: or cron:"


def test_an_unknown_time_zone_is_named(write_config: Callable[..., Path]) -> None:
    path = write_config(CRM + "timezone: Europe/Mos\n")

    assert problems(path) == [
        "timezone: unknown time zone 'Europe/Mos' (use an IANA name like Europe/Moscow)"
    ]


def test_a_key_given_twice_in_the_yaml_is_refused_with_its_line(write_config: Callable[..., Path]) -> None:
    path = write_config(CRM + "locale: ru\nlocale: en\n")

    [line] = problems(path)

    assert line.startswith(f"{path}:3:1: invalid YAML")
    assert "'locale' is given twice (first on line 2)" in line


def test_broken_yaml_is_one_line_with_file_line_and_column(write_config: Callable[..., Path]) -> None:
    path = write_config("crm:\n  kind: [bitrix24\n")

    [line] = problems(path)

    assert line.startswith(f"{path}:") and "invalid YAML" in line


def test_an_unclosed_variable_reference_is_reported(write_config: Callable[..., Path]) -> None:
    path = write_config('crm: {kind: bitrix24, bitrix24: {webhook_url: "${B24_WEBHOOK_URL"}}\n')

    assert problems(path) == ["crm.bitrix24.webhook_url: '${' without a closing '}'"]


def test_working_hours_must_end_after_they_start(write_config: Callable[..., Path]) -> None:
    path = write_config(CRM + "distribution:\n  working_hours: {start: '18:00', end: '09:00'}\n")

    assert problems(path) == ["distribution.working_hours: end (09:00) must be after start (18:00)"]


def test_funnel_changes_the_funnel_does_not_allow_are_named_by_funnel(
    write_config: Callable[..., Path],
) -> None:
    path = write_config(
        CRM
        + """
funnels:
  leads:
    stages:
      qualificaton: {color: "#FF0000"}
  acquisition:
    add:
      - {key: pilot, name: Pilot, after: nowhere}
  repeat:
    order: [base_review]
"""
    )

    found = problems(path)

    assert found[0] == "funnels.leads: unknown stage 'qualificaton'"
    assert found[1] == "funnels.acquisition: add after unknown stage 'nowhere'"
    assert found[2].startswith("funnels.repeat: order must list every stage once (missing ['negotiation'")


def test_define_and_add_cannot_be_combined(write_config: Callable[..., Path]) -> None:
    path = write_config(
        CRM
        + """
funnels:
  repeat:
    define: [{key: review, name: Review}]
    add: [{key: extra, name: Extra}]
"""
    )

    assert problems(path) == [
        "funnels.repeat: define: replaces the stages; do not combine it with add: or order:"
    ]
