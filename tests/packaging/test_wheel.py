"""The wheels install into a clean virtual environment and work there, as `pip install crm-bridge
crm-bridge-bitrix24` would leave them: the console script runs, the mapping ships inside the
adapter's wheel, the adapter and its emulator are found through their entry points, and
`crm-bridge validate` and `crm-bridge demo` run. A fourth CRM (tests/packaging/tinycrm, a
distribution of its own) plugs in the same way without any change to the core.

The clean venv gets the project's third-party dependencies through a .pth file pointing at a folder
of links to them, leaving out crm-bridge's own distributions, so nothing of the project reaches it
except the wheels (and no network is needed)."""

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
TINY = Path(__file__).resolve().parent / "tinycrm"

pytestmark = pytest.mark.slow

BITRIX24_CONFIG = "crm:\n  kind: bitrix24\n  bitrix24:\n    webhook_url: ${B24_WEBHOOK_URL}\n"
TINY_CONFIG = (
    "crm:\n  kind: tinycrm\n  tinycrm:\n    base_url: https://tiny.example.com\n"
    "    api_key: ${TINYCRM_API_KEY}\n"
)


def _run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=600, check=False, env=env
    )


def _build(source: Path, out: Path) -> Path:
    result = _run(
        sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", out, source, cwd=out
    )
    assert result.returncode == 0, result.stderr[-3000:]
    [built] = [w for w in out.glob("*.whl")]
    return built


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return {
        name: _build(source, tmp_path_factory.mktemp(f"wheel-{name}"))
        for name, source in (("core", ROOT), ("bitrix24", ROOT / "adapters" / "bitrix24"), ("tinycrm", TINY))
    }


def _dependencies_only(target: Path) -> Path:
    """A folder of links to every third-party package of this environment, none of crm-bridge's."""
    site = Path(sysconfig.get_paths()["purelib"])
    target.mkdir()
    for entry in site.iterdir():
        name = entry.name.lower()
        if name.startswith(("crm_bridge", "crm-bridge", "__editable__", "_crm_bridge")) or name.endswith(
            ".pth"
        ):
            continue
        (target / entry.name).symlink_to(entry)
    return target


def _venv(home: Path, *wheels: Path) -> Path:
    venv.EnvBuilder(with_pip=False, symlinks=True).create(home)
    python = home / "bin" / "python"
    purelib = _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=home)
    deps = _dependencies_only(home / "deps")
    (Path(purelib.stdout.strip()) / "project_dependencies.pth").write_text(f"{deps}\n")
    installed = _run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        python,
        "install",
        "--no-deps",
        "--no-index",
        *wheels,
        cwd=home,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    return home


@pytest.fixture(scope="module")
def clean_venv(tmp_path_factory: pytest.TempPathFactory, wheels: dict[str, Path]) -> Path:
    return _venv(tmp_path_factory.mktemp("venv"), wheels["core"], wheels["bitrix24"])


def test_the_core_wheel_carries_no_crm_and_the_adapter_wheel_carries_its_mapping(
    wheels: dict[str, Path],
) -> None:
    core = zipfile.ZipFile(wheels["core"]).namelist()
    adapter = zipfile.ZipFile(wheels["bitrix24"]).namelist()

    assert "crm_bridge/py.typed" in core
    # the Alembic scripts ship inside the package: a wheel install migrates its state store
    for name in ("env.py", "script.py.mako", "versions/0001_initial.py", "legacy.py"):
        assert f"crm_bridge/store/migrations/{name}" in core
    assert not [n for n in core if n.startswith(("tests/", "adapters/", "mappings/", "crm_bridge_"))]
    assert not [n for n in core if "bitrix" in n.lower()]
    assert "crm_bridge_bitrix24/mappings/bitrix24.yaml" in adapter
    assert "crm_bridge_bitrix24/sandbox/emulator.py" in adapter
    assert not [
        n for n in adapter if n.split("/")[0] not in ("crm_bridge_bitrix24",) and ".dist-info" not in n
    ]
    entry_points = next(n for n in adapter if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheels["bitrix24"]).read(entry_points).decode()
    assert "[crm_bridge.adapters]\nbitrix24 = crm_bridge_bitrix24.plugin:ADAPTER" in text
    assert "[crm_bridge.sandboxes]\nbitrix24 = crm_bridge_bitrix24.sandbox:create_emulator" in text


