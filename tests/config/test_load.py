"""Loading a config file: defaults, environment interpolation, .env files, frozen settings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import time
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from crm_bridge.config import load_settings
from crm_bridge.errors import ConfigError

WEBHOOK = "https://example.bitrix24.ru/rest/1/s3cr3tw3bh00k/"


def test_a_minimal_config_gets_documented_defaults(write_config: Callable[..., Path]) -> None:
    settings = load_settings(write_config(), environ={"B24_WEBHOOK_URL": WEBHOOK})

    assert settings.crm.kind == "bitrix24"
    assert settings.state.url == "sqlite:///crm_bridge.db"
    assert settings.locale == "ru"
    assert settings.tiers.keys() == ["bronze", "silver", "gold", "platinum"]
    assert settings.schedule.sync.every == 300
    assert settings.distribution.working_hours.start == time(9, 0)


def test_the_webhook_secret_comes_from_the_environment_and_is_never_printed(
    write_config: Callable[..., Path],
) -> None:
    settings = load_settings(write_config(), environ={"B24_WEBHOOK_URL": WEBHOOK})

    assert settings.crm.bitrix24 is not None and settings.crm.bitrix24.webhook_url is not None
    assert settings.crm.bitrix24.webhook_url.get_secret_value() == WEBHOOK
    assert "s3cr3t" not in repr(settings)
    assert "s3cr3t" not in str(settings.model_dump())


def test_a_default_is_used_when_the_variable_is_unset(write_config: Callable[..., Path]) -> None:
    path = write_config(
        """
        locale: ${CRM_LOCALE:-en}
        state:
          url: ${STATE_URL:-sqlite:///other.db}
        crm:
          kind: bitrix24
          bitrix24: {webhook_url: "${B24_WEBHOOK_URL}"}
        """
    )

    settings = load_settings(path, environ={"B24_WEBHOOK_URL": WEBHOOK, "CRM_LOCALE": ""})

    assert settings.locale == "en"
    assert settings.state.url == "sqlite:///other.db"


def test_numbers_from_the_environment_are_converted_to_the_key_type(
    write_config: Callable[..., Path],
) -> None:
    path = write_config(
        """
        crm: {kind: bitrix24, bitrix24: {webhook_url: "${B24_WEBHOOK_URL}"}}
        intake: {listen_port: "${PORT}"}
        """
    )

    settings = load_settings(path, environ={"B24_WEBHOOK_URL": WEBHOOK, "PORT": "9090"})

    assert settings.intake.listen_port == 9090


def test_a_double_dollar_is_a_literal_dollar(write_config: Callable[..., Path]) -> None:
    path = write_config(
        """
        crm: {kind: bitrix24, bitrix24: {webhook_url: "${B24_WEBHOOK_URL}"}}
        distribution: {task_title: "$${partner} {lead}"}
        """
    )

    settings = load_settings(path, environ={"B24_WEBHOOK_URL": WEBHOOK})

    assert settings.distribution.task_title == "${partner} {lead}"


def test_dotenv_next_to_the_config_supplies_secrets(
    write_config: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path.parent)
    path = write_config(env={"B24_WEBHOOK_URL": WEBHOOK})

    settings = load_settings(path, environ={})

    assert settings.crm.bitrix24 is not None and settings.crm.bitrix24.webhook_url is not None
    assert settings.crm.bitrix24.webhook_url.get_secret_value() == WEBHOOK


def test_the_process_environment_wins_over_dotenv_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_dir = tmp_path / "etc"
    config_dir.mkdir()
    (config_dir / "config.yaml").write_text(
        "locale: ${LOC}\ntimezone: ${TZ_NAME}\n"
        "crm: {kind: bitrix24, bitrix24: {webhook_url: '${B24_WEBHOOK_URL}'}}\n"
    )
    (config_dir / ".env").write_text(f"LOC=ru\nTZ_NAME=Asia/Yekaterinburg\nB24_WEBHOOK_URL={WEBHOOK}\n")
    (tmp_path / ".env").write_text("LOC=xx\nTZ_NAME=Europe/Moscow\nOTHER=1\n")
    monkeypatch.chdir(tmp_path)

    settings = load_settings(config_dir / "config.yaml", environ={"LOC": "en"})

    assert settings.locale == "en"  # process environment
    assert settings.timezone == "Asia/Yekaterinburg"  # .env next to the config beats .env in CWD


def test_settings_are_frozen(write_config: Callable[..., Path]) -> None:
    settings = load_settings(write_config(), environ={"B24_WEBHOOK_URL": WEBHOOK})

    with pytest.raises(ValidationError):
        settings.locale = "en"  # type: ignore[misc]


def test_unquoted_times_of_day_are_read_as_times(write_config: Callable[..., Path]) -> None:
    path = write_config(
        """
        crm: {kind: bitrix24, bitrix24: {webhook_url: "${B24_WEBHOOK_URL}"}}
        distribution:
          working_hours: {start: 9:30, end: 18:00, days: [mon, tue]}
        """
    )

    settings = load_settings(path, environ={"B24_WEBHOOK_URL": WEBHOOK})

    assert settings.distribution.working_hours.start == time(9, 30)
    assert settings.distribution.working_hours.end == time(18, 0)


def test_money_keys_are_decimals(write_config: Callable[..., Path]) -> None:
    path = write_config(
        """
        crm: {kind: bitrix24, bitrix24: {webhook_url: "${B24_WEBHOOK_URL}"}}
        tiers:
          levels:
            - {key: base, name: Base}
            - {key: pro, name: Pro, min_revenue: 1500000.10}
        """
    )

    settings = load_settings(path, environ={"B24_WEBHOOK_URL": WEBHOOK})

    assert settings.tiers.levels[1].min_revenue == Decimal("1500000.10")


def test_managers_convert_to_domain_managers_with_the_company_timezone(
    write_config: Callable[..., Path],
) -> None:
    path = write_config(
        """
        timezone: Europe/Moscow
        crm: {kind: bitrix24, bitrix24: {webhook_url: "${B24_WEBHOOK_URL}"}}
        managers:
          - {key: anna, name: Анна, crm_user_id: 17, weight: 2, regions: [MSK], capacity: 30}
          - {key: oleg, name: Олег, crm_user_id: "18", timezone: Asia/Novosibirsk}
        """
    )

    managers = load_settings(path, environ={"B24_WEBHOOK_URL": WEBHOOK}).domain_managers()

    assert [(m.key, m.crm_user_id, m.timezone) for m in managers] == [
        ("anna", "17", "Europe/Moscow"),
        ("oleg", "18", "Asia/Novosibirsk"),
    ]
    assert managers[0].regions == frozenset({"MSK"}) and managers[0].capacity == 30


def test_a_missing_file_is_a_config_error_that_says_how_to_point_at_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path / "absent.yaml", environ={})

    assert caught.value.problems == [
        f"{tmp_path / 'absent.yaml'}: config file not found (pass --config PATH or set CRM_BRIDGE_CONFIG)"
    ]


def test_settings_remember_their_source_file(write_config: Callable[..., Path]) -> None:
    path = write_config()

    assert load_settings(path, environ={"B24_WEBHOOK_URL": WEBHOOK}).source == path
