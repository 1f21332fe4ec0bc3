"""The core names no CRM: no identifier, import or string literal in crm_bridge/ says bitrix, b24,
amocrm, kommo or hubspot (comments and docstrings may). Everything CRM-specific lives in adapters/."""

from __future__ import annotations

from pathlib import Path

from crm_names import offences, scan

ROOT = Path(__file__).resolve().parents[2]


def test_no_python_code_in_the_core_names_a_crm() -> None:
    assert scan(ROOT / "crm_bridge") == []


def test_the_check_finds_a_crm_name_in_code_but_not_in_prose(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        '"""Talks to Bitrix24 (a docstring may say so)."""\n'
        "# and so may a comment about HubSpot\n"
        'KIND = "amocrm"\n'
        "def b24_call():\n"
        '    """Kommo too."""\n'
        "    return 1\n",
        encoding="utf-8",
    )

    found = offences(sample)

    assert [line.split(": ", 1)[1] for line in found] == ['"amocrm"', "b24_call"]
