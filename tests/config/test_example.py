"""config.example.yaml validates as shipped once its environment variables are set, names the
unset ones, and documents every key the settings model knows."""

from __future__ import annotations

import re
import types
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

import pytest
from pydantic import BaseModel

from crm_bridge.config import Settings, load_settings
from crm_bridge.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.yaml"
ENV = {
    "B24_WEBHOOK_URL": "https://example.bitrix24.ru/rest/1/s3cr3tw3bh00k/",
    "TELEGRAM_BOT_TOKEN": "123456:ABC-token",
    "SMTP_PASSWORD": "smtp-password",
}


@pytest.fixture(autouse=True)
def _no_dotenv_from_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def test_the_example_validates_once_its_variables_are_set() -> None:
    settings = load_settings(EXAMPLE, environ=ENV)

    assert settings.crm.kind == "bitrix24"
    assert [m.key for m in settings.managers] == ["anna", "oleg", "maria"]
    assert [c.key for c in settings.curators] == ["dmitry", "svetlana"]
    assert settings.tiers.keys() == ["bronze", "silver", "gold", "platinum"]
    assert settings.state.url == "sqlite:///crm_bridge.db"


def test_the_example_names_every_unset_variable() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(EXAMPLE, environ={})

    assert caught.value.problems == [
        "crm.bitrix24.webhook_url: environment variable B24_WEBHOOK_URL is not set",
        "notifications.channels.telegram.bot_token: environment variable TELEGRAM_BOT_TOKEN is not set",
        "notifications.channels.email.password: environment variable SMTP_PASSWORD is not set",
    ]


def _models(annotation: Any, seen: set[type[BaseModel]]) -> None:
    origin = get_origin(annotation)
    if origin in (Annotated, Union, types.UnionType, list, dict, tuple):
        for arg in get_args(annotation):
            _models(arg, seen)
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel) and annotation not in seen:
        seen.add(annotation)
        for field in annotation.model_fields.values():
            _models(field.annotation, seen)


def test_every_key_of_the_settings_is_documented_in_the_example() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    models: set[type[BaseModel]] = set()
    _models(Settings, models)

    missing = sorted(
        f"{model.__name__}.{name}"
        for model in models
        for name in model.model_fields
        if not re.search(rf"(^|[\s{{,#]){re.escape(name)}:", text, flags=re.MULTILINE)
    )

    assert missing == []


def test_every_top_level_section_has_a_comment() -> None:
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()

    undocumented = [
        line.split(":")[0]
        for number, line in enumerate(lines)
        if re.match(r"^[a-z_]+:", line)
        and not any("#" in near for near in (line, lines[number - 1], lines[min(number + 1, len(lines) - 1)]))
    ]

    assert undocumented == []
