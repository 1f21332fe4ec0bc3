"""Building the Bitrix24 adapter from the whole config (``create_adapter``): the section it needs, the
curators, the locale of its lines, a mapping override read next to the config file, and events."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import responses
from b24_support import MemoryKV
from b24_wire_support import HOOK, TIME

from crm_bridge.config.settings import load_settings
from crm_bridge.domain.layout import FieldEntity
from crm_bridge.errors import ConfigError
from crm_bridge.http import MemoryLedger
from crm_bridge.ports import AdapterContext
from crm_bridge_bitrix24 import create_adapter
from crm_bridge_bitrix24.config import Bitrix24Config
from crm_bridge_bitrix24.plugin import ADAPTER

NOW = 1724916859.0
CONFIG = """
locale: en
crm:
  kind: bitrix24
  bitrix24:
    webhook_url: ${B24_WEBHOOK_URL}
    application_token: ${B24_APPLICATION_TOKEN}
    mapping: own/fields.yaml
    sync_overlap: 7
curators:
  - key: anna
    name: Anna
    crm_user_id: "17"
events:
  enabled: true
state:
  url: sqlite:///STATE
"""


def test_the_adapter_takes_curators_locale_events_and_the_mapping_beside_the_config(tmp_path: Path) -> None:
    (tmp_path / "own").mkdir()
    (tmp_path / "own" / "fields.yaml").write_text("fields:\n  partner:\n    tier: UF_CRM_PARTNER_LEVEL\n")
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG.replace("STATE", str(tmp_path / "state.db")), encoding="utf-8")
    settings = load_settings(
        path,
        environ={
            "B24_WEBHOOK_URL": "https://example.bitrix24.ru/rest/1/s3cr3tw3bh00k/",
            "B24_APPLICATION_TOKEN": "t0k3n",
        },
    )

    from crm_bridge.ports import AdapterContext

    adapter = create_adapter(settings, AdapterContext(kv=MemoryKV()))
    try:
        assert adapter.mapping.code(FieldEntity.PARTNER, "tier") == "UF_CRM_PARTNER_LEVEL"
        assert adapter.writes.user_ids == {"anna": "17"}
        assert (
            adapter.language == "en" and adapter.event_mode == "outgoing_webhook" and adapter.events_enabled
        )
        assert adapter.sync_overlap.total_seconds() == 7
        assert adapter.desired is not None and {f.key for f in adapter.desired.funnels} >= {"leads"}
        assert adapter.subscribe_events(None).startswith("Bitrix24 outgoing webhook: set it up in the portal")
    finally:
        adapter.close()


def test_without_the_bitrix24_section_the_config_error_says_what_is_missing() -> None:
    with pytest.raises(ConfigError) as info:
        ADAPTER.create(SimpleNamespace(crm=SimpleNamespace(bitrix24=None)), None)  # type: ignore[arg-type]
    assert str(info.value) == "crm.bitrix24: the section is missing (webhook_url or oauth)"


@pytest.mark.parametrize(
    "settings",
    [SimpleNamespace(), SimpleNamespace(crm=None), SimpleNamespace(crm=SimpleNamespace(kind="bitrix24"))],
    ids=["no crm section", "crm empty", "crm without bitrix24"],
)
def test_settings_without_a_bitrix24_section_are_a_config_error_not_a_crash(settings: Any) -> None:
    with pytest.raises(ConfigError) as info:
        create_adapter(settings, AdapterContext(kv=MemoryKV()))
    assert str(info.value) == "crm.bitrix24: the section is missing (webhook_url or oauth)"


MINIMAL = """
locale: en
crm:
  kind: bitrix24
  bitrix24:
    webhook_url: ${B24_WEBHOOK_URL}
state:
  url: sqlite:///STATE
"""


def _minimal(tmp_path: Path) -> Any:
    path = tmp_path / "config.yaml"
    path.write_text(MINIMAL.replace("STATE", str(tmp_path / "state.db")), encoding="utf-8")
    return load_settings(path, environ={"B24_WEBHOOK_URL": HOOK})


@responses.activate
def test_a_config_without_mapping_curators_or_events_builds_an_adapter_in_its_locale(tmp_path: Path) -> None:
    ledger = MemoryLedger()
    responses.post(HOOK + "scope", json={"result": ["crm"], "time": TIME})

    adapter = create_adapter(
        _minimal(tmp_path), AdapterContext(kv=MemoryKV(), ledger=ledger, clock=lambda: NOW)
    )
    try:
        assert adapter.desired is not None
        assert [f.name for f in adapter.desired.funnels] == [
            "Partner acquisition",
            "Partner lead processing",
            "Partner tier upgrade",
            "Repeat deals",
        ]
        assert adapter.language == "en" and adapter.writes.user_ids == {}
        assert adapter.events_enabled is False and adapter.event_mode == "polling"
        assert adapter.mapping.code(FieldEntity.PARTNER, "tier") == "UF_CRM_PARTNER_TIER"  # the shipped one
        adapter.client.call("scope")
    finally:
        adapter.close()
    # the operating-time budget is kept under the portal's host, shared by every process using it
    key = "bitrix24:example.bitrix24.ru/operating/scope"
    assert ledger.spent([key], since=0.0) == {key: [(NOW, TIME["duration"])]}


def test_settings_holding_only_the_crm_and_layout_sections_default_to_russian_and_no_events(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "fields.yaml").write_text("fields:\n  partner:\n    tier: UF_CRM_PARTNER_LEVEL\n")
    monkeypatch.chdir(tmp_path)  # no config file known: a relative mapping is read from here
    loaded = _minimal(tmp_path)
    crm = SimpleNamespace(
        kind="bitrix24", bitrix24=Bitrix24Config(webhook_url=HOOK, mapping=Path("fields.yaml"))
    )
    settings = SimpleNamespace(crm=crm, tiers=loaded.tiers, funnels=loaded.funnels)

    adapter = create_adapter(settings, AdapterContext(kv=MemoryKV()))
    try:
        assert adapter.language == "ru" and adapter.writes.user_ids == {}
        assert adapter.desired is not None
        assert [f.name for f in adapter.desired.funnels][0] == "Привлечение партнёров"
        assert adapter.events_enabled is False and adapter.event_mode == "polling"
        assert adapter.mapping.code(FieldEntity.PARTNER, "tier") == "UF_CRM_PARTNER_LEVEL"
    finally:
        adapter.close()
