"""Bad input corpus: broken configs (a key of every section), broken CSV files (encodings, separators,
columns, huge values, binary) and malformed CRM answers (HTML instead of JSON, truncated JSON, values of
the wrong type). Each gives one line naming the key, the line or the CRM call, exit 2 (1 for the CRM's
answers), and leaves the state store and the CRM as they were."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from chaos_world import CSV_HEADER, World

from crm_bridge.sandbox.faults import FaultPlan

pytestmark = pytest.mark.slow  # real processes and CRM sandboxes

# (dotted key, value) -> the key the error line must name
BROKEN_CONFIGS: list[tuple[str, Any, str]] = [
    ("locale", "fr", "locale"),
    ("timezone", "Mars/Olympus", "timezone"),
    ("crm.kind", "salesforce", "crm.kind"),
    ("crm.bitrix24.max_concurrency", 0, "crm.bitrix24.max_concurrency"),
    ("crm.bitrix24.http.read_timeout", -1, "crm.bitrix24.http.read_timeout"),
    ("state.url", "mysql://db/crm", "state.url"),
    ("logging.level", "LOUD", "logging.level"),
    ("head.crm_user_id", {"a": 1}, "head.crm_user_id"),
    ("curators", "anna", "curators"),
    ("distribution.strategy", "lottery", "distribution.strategy"),
    ("tiers.window_days", -5, "tiers.window_days"),
    ("intake.listen_port", 70000, "intake.listen_port"),
    ("reports.formats", ["pdf"], "reports.formats"),
    ("schedule.lease", "1s", "schedule.lease"),
    ("schedule.sync.every", "soon", "schedule.sync.every"),
    ("notifications.channels.telegram.enabled", True, "notifications.channels.telegram"),
    ("colour", "red", "colour"),
]


def set_key(data: dict[str, Any], dotted: str, value: Any) -> None:
    *path, last = dotted.split(".")
    for part in path:
        data = data.setdefault(part, {})
    data[last] = value


def fingerprint(world: World) -> tuple[str, int]:
    """The state file's bytes and the CRM's record count: what "state untouched" compares."""
    state = world.root / "state.db"
    digest = hashlib.sha256(state.read_bytes()).hexdigest() if state.exists() else ""
    return digest, len(world.dump()["records"].get("deal", []))


@pytest.mark.parametrize(("key", "value", "named"), BROKEN_CONFIGS, ids=[c[0] for c in BROKEN_CONFIGS])
def test_a_broken_config_key_is_named_on_one_line_with_exit_2_and_nothing_runs(
    world: World, key: str, value: Any, named: str
) -> None:
    data = yaml.safe_load(world.config.read_text(encoding="utf-8"))
    set_key(data, key, value)
    world.config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    before = fingerprint(world)
    for args in (("validate",), ("sync",), ("run", "--no-http")):
        run = world.cli(*args)
        assert run.code == 2, (args, run.err)
        lines = [line for line in run.err.splitlines() if line.strip()]
        assert lines and all(line.startswith("error: ") for line in lines), run.err
        assert any(named in line for line in lines), run.err
        assert "Traceback" not in run.err
    assert fingerprint(world) == before


def bad_csvs(partner: str) -> dict[str, tuple[bytes, str]]:
    good_row = f"{partner};ООО Клиент;a@example.ru;;;100;"
    return {
        "cp1251": (
            (CSV_HEADER + "\n" + good_row + "\n").encode("cp1251"),
            "not UTF-8 text (first bad byte on line 2)",
        ),
        "utf-16": ((CSV_HEADER + "\n" + good_row + "\n").encode("utf-16"), "not UTF-8 text"),
        "tabs": (
            (CSV_HEADER.replace(";", "\t") + "\n" + good_row.replace(";", "\t") + "\n").encode(),
            "separated by tabs",
        ),
        "pipes": (
            (CSV_HEADER.replace(";", "|") + "\n" + good_row.replace(";", "|") + "\n").encode(),
            "separated by '|'",
        ),
        "missing column": (
            ("partner_id;customer_name;email\n" + f"{partner};x;a@b.ru\n").encode(),
            "missing column(s) phone",
        ),
        "unknown column": (
            (CSV_HEADER + ";colour\n" + good_row + ";red\n").encode(),
            "unknown column(s) 'colour'",
        ),
        "empty": (b"", "the file is empty"),
        "huge value": ((CSV_HEADER + "\n" + f"{partner};{'Я' * 300_000};a@b.ru;;;1;\n").encode(), "line 2"),
        "binary": (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40, "not UTF-8 text"),
    }


def test_a_broken_csv_file_is_refused_on_one_line_with_exit_2_and_nothing_is_imported(world: World) -> None:
    assert world.cli("provision").code == 0
    partner = world.seed_partners(1)[0]
    assert world.cli("sync").code == 0
    for name, (data, says) in bad_csvs(partner).items():
        path = world.root / f"{name.replace(' ', '-')}.csv"
        path.write_bytes(data)
        before = fingerprint(world)
        run = world.cli("intake", "import", str(path))
        assert run.code == 2, (name, run.err)
        lines = run.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and says in lines[0], (name, run.err)
        assert str(path) in lines[0]
        assert fingerprint(world) == before, name
        assert not Path(str(path).replace(".csv", ".rejects.csv")).exists()


def cursors(world: World) -> list[tuple[str, str]]:
    data = json.loads(world.cli("status", "--json").out)
    return [(c["entity"], c["cursor"]) for c in data["sync_cursors"]]


@pytest.fixture
def world_options() -> dict[str, object]:
    return {"max_retries": 1}


@pytest.mark.parametrize("how", ["html", "truncated", "types"])
def test_a_malformed_crm_answer_is_one_line_naming_the_call_with_exit_1_and_the_cursor_stays(
    world: World, how: str
) -> None:
    assert world.cli("provision").code == 0
    partner = world.seed_partners(1)[0]
    assert world.cli("sync").code == 0
    world.seed_new_leads(partner, 3)
    cursors_before = cursors(world)
    world.sandbox.faults.set(FaultPlan(malformed=[how] * 2))  # the call and its one retry
    run = world.cli("sync")
    world.sandbox.faults.clear()
    assert run.code == 1, run.err
    lines = run.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), run.err
    assert "crm.company.list" in lines[0] and "rerun `crm-bridge" in lines[0], lines[0]
    assert cursors(world) == cursors_before and cursors_before
    assert world.cli("sync").code == 0  # and a rerun gets past it
