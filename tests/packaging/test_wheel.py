"""The built wheel installs into a clean virtual environment and works there: the console script
runs, the mapping files ship inside it, and the Bitrix24 adapter is registered as an entry point.

The temporary venv reuses the dependencies already installed in the project's environment (a .pth
file pointing at its site-packages) so the test needs no network; crm_bridge itself comes only
from the wheel."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=600, check=False
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    build_dir = tmp_path_factory.mktemp("build")
    result = _run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "-w",
        out,
        ROOT,
        cwd=build_dir,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    [built] = out.glob("crm_bridge-*.whl")
    return built


@pytest.fixture(scope="module")
def clean_venv(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Path:
    home = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=False, symlinks=True).create(home)
    python = home / "bin" / "python"
    purelib = _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=home)
    site_packages = Path(purelib.stdout.strip())
    (site_packages / "project_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    installed = _run(
        sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", wheel, cwd=home
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    return home


def test_the_wheel_carries_the_mapping_files_and_the_type_marker(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()

    assert "crm_bridge/mappings/bitrix24.yaml" in names
    assert "crm_bridge/py.typed" in names
    assert not [n for n in names if n.startswith(("tests/", "adapters/"))]


def test_crm_bridge_help_runs_from_the_installed_wheel(clean_venv: Path, tmp_path: Path) -> None:
    result = _run(clean_venv / "bin" / "crm-bridge", "--help", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "Usage: crm-bridge" in result.stdout
    assert "validate" in result.stdout and "funnels" in result.stdout


def test_the_installed_package_is_the_wheel_and_registers_the_bitrix24_adapter(
    clean_venv: Path, tmp_path: Path
) -> None:
    probe = (
        "import json, crm_bridge; from importlib.metadata import entry_points;"
        "from importlib.resources import files;"
        "eps = {e.name: e.value for e in entry_points(group='crm_bridge.adapters')};"
        "print(json.dumps({'file': crm_bridge.__file__, 'eps': eps,"
        " 'mapping': files('crm_bridge').joinpath('mappings/bitrix24.yaml').is_file()}))"
    )

    result = _run(clean_venv / "bin" / "python", "-c", probe, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert Path(found["file"]).is_relative_to(clean_venv)
    assert found["eps"]["bitrix24"] == "crm_bridge.adapters.bitrix24:create_adapter"
    assert found["mapping"] is True
