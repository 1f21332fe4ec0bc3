"""A portal that already has its own tier field: `crm.bitrix24.mapping` points crm-bridge at it, and
provisioning reuses it instead of creating UF_CRM_PARTNER_TIER."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from crm_bridge.cli import main
from crm_bridge.sandbox.server import Sandbox

CONFIG = """
locale: en
crm:
  kind: bitrix24
  bitrix24:
    webhook_url: ${B24_WEBHOOK_URL}
    rate_limit: {burst: 10000, per_second: 10000}
    mapping: our-fields.yaml
state:
  url: sqlite:///STATE
"""
OWN_FIELD = {
    "FIELD_NAME": "PARTNER_LEVEL",
    "USER_TYPE_ID": "enumeration",
    "XML_ID": "PARTNER_LEVEL",
    "EDIT_FORM_LABEL": {"en": "Partner level", "ru": "Уровень партнёра"},
    "LIST": [{"VALUE": "Bronze", "XML_ID": "bronze"}, {"VALUE": "Silver", "XML_ID": "silver"}],
}


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox("bitrix24") as sb:
        sb.emulator.seed({"userfields": {"company": [OWN_FIELD]}})
        yield sb


@pytest.fixture
def config(tmp_path: Path, sandbox: Sandbox) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG.replace("STATE", str(tmp_path / "state.db")), encoding="utf-8")
    (tmp_path / "our-fields.yaml").write_text("fields:\n  partner:\n    tier: UF_CRM_PARTNER_LEVEL\n")
    (tmp_path / ".env").write_text(f"B24_WEBHOOK_URL={sandbox.config_snippet()['env']['B24_WEBHOOK_URL']}\n")
    return path


def _company_fields_added(sandbox: Sandbox) -> list[str]:
    added = []
    for entry in sandbox.requests():
        text = json.dumps(entry, ensure_ascii=False)
        if "crm.company.userfield.add" in text:
            added.append(text)
    return added


def test_provisioning_reuses_the_portals_own_field_named_in_the_mapping_override(
    config: Path, sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(config), "provision"]) == 0
    capsys.readouterr()

    added = _company_fields_added(sandbox)
    assert added, "the other partner fields are still created"
    assert not [a for a in added if "PARTNER_LEVEL" in a or "PARTNER_TIER" in a]
    fields = sandbox.emulator.dump()["userfields"]
    codes = [f["field_name"] for f in fields if f["entity"] == "company"]
    assert codes.count("UF_CRM_PARTNER_LEVEL") == 1
    assert "UF_CRM_PARTNER_TIER" not in codes


def test_a_bad_override_is_a_config_error_naming_the_file_and_key(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (config.parent / "our-fields.yaml").write_text("fields:\n  partner:\n    tier: partner-level\n")

    code = main(["--config", str(config), "provision", "--dry-run"])

    assert code == 2
    err = capsys.readouterr().err
    assert "crm.bitrix24.mapping (" in err and "our-fields.yaml): fields: partner.tier:" in err
