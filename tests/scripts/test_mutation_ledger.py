"""The mutation ledger (scripts/mutation.py): outcomes kept from run to run, per function, so a run of
many hours can be done a session at a time; a changed function is tested afresh."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "mutation.py"
FILE = (
    "pkg/calc.py"  # a source file of the fixture copy; its mutants are named pkg.calc.<function>__mutmut_<n>
)


@pytest.fixture(scope="module")
def mutation() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mutation_script_under_test", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def copy_with(tmp: Path, hashes: dict[str, str], codes: dict[str, int | None]) -> Path:
    """A target's copy as mutmut leaves it: the source file and its mutants/<file>.meta."""
    copy = tmp / "copy"
    (copy / "pkg").mkdir(parents=True, exist_ok=True)
    (copy / FILE).write_text("def add(a, b):\n    return a + b\n", encoding="utf-8")
    meta = copy / "mutants" / f"{FILE}.meta"
    meta.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "exit_code_by_key": {f"pkg.calc.{key}": code for key, code in codes.items()},
        "hash_by_function_name": hashes,
        "type_check_error_by_key": {},
        "durations_by_key": {},
        "estimated_durations_by_key": {},
    }
    meta.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return copy


def test_a_copys_outcomes_become_one_letter_per_mutant_number(mutation: ModuleType, tmp_path: Path) -> None:
    codes = {
        "x_add__mutmut_1": 1,  # killed
        "x_add__mutmut_2": 0,  # survived
        "x_add__mutmut_3": None,  # not run yet
        "x_add__mutmut_4": 36,  # timeout
        "x_add__mutmut_5": 33,  # no tests
        "xǁBoxǁsize__mutmut_1": 2,  # interrupted by a stop: not run
    }
    copy = copy_with(tmp_path, {"x_add": "aaaaaaaaaaaa", "xǁBoxǁsize": "bbbbbbbbbbbb"}, codes)
    assert mutation.read_copy(copy) == {
        FILE: {"x_add": ("aaaaaaaaaaaa", "ks.tn"), "xǁBoxǁsize": ("bbbbbbbbbbbb", ".")}
    }
    outcomes = mutation.outcomes_of(mutation.read_copy(copy))
    assert outcomes["pkg.calc.x_add__mutmut_2"] == "survived"
    assert outcomes["pkg.calc.xǁBoxǁsize__mutmut_1"] == "not checked"


def test_merge_keeps_what_an_unchanged_function_did_and_starts_a_changed_one_afresh(
    mutation: ModuleType,
) -> None:
    ledger = {
        FILE: {
            "x_same": ("111111111111", "kks.t"),
            "x_edited": ("222222222222", "kkk"),
            "x_grown": ("777777777777", "kkk"),
            "x_removed": ("333333333333", "kk"),
        },
        "pkg/other.py": {"x_elsewhere": ("444444444444", "k.")},  # not in this copy: kept as it is
    }
    copy = {
        FILE: {
            "x_same": ("111111111111", "..k.."),  # this run re-tested mutant 3 (a new test killed it)
            "x_edited": ("999999999999", ".k."),  # edited (as many mutants): none kept from before
            "x_grown": ("666666666666", "k...."),  # edited: five mutants now, one run so far
            "x_new": ("555555555555", "s"),
        }
    }
    assert mutation.merge(ledger, copy) == {
        FILE: {
            "x_same": ("111111111111", "kkk.t"),
            "x_edited": ("999999999999", ".k."),
            "x_grown": ("666666666666", "k...."),
            "x_new": ("555555555555", "s"),
        },
        "pkg/other.py": {"x_elsewhere": ("444444444444", "k.")},
    }


def test_seeding_gives_mutmut_only_the_killed_and_timed_out_mutants(
    mutation: ModuleType, tmp_path: Path
) -> None:
    copy = copy_with(tmp_path, {}, {})
    (copy / "mutants" / f"{FILE}.meta").unlink()
    ledger = {
        FILE: {"x_add": ("aaaaaaaaaaaa", "ks.tn?x")},
        "pkg/gone.py": {"x_old": ("bbbbbbbbbbbb", "k")},  # no longer in the source: nothing seeded
    }
    mutation.seed(copy, ledger, mutation.KEPT)
    meta = json.loads((copy / "mutants" / f"{FILE}.meta").read_text(encoding="utf-8"))
    assert meta["hash_by_function_name"] == {"x_add": "aaaaaaaaaaaa"}
    assert meta["exit_code_by_key"] == {
        "pkg.calc.x_add__mutmut_1": 1,
        "pkg.calc.x_add__mutmut_2": None,  # a survivor is tested again: a new test may kill it
        "pkg.calc.x_add__mutmut_3": None,
        "pkg.calc.x_add__mutmut_4": 36,
        "pkg.calc.x_add__mutmut_5": None,
        "pkg.calc.x_add__mutmut_6": None,
        "pkg.calc.x_add__mutmut_7": None,
    }
    assert not (copy / "mutants" / "pkg" / "gone.py.meta").exists()
    assert mutation.read_copy(copy) == {FILE: {"x_add": ("aaaaaaaaaaaa", "k..t...")}}
    mutation.seed(copy, ledger, set(mutation.CODE))  # --again: every outcome known (names are given)
    assert mutation.read_copy(copy) == {FILE: {"x_add": ("aaaaaaaaaaaa", "ks.tn?x")}}
    mutation.seed(copy, ledger, mutation.KEPT | {"s"})  # --unrun: the survivor stays one, untested
    assert mutation.read_copy(copy) == {FILE: {"x_add": ("aaaaaaaaaaaa", "ks.t...")}}


