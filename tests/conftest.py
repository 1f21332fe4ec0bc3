"""Fixtures shared by every test package: a manual clock, a FakeCRM, and a config-file writer.

Conventions: test names are sentences; tests go through public surfaces (functions, the CLI, the
ports); nothing here reads the real clock or the network."""

from __future__ import annotations

import os
import tempfile
import textwrap
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import pytest
from hypothesis import settings
from pg_schemas import pg_schema_url
from sqlalchemy import create_engine, text

from crm_bridge.fake import FakeClock, FakeCRM

pytest_plugins = ["sandbox_fixture"]  # make_sandbox, bitrix24_sandbox, amocrm_sandbox, hubspot_sandbox

PG_URL = os.environ.get("CRM_BRIDGE_TEST_PG_URL", "")
# PostgreSQL runs whenever CRM_BRIDGE_TEST_PG_URL is set or under CI (.ci/run sets it); a server that
# does not answer skips those tests locally and fails them under CI (the postgres_url fixture).
_IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
STORE_BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL or _IN_CI else [])

MINIMAL_CONFIG = """
crm:
  kind: bitrix24
  bitrix24:
    webhook_url: ${B24_WEBHOOK_URL}
"""


TEST_SECRET_KEY = "uY2ZLlzYhvfG6nsi9bXqoLM1dHRMjUkgBd0BctmpeKo="  # a Fernet key for tests only


def _memory_temproot() -> str | None:
    """/dev/shm when it is a writable memory file system with room (1 GiB) and nobody chose where temporary
    files go (no --basetemp, TMPDIR or PYTEST_DEBUG_TEMPROOT); else None."""
    if any(os.environ.get(name) for name in ("TMPDIR", "PYTEST_DEBUG_TEMPROOT")):
        return None
    shm = "/dev/shm"  # noqa: S108 (a per-user numbered folder under it, made by pytest as under /tmp)
    try:
        room = os.statvfs(shm)
    except OSError:
        return None
    if not os.access(shm, os.W_OK) or room.f_bavail * room.f_frsize < 2**30:
        return None
    return shm


def pytest_configure(config: pytest.Config) -> None:
    """Every test's tmp_path lives in memory when the machine has one (/dev/shm): the state stores and
    files the tests write are then never flushed to a disk. A SQLite commit on a disk waits for an fsync
    (~5 ms here), which made the many small commits of the service, store and CLI tests wait on the disk
    rather than compute; nothing a test asserts depends on the disk (a killed process loses no write
    either way). pytest numbers and prunes its folders there as under /tmp; xdist's workers get their
    folders under this one."""
    if config.option.basetemp is None and not hasattr(config, "workerinput"):  # workers: under it
        temproot = _memory_temproot()
        if temproot is not None:
            tempfile.tempdir = temproot


def _mutation_durations() -> dict[str, float]:
    """Each test's duration from mutmut's stats run (mutmut-stats.json in the folder mutmut runs the
    tests from); empty when there is none."""
    import json

    try:
        stats = json.loads(Path("mutmut-stats.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    durations = stats.get("duration_by_test")
    return durations if isinstance(durations, dict) else {}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under mutmut, with a mutant switched on, the quickest tests run first. mutmut runs the tests that
    reach the mutated function with ``-x``, so a mutant is killed by its first failing test; in file
    order that was often a slow bot or demo test that happened to come first. Tests do not depend on
    their order (pytest-randomly shuffles them in every normal run), so only the time changes. A normal
    run (no mutant) keeps its order."""
    if "__mutmut_" not in os.environ.get("MUTANT_UNDER_TEST", ""):
        return
    durations = _mutation_durations()
    if durations:
        items.sort(key=lambda item: durations.get(item.nodeid, float("inf")))


@pytest.fixture(autouse=True)
def _secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """OAuth tokens are stored encrypted: every test (and the processes it starts) has a key in
    CRM_BRIDGE_SECRET_KEY unless it removes it to test the error."""
    monkeypatch.setenv("CRM_BRIDGE_SECRET_KEY", TEST_SECRET_KEY)


@cache
def _postgres_unavailable() -> str | None:
    """Why the PostgreSQL tests cannot run here (None when they can): the URL is unset, or no server
    answers at it. Probed once per session."""
    url = os.environ.get("CRM_BRIDGE_TEST_PG_URL", "")
    if not url:
        return "CRM_BRIDGE_TEST_PG_URL is not set"
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    engine = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        where = make_url(url).render_as_string(hide_password=True)
        return f"no PostgreSQL server answers at {where} ({type(exc).__name__})"
    finally:
        engine.dispose()
    return None


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """CRM_BRIDGE_TEST_PG_URL of a server that answers. Otherwise the test is skipped locally, and fails
    under CI=true so that CI never silently skips the PostgreSQL tests."""
    reason = _postgres_unavailable()
    if reason is None:
        return os.environ["CRM_BRIDGE_TEST_PG_URL"]
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"PostgreSQL tests cannot run under CI: {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL tests skipped: {reason}")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One clear line when the PostgreSQL tests were skipped."""
    skipped = terminalreporter.stats.get("skipped", [])
    if any("PostgreSQL tests skipped" in str(getattr(report, "longrepr", "")) for report in skipped):
        terminalreporter.write_line(f"PostgreSQL tests skipped: {_postgres_unavailable()}", yellow=True)


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))


@pytest.fixture
def fake_crm(fake_clock: FakeClock) -> FakeCRM:
    return FakeCRM(clock=fake_clock)


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    """``write_config(yaml_text, name="config.yaml", env=None)`` writes a config file (dedented) and,
    when ``env`` is given, a ``.env`` next to it; returns the config path."""

    def write(
        text: str = MINIMAL_CONFIG, name: str = "config.yaml", env: dict[str, str] | None = None
    ) -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        if env is not None:
            lines = [f"{key}={value}" for key, value in env.items()]
            (tmp_path / ".env").write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    return write


@pytest.fixture(params=STORE_BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty state store: a SQLite file, and again (when CRM_BRIDGE_TEST_PG_URL is set) a
    PostgreSQL schema of its own, dropped afterwards — unique per test, so parallel workers (pytest -n)
    never share one."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state.db'}"
        return
    pg_url: str = request.getfixturevalue("postgres_url")
    schema = f"crm_bridge_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield pg_schema_url(pg_url, schema)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


# Property tests: no per-example deadline (under CPU load a slow example is not a failure), so a
# hypothesis test fails only on a counterexample.
settings.register_profile("crm_bridge", deadline=None, print_blob=True)
settings.load_profile("crm_bridge")
