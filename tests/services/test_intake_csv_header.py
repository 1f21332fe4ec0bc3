"""The CSV lead file's separator hint is given only for a header made of our column names (quotes
around them allowed), not for names that merely contain one."""

from __future__ import annotations

from pathlib import Path

import pytest

from crm_bridge.errors import DataError
from crm_bridge.services.intake.csv_file import read_lead_csv


def test_tab_separated_names_that_only_contain_our_columns_are_unknown_columns_not_a_separator_hint(
    tmp_path: Path,
) -> None:
    path = tmp_path / "leads.csv"
    path.write_text("XEMAILX\tXPHONEX\n", encoding="utf-8")
    with pytest.raises(DataError) as refused:
        read_lead_csv(path)
    said = str(refused.value)
    assert "separated by" not in said
    assert r"unknown column(s) 'xemailx\txphonex'" in said
