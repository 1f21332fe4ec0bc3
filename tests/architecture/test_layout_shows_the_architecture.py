"""A concept with several files is a subpackage, not a name prefix (CONVENTIONS, "One home per
decision"): no module ``x_y.py`` sits beside an ``x.py`` it belongs with, and no three modules of a
package share a prefix ``x_`` that should have been a folder ``x/``."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Pairs that look like a prefix group but are not one, each with the reason.
ALLOWED = {
    # A store module's tables beside the repository of the same name (README: "tables: schema.py +
    # *_schema.py"); every *_schema module is read by migrations/env.py, the repositories are not.
    "crm_bridge/store/bot_schema.py": "tables of the bot's repository",
    "crm_bridge/store/events_schema.py": "tables of the event queue's repository",
    "crm_bridge/store/lifecycle_schema.py": "tables of the lifecycle repository",
    "crm_bridge/store/portal_schema.py": "tables of the portal's repository",
    # One use case inside the partners/ subpackage: completions from CSV (training) and from an LMS
    # webhook (training_webhook); a folder for two files of one use case would hide them.
    "crm_bridge/services/partners/training_webhook.py": "the LMS-webhook side of training",
}


def packages(root: Path) -> list[Path]:
    """Every package directory under ``root`` (the emulators included)."""
    return sorted(p.parent for p in root.rglob("__init__.py"))


def prefix_groups(package: Path) -> list[Path]:
    """The modules of ``package`` that stand in for a subpackage by their name's prefix: ``x_y.py``
    beside ``x.py``, or three or more ``x_*.py`` with no ``x.py``."""
    modules = {p.stem: p for p in package.glob("*.py") if p.stem != "__init__"}
    found = [p for name, p in modules.items() for base in modules if name.startswith(base + "_")]
    by_prefix: dict[str, list[Path]] = defaultdict(list)
    for name, p in modules.items():
        if "_" in name:
            by_prefix[name.split("_")[0]].append(p)
    found += [p for prefix, group in by_prefix.items() if len(group) >= 3 for p in group]
    return sorted(set(found))


def offenders(*roots: Path) -> list[str]:
    paths = [p for root in roots for package in packages(root) for p in prefix_groups(package)]
    return [path.relative_to(ROOT).as_posix() for path in paths]


def test_no_module_name_prefix_stands_in_for_a_subpackage() -> None:
    roots = [ROOT / "crm_bridge", *sorted((ROOT / "adapters").glob("*/crm_bridge_*"))]

    found = [p for p in offenders(*roots) if p not in ALLOWED]

    assert found == []


def test_every_allowed_pair_still_exists() -> None:
    assert [p for p in ALLOWED if not (ROOT / p).exists()] == []


def test_the_check_finds_a_pair_and_a_prefix_group_but_not_a_subpackage(tmp_path: Path) -> None:
    for name in ("tiers.py", "tiers_apply.py", "layout_reader.py", "layout_writer.py", "layout_state.py"):
        (tmp_path / "pkg" / name).parent.mkdir(exist_ok=True)
        (tmp_path / "pkg" / name).write_text("", encoding="utf-8")
    (tmp_path / "pkg" / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "pkg" / "sync").mkdir()
    for name in ("__init__.py", "pull.py", "watch.py", "csv_file.py", "csv_import.py"):
        (tmp_path / "pkg" / "sync" / name).write_text("", encoding="utf-8")

    found = [p.relative_to(tmp_path).as_posix() for p in prefix_groups(tmp_path / "pkg")]
    found += [p.relative_to(tmp_path).as_posix() for p in prefix_groups(tmp_path / "pkg" / "sync")]

    assert found == [
        "pkg/layout_reader.py",
        "pkg/layout_state.py",
        "pkg/layout_writer.py",
        "pkg/tiers_apply.py",
    ]
