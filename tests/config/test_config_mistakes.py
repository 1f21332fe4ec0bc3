"""Mistakes in single values and in reading the file, as `crm-bridge validate` reports them: the
key path, the message in plain words, and nothing reported for the value written correctly.

In-process through ``load_settings`` / ``parse_settings`` (the functions `crm-bridge validate` and the
daemon call), so that every line of the check is exercised by the assertion on its output."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from crm_bridge.config import load_settings
from crm_bridge.config.settings import Settings, parse_settings
from crm_bridge.config.source import Problem
from crm_bridge.errors import ConfigError

WEBHOOK = "https://example.bitrix24.ru/rest/1/s3cr3tw3bh00k/"
ENV = {"B24_WEBHOOK_URL": WEBHOOK}
CRM = 'crm: {kind: bitrix24, bitrix24: {webhook_url: "${B24_WEBHOOK_URL}"}}\n'


def _data(text: str) -> Any:
    return yaml.safe_load(CRM + textwrap.dedent(text))


def problems(text: str, env: dict[str, str] | None = None, *, crm: bool = True) -> list[str]:
    data = _data(text) if crm else yaml.safe_load(textwrap.dedent(text))
    with pytest.raises(ConfigError) as caught:
        parse_settings(data, ENV if env is None else env)
    return caught.value.problems


def accepted(text: str, env: dict[str, str] | None = None) -> Settings:
    return parse_settings(_data(text), ENV if env is None else env)


# --- single values ----------------------------------------------------------------------------------

VALUE_MISTAKES = [
    pytest.param(
        "managers: [{key: Anna, name: Анна, crm_user_id: '1'}]",
        ["managers[0].key: 'Anna' is not a valid key: use lower-case latin letters, digits and '_'"],
        id="a-key-with-capitals",
    ),
    pytest.param(
        "distribution: {working_hours: {start: 9, end: '18:00'}}",
        ["distribution.working_hours.start: write a time of day as HH:MM, e.g. '09:00'"],
        id="a-time-of-day-as-a-number",
    ),
    pytest.param(
        "goals: {department: {2026-13: {revenue: 100}, 2026-Q4: {revenue: 200}}}",
        [
            "goals.department.2026-13: '2026-13' is not a period: use 2026-11 (month), 2026-Q4 (quarter) "
            "or 2026 (year)"
        ],
        id="a-month-that-does-not-exist",
    ),
    pytest.param(
        """
        managers:
          - {key: anna, name: Анна, crm_user_id: '1', weight: 0}
          - {key: boris, crm_user_id: '2'}
        """,
        ["managers[0].weight: must be >= 1", "managers[1].name: required key is missing"],
        id="a-missing-key-listed-after-the-item-before-it",
    ),
    pytest.param(
        "bot: {token: '123:abc', webhook_secret: h00k}\ntraining: {webhook_secret: lms-s3cr3t}",
        [
            "bot.token: is a secret and must come from the environment: write ${PARTNER_BOT_TOKEN} here and "
            "set PARTNER_BOT_TOKEN in the environment or in .env",
            "bot.webhook_secret: is a secret and must come from the environment: write "
            "${PARTNER_BOT_WEBHOOK_SECRET} here and set PARTNER_BOT_WEBHOOK_SECRET in the environment "
            "or in .env",
            "training.webhook_secret: is a secret and must come from the environment: write "
            "${TRAINING_WEBHOOK_SECRET} here and set TRAINING_WEBHOOK_SECRET in the environment or in .env",
        ],
        id="a-literal-secret-names-the-variable-to-use",
    ),
]


MISSPELT_KEYS = [
    pytest.param(
        "access: {tiers: {gold: {region: [north]}}}",
        ["access.tiers.gold.region: unknown key (did you mean 'regions'?)"],
        id="inside-a-mapping-by-tier",
    ),
    pytest.param(
        "tiers: {levels: [{key: a, name: {ru: А, eng: A}}]}",
        ["tiers.levels[0].name.eng: unknown key (did you mean 'en'?)"],
        id="inside-a-name-in-two-languages",
    ),
    pytest.param(
        "managers: [{key: anna, name: Анна, crm_user_id: '1', working_hours: {start: 9, ned: '18:00'}}]",
        [
            "managers[0].working_hours.start: write a time of day as HH:MM, e.g. '09:00'",
            "managers[0].working_hours.ned: unknown key (did you mean 'end'?)",
        ],
        id="inside-a-list-item",
    ),
    pytest.param(
        "locale: [ru]\nonboarding: {curator_rule: {region: north}}",
        [
            "locale: must be one of 'ru' or 'en'",
            "onboarding.curator_rule: must be one of 'round_robin', 'region' or 'partner_type'",
        ],
        id="a-list-or-mapping-where-a-choice-is-expected",
    ),
]


@pytest.mark.parametrize(("text", "expected"), MISSPELT_KEYS)
def test_a_misspelt_key_is_reported_with_the_key_it_resembles(text: str, expected: list[str]) -> None:
    assert problems(text) == expected


@pytest.mark.parametrize(("text", "expected"), VALUE_MISTAKES)
def test_a_wrong_value_is_reported_with_its_key_and_the_rule(text: str, expected: list[str]) -> None:
    assert problems(text) == expected


def test_rule_sets_are_used_in_date_order_whatever_the_file_order() -> None:
    settings = accepted(
        """
        rewards:
          rule_sets:
            - {effective_from: 2026-07-01, commission: {brackets: [{from_revenue: 0, percent: 7}]}}
            - {effective_from: 2025-01-01, commission: {brackets: [{from_revenue: 0, percent: 3}]}}
            - {effective_from: 2026-01-01, commission: {brackets: [{from_revenue: 0, percent: 5}]}}
        """
    )

    assert [r.effective_from for r in settings.rewards.sorted_rule_sets()] == [
        date(2025, 1, 1),
        date(2026, 1, 1),
        date(2026, 7, 1),
    ]


@pytest.mark.parametrize(
    ("text", "zone"),
    [
        ("timezone: Europe/Moscow\nschedule: {timezone: Asia/Yekaterinburg}", "Asia/Yekaterinburg"),
        ("timezone: Europe/Moscow", "Europe/Moscow"),
    ],
)
def test_the_schedule_runs_in_its_own_zone_or_the_companys(text: str, zone: str) -> None:
    assert accepted(text).schedule_timezone() == zone


# --- ${VAR} interpolation ---------------------------------------------------------------------------

INTERPOLATION_MISTAKES = [
    pytest.param(
        "managers: [{key: anna, name: Анна, crm_user_id: '${1ST_MANAGER_ID}'}]",
        ENV,
        ["managers[0].crm_user_id: '${1ST_MANAGER_ID}' is not a valid variable reference (use ${NAME})"],
        id="a-name-starting-with-a-digit",
    ),
    pytest.param(
        "managers: [{key: anna, name: Анна, crm_user_id: '${ANNA_ID'}]",
        ENV,
        ["managers[0].crm_user_id: '${' without a closing '}'"],
        id="no-closing-brace",
    ),
    pytest.param(
        "managers: [{key: anna, name: Анна, crm_user_id: '${ANNA_ID}'}]",
        ENV,
        ["managers[0].crm_user_id: environment variable ANNA_ID is not set"],
        id="unset-in-a-list-item",
    ),
    pytest.param(
        """
        managers: [{key: anna, name: Анна, crm_user_id: '1'}]
        distribution: {rules: [{manager: '${LEAD_MANAGER}'}, {manager: '${BACKUP_MANAGER}'}]}
        """,
        {**ENV, "BACKUP_MANAGER": ""},
        [
            "distribution.rules[0].manager: environment variable LEAD_MANAGER is not set",
            "distribution.rules[1].manager: environment variable BACKUP_MANAGER is empty",
        ],
        id="a-key-that-could-not-be-read-is-not-checked-further",
    ),
    pytest.param(
        "distribution: {rules: [{manager: '${LEAD_MANAGER'}, {manager: '${LEAD MANAGER}'}]}",
        ENV,
        [
            "distribution.rules[0].manager: '${' without a closing '}'",
            "distribution.rules[1].manager: '${LEAD MANAGER}' is not a valid variable reference "
            "(use ${NAME})",
        ],
        id="a-broken-reference-is-not-checked-further",
    ),
    pytest.param(
        "crm: {kind: bitrix24, bitrix24: {webhook_url: '${B24_WEBHOOK_URL:-https://x.bitrix24.ru/rest/1/abc/}'}}",
        {},
        [
            "crm.bitrix24.webhook_url: is a secret and must come from the environment: write "
            "${B24_WEBHOOK_URL} "
            "here and set B24_WEBHOOK_URL in the environment or in .env"
        ],
        id="a-secret-from-the-default-in-the-file-is-written-in-the-file",
    ),
]


@pytest.mark.parametrize(("text", "env", "expected"), INTERPOLATION_MISTAKES)
def test_a_variable_that_cannot_be_substituted_is_reported_at_its_key(
    text: str, env: dict[str, str], expected: list[str]
) -> None:
    data = yaml.safe_load(textwrap.dedent(text))
    data.setdefault("crm", yaml.safe_load(CRM)["crm"])
    with pytest.raises(ConfigError) as caught:
        parse_settings(data, env)

    assert caught.value.problems == expected


def test_variables_in_list_items_are_substituted() -> None:
    settings = accepted(
        "managers: [{key: anna, name: Анна, crm_user_id: '${ANNA_ID}'}, "
        "{key: bob, name: Bob, crm_user_id: '7'}]",
        {**ENV, "ANNA_ID": "42"},
    )

    assert [m.crm_user_id for m in settings.managers] == ["42", "7"]


# --- the top level and the crm section --------------------------------------------------------------


@pytest.mark.parametrize("data", [["crm", "state"], "crm: bitrix24", 42])
def test_data_that_is_not_a_mapping_is_refused_in_one_line(data: Any) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(data, ENV)

    assert caught.value.problems == ["(top level): must be a mapping of keys (crm:, state:, …)"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("crm: bitrix24", ["crm: must be a mapping of keys"]),
        ("crm: {kind: 5}", ["crm.kind: must be text"]),
    ],
)
def test_a_crm_section_of_the_wrong_shape_is_reported(text: str, expected: list[str]) -> None:
    assert problems(text, crm=False) == expected


def test_a_problem_with_the_whole_config_is_located_at_the_top_level() -> None:
    assert str(Problem((), "must be a mapping of keys")) == "(top level): must be a mapping of keys"


# --- reading the file -------------------------------------------------------------------------------


def test_an_empty_file_is_a_config_without_a_crm_section(write_config: Callable[..., Path]) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(write_config(""), environ=ENV)

    assert caught.value.problems == ["crm: required key is missing"]


def test_a_file_saved_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(CRM + "locale: en\n", encoding="utf-8-sig")

    assert load_settings(path, environ=ENV).locale == "en"


def test_a_dotenv_file_in_the_current_directory_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_dir = tmp_path / "etc"
    config_dir.mkdir()
    (config_dir / "config.yaml").write_text(CRM, encoding="utf-8")
    (tmp_path / ".env").write_text(f"B24_WEBHOOK_URL={WEBHOOK}\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    settings = load_settings(config_dir / "config.yaml", environ={})

    assert settings.crm.bitrix24 is not None and settings.crm.bitrix24.webhook_url is not None
    assert settings.crm.bitrix24.webhook_url.get_secret_value() == WEBHOOK
