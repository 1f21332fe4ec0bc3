"""Building the Bitrix24 adapter from the whole config (``create_adapter``): the section it needs, the
curators, the locale of its lines, a mapping override read next to the config file, and events."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from b24_support import MemoryKV

from crm_bridge.config.settings import load_settings
from crm_bridge.domain.layout import FieldEntity
from crm_bridge.errors import ConfigError
from crm_bridge_bitrix24 import create_adapter
from crm_bridge_bitrix24.plugin import ADAPTER

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