def test_mutmut_reads_a_seeded_meta_file(
    mutation: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mutmut.mutation.data as data_module  # in the dev extra too, so this never skips in CI

    copy = copy_with(tmp_path, {}, {})
    mutation.seed(copy, {FILE: {"x_add": ("aaaaaaaaaaaa", "kt.")}}, mutation.KEPT)
    monkeypatch.chdir(copy)
    data = data_module.SourceFileMutationData(path=Path(FILE))
    data.load()
    assert data.hash_by_function_name == {"x_add": "aaaaaaaaaaaa"}
    assert data.exit_code_by_key == {
        "pkg.calc.x_add__mutmut_1": 1,
        "pkg.calc.x_add__mutmut_2": 36,
        "pkg.calc.x_add__mutmut_3": None,
    }


def test_the_ledger_file_round_trips_and_another_mutmut_version_starts_afresh(
    mutation: ModuleType, tmp_path: Path
) -> None:
    path = tmp_path / "ledger" / "domain.json"
    ledger = {FILE: {"x_add": ("aaaaaaaaaaaa", "ks.t"), "xǁBoxǁsize": ("bbbbbbbbbbbb", "k")}}
    mutation.save_ledger(path, ledger, "3.8.1")
    assert mutation.load_ledger(path, "3.8.1") == ledger
    assert json.loads(path.read_text(encoding="utf-8"))["mutmut"] == "3.8.1"
    lines = path.read_text(encoding="utf-8").splitlines()  # one line per function: a diff names it
    assert '  "x_add": ["aaaaaaaaaaaa", "ks.t"],' in lines
    assert '  "xǁBoxǁsize": ["bbbbbbbbbbbb", "k"]' in lines
    assert mutation.load_ledger(path, "3.9.0") == {}
    assert mutation.load_ledger(tmp_path / "none.json", "3.8.1") == {}


def test_a_stopped_run_still_keeps_what_it_finished(mutation: ModuleType, tmp_path: Path) -> None:
    """The run is stopped (SIGTERM, as at a session's end) while mutmut works: mutmut is asked to stop
    and what it recorded is kept before the stop goes on."""
    kept: list[str] = []
    stops_its_parent = (
        "import os, signal, sys, time\n"
        "os.kill(os.getppid(), signal.SIGTERM)\n"
        "try:\n    time.sleep(600)\n"
        "except KeyboardInterrupt:\n    sys.exit(130)\n"
    )
    with pytest.raises(KeyboardInterrupt):
        mutation._run_keeping(
            [sys.executable, "-c", stops_its_parent], tmp_path, {}, lambda: kept.append("kept"), every=600
        )
    assert kept == ["kept"]


def test_an_adapters_copy_mutates_its_package_under_the_name_the_tests_import(
    mutation: ModuleType, tmp_path: Path
) -> None:
    """mutmut names a mutant by its file's path from the copy's top (``adapters.hubspot.crm_bridge_hubspot…``
    for the package where it lives) while the tests import ``crm_bridge_hubspot``: the copy lifts it."""
    copy = tmp_path / "copy"
    package = copy / "adapters" / "hubspot" / "crm_bridge_hubspot"
    (package / "mappings").mkdir(parents=True)
    (copy / "mappings").mkdir()
    (copy / "mappings" / "hubspot.yaml").write_text("objects: {}\n", encoding="utf-8")
    (package / "mappings" / "hubspot.yaml").symlink_to("../../../../mappings/hubspot.yaml")
    (package / "__init__.py").write_text("", encoding="utf-8")
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text(encoding="utf-8")
    only, tests = mutation.TARGETS["hubspot"]
    (copy / "pyproject.toml").write_text(mutation._narrowed(pyproject, only, tests), encoding="utf-8")

    mutation._lift(copy, "hubspot")

    lifted = copy / "crm_bridge_hubspot"
    assert (lifted / "__init__.py").is_file() and not package.exists()
    shipped = lifted / "mappings" / "hubspot.yaml"  # the shipped mapping still read, now a file of its own
    assert not shipped.is_symlink() and shipped.read_text(encoding="utf-8") == "objects: {}\n"
    text = (copy / "pyproject.toml").read_text(encoding="utf-8")
    assert 'source_paths = ["crm_bridge", "crm_bridge_hubspot"]' in text
    assert 'only_mutate = ["crm_bridge_hubspot/*"]' in text
    assert 'do_not_mutate = ["crm_bridge_hubspot/sandbox/*"]' in text  # the emulator stays unmutated
    assert '"--ignore=tests/adapters/hubspot/test_hubspot_cli_e2e.py"' in text
    assert mutation.mutant_name("crm_bridge_hubspot/batch.py", "x_error_line", 3) == (
        "crm_bridge_hubspot.batch.x_error_line__mutmut_3"
    )
