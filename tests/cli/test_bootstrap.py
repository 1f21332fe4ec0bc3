"""The composition root: what it wires, what it owns, and how a missing adapter is reported."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from crm_bridge.bootstrap import bootstrap, installed_adapters, load_adapter_factory, portal_id
from crm_bridge.config import Settings, load_settings
from crm_bridge.errors import ConfigError
from crm_bridge.fake import FakeCRM

WEBHOOK = "https://Partners.Example.bitrix24.ru/rest/1/s3cr3tw3bh00k/"


class _Store:
    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def settings(write_config: Callable[..., Path]) -> Settings:
    return load_settings(write_config(), environ={"B24_WEBHOOK_URL": WEBHOOK})


def test_injected_store_and_adapter_are_used_and_left_open(settings: Settings, fake_crm: FakeCRM) -> None:
    store: Any = _Store()

    with bootstrap(settings, store=store, adapter=fake_crm) as app:
        assert app.store is store and app.adapter is fake_crm
        assert app.settings is settings

    assert not store.closed and not fake_crm.closed


def test_the_portal_is_named_by_kind_and_host_never_by_the_webhook_secret(settings: Settings) -> None:
    name = portal_id(settings.crm)

    assert name == "bitrix24:partners.example.bitrix24.ru"
    assert "s3cr3t" not in name


def test_the_portal_name_can_be_pinned_in_the_config(
    write_config: Callable[..., Path], fake_crm: FakeCRM
) -> None:
    path = write_config(
        "crm: {kind: bitrix24, bitrix24: {webhook_url: '${B24_WEBHOOK_URL}'}}\nstate: {portal: main-portal}\n"
    )
    settings = load_settings(path, environ={"B24_WEBHOOK_URL": WEBHOOK})

    assert bootstrap(settings, store=_Store(), adapter=fake_crm).portal == "main-portal"


def test_a_crm_kind_without_an_installed_adapter_is_a_config_error_naming_the_key(
    write_config: Callable[..., Path],
) -> None:
    path = write_config("crm: {kind: pipedrive, pipedrive: {api_token: '${PIPEDRIVE_TOKEN}'}}\n")

    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={"PIPEDRIVE_TOKEN": "secret"})

    [problem] = caught.value.problems
    assert problem.startswith("crm.kind: no adapter for 'pipedrive' is installed (installed: ")
    assert "bitrix24" in problem
    assert problem.endswith("install crm-bridge-pipedrive")


def test_the_bitrix24_adapter_is_registered_as_an_entry_point() -> None:
    assert "bitrix24" in installed_adapters()
    assert callable(load_adapter_factory("bitrix24"))


def test_the_store_is_opened_from_state_url_and_closed_with_the_app(
    write_config: Callable[..., Path], tmp_path: Path, fake_crm: FakeCRM
) -> None:
    database = tmp_path / "state" / "bridge.db"
    database.parent.mkdir()
    path = write_config(
        f"crm: {{kind: bitrix24, bitrix24: {{webhook_url: '${{B24_WEBHOOK_URL}}'}}}}\nstate: {{url: 'sqlite:///{database}'}}\n"
    )
    settings = load_settings(path, environ={"B24_WEBHOOK_URL": WEBHOOK})

    with bootstrap(settings, adapter=fake_crm) as app:
        app.store.kv("probe").set("answer", {"value": 42})

    assert database.is_file()
    with bootstrap(settings, adapter=fake_crm) as again:
        assert again.store.kv("probe").get("answer") == {"value": 42}