def test_the_installed_packages_are_the_wheels_and_register_the_adapter_and_its_emulator(
    clean_venv: Path, tmp_path: Path
) -> None:
    probe = (
        "import json, crm_bridge, crm_bridge_bitrix24; from importlib.metadata import entry_points;"
        "from crm_bridge_bitrix24.mapping import load_mapping;"
        "print(json.dumps({'files': [crm_bridge.__file__, crm_bridge_bitrix24.__file__],"
        " 'adapters': {e.name: e.value for e in entry_points(group='crm_bridge.adapters')},"
        " 'sandboxes': sorted(e.name for e in entry_points(group='crm_bridge.sandboxes')),"
        " 'tier': load_mapping().fields}, default=str))"
    )

    result = _run(clean_venv / "bin" / "python", "-c", probe, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert all(Path(f).is_relative_to(clean_venv) for f in found["files"])
    assert found["adapters"] == {"bitrix24": "crm_bridge_bitrix24.plugin:ADAPTER"}
    assert found["sandboxes"] == ["bitrix24"]
    assert "UF_CRM_PARTNER_TIER" in str(found["tier"])


def test_validate_runs_from_the_clean_venv_and_a_crm_without_its_adapter_names_what_to_install(
    clean_venv: Path, tmp_path: Path
) -> None:
    (tmp_path / "config.yaml").write_text(BITRIX24_CONFIG, encoding="utf-8")
    (tmp_path / "amo.yaml").write_text(
        "crm:\n  kind: amocrm\n  amocrm:\n    base_url: https://x.amocrm.ru\n", encoding="utf-8"
    )
    env = {"PATH": "/usr/bin:/bin", "B24_WEBHOOK_URL": "https://acme.bitrix24.ru/rest/1/abcdefgh12345/"}

    ok = _run(clean_venv / "bin" / "crm-bridge", "validate", cwd=tmp_path, env=env)
    missing = _run(
        clean_venv / "bin" / "crm-bridge", "--config", "amo.yaml", "validate", cwd=tmp_path, env=env
    )

    assert ok.returncode == 0, ok.stderr
    assert "bitrix24:acme.bitrix24.ru" in ok.stdout and "crm-bridge-bitrix24 0.1.0" in ok.stdout
    assert "abcdefgh12345" not in ok.stdout + ok.stderr
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == [
        "error: crm.kind: no adapter for 'amocrm' is installed (installed: bitrix24);"
        " install crm-bridge-amocrm"
    ]


def test_the_demo_runs_from_the_clean_venv(clean_venv: Path, tmp_path: Path) -> None:
    result = _run(
        clean_venv / "bin" / "crm-bridge",
        "demo",
        "--no-rate-limit",
        "--out",
        tmp_path / "demo",
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200"},
    )

    assert result.returncode == 0, result.stderr[-3000:]
    assert "Запускаю песочницу Bitrix24" in result.stdout  # the demo's config (and summary) is Russian
    assert (tmp_path / "demo" / "config.yaml").is_file()
    assert list((tmp_path / "demo" / "reports").glob("*.html"))
    current = _run(
        clean_venv / "bin" / "crm-bridge",
        "--config",
        tmp_path / "demo" / "config.yaml",
        "db",
        "current",
        cwd=tmp_path / "demo",
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200", "B24_WEBHOOK_URL": "https://a.bitrix24.ru/rest/1/x/"},
    )
    assert current.returncode == 0, current.stderr[-3000:]
    assert "pending:    none: the store is up to date" in current.stdout  # migrated from the wheel


def test_a_fourth_crm_plugs_in_as_its_own_distribution_without_touching_the_core(
    tmp_path_factory: pytest.TempPathFactory, wheels: dict[str, Path], tmp_path: Path
) -> None:
    home = _venv(tmp_path_factory.mktemp("venv-tiny"), wheels["core"], wheels["tinycrm"])
    (tmp_path / "config.yaml").write_text(TINY_CONFIG, encoding="utf-8")
    (tmp_path / "literal.yaml").write_text(TINY_CONFIG.replace("${TINYCRM_API_KEY}", "tiny-key-abc"))
    (tmp_path / "typo.yaml").write_text(TINY_CONFIG.replace("base_url", "base_uri"))
    env = {"PATH": "/usr/bin:/bin", "TINYCRM_API_KEY": "tiny-key-s3cr3t"}

    ok = _run(home / "bin" / "crm-bridge", "validate", cwd=tmp_path, env=env)
    doctor = _run(home / "bin" / "crm-bridge", "doctor", cwd=tmp_path, env={**env, "COLUMNS": "200"})
    before = _run(home / "bin" / "crm-bridge", "doctor", "--before-provision", cwd=tmp_path, env=env)
    literal = _run(home / "bin" / "crm-bridge", "--config", "literal.yaml", "validate", cwd=tmp_path, env=env)
    typo = _run(home / "bin" / "crm-bridge", "--config", "typo.yaml", "validate", cwd=tmp_path, env=env)

    assert ok.returncode == 0, ok.stderr
    assert "tinycrm:tiny.example.com" in ok.stdout and "TinyCRM: crm-bridge-tinycrm 0.0.1" in ok.stdout
    assert doctor.returncode == 1, doctor.stderr  # the toolkit's layout lines: nothing provisioned yet
    assert "funnel leads" in doctor.stdout and "run crm-bridge provision" in doctor.stdout
    assert before.returncode == 0, before.stdout + before.stderr
    assert "to provision" in before.stdout
    assert literal.returncode == 2
    assert "crm.tinycrm.api_key:" in literal.stderr and "${TINYCRM_API_KEY}" in literal.stderr
    assert typo.returncode == 2
    assert "crm.tinycrm.base_uri:" in typo.stderr and "base_url" in typo.stderr
