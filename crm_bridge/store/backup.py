"""Backups of the state store and restoring one: SQLite through its online backup API (a consistent copy
while the daemon keeps writing), PostgreSQL through ``pg_dump``/``pg_restore`` (custom format). The
password never goes on a command line (``ps`` shows those): it is handed to the tools in PGPASSWORD."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from crm_bridge.errors import ConfigError, StateError
from crm_bridge.security.files import create_private

SQLITE_SUFFIX = ".sqlite3"
PG_SUFFIX = ".pgdump"


def backend(url: str) -> str:
    return make_url(url).get_backend_name()


def sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if database in (None, "", ":memory:"):
        raise ConfigError("state.url: an in-memory SQLite store has nothing to back up")
    return Path(str(database))


def backup_name(url: str, now: datetime) -> str:
    suffix = SQLITE_SUFFIX if backend(url) == "sqlite" else PG_SUFFIX
    return f"crm-bridge-state-{now:%Y%m%dT%H%M%SZ}{suffix}"


def backup(url: str, target: Path) -> Path:
    """Write a consistent copy of the store at ``url`` to ``target`` (owner-only). Raises StateError."""
    if backend(url) == "sqlite" and not sqlite_path(url).is_file():
        raise ConfigError(f"state.url: there is no state file at {sqlite_path(url)} yet: nothing to back up")
    target.parent.mkdir(parents=True, exist_ok=True)
    create_private(target)
    if backend(url) == "sqlite":
        _sqlite_copy(sqlite_path(url), target)
    else:
        schema = [f"--schema={name}" for name in _search_path(url)]
        _pg_tool("pg_dump", url, ["--format=custom", "--no-owner", *schema, f"--file={target}"])
    return target


def restore(url: str, source: Path) -> None:
    """Replace the store at ``url`` with the backup ``source``. The caller makes sure no daemon runs.
    Raises ConfigError for an unreadable backup, StateError when the database refuses."""
    if not source.is_file():
        raise ConfigError(f"{source}: no such backup file")
    if backend(url) == "sqlite":
        _check_sqlite(source)
        _sqlite_copy(source, sqlite_path(url))
    else:
        _pg_tool(
            "pg_restore",
            url,
            ["--clean", "--if-exists", "--no-owner", "--single-transaction", str(source)],
            database_flag=True,
        )


def _check_sqlite(source: Path) -> None:
    try:
        with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as conn:
            names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.DatabaseError as exc:
        raise ConfigError(f"{source}: not a SQLite backup of crm-bridge ({exc})") from None
    if not names & {"alembic_version", "schema_version"}:  # schema_version: a store from before Alembic
        raise ConfigError(f"{source}: not a backup of a crm-bridge state store (no alembic_version table)")


def _sqlite_copy(source: Path, target: Path) -> None:
    """sqlite3's online backup: pages copied in one pass; writers wait on the busy timeout meanwhile."""
    try:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
        try:
            dst = sqlite3.connect(str(target), timeout=30)
            try:
                src.backup(dst)
            finally:
                dst.close()
        finally:
            src.close()
    except sqlite3.Error as exc:
        raise StateError(f"copying {source} to {target} failed ({type(exc).__name__}: {exc})") from exc


def _search_path(url: str) -> list[str]:
    """Schemas named by ``options=-csearch_path=…`` in the URL: the store lives there, not in public."""
    options = str(make_url(url).query.get("options", ""))
    for option in options.split():
        if option.startswith("-csearch_path="):
            return [name.strip() for name in option.split("=", 1)[1].split(",") if name.strip()]
    return []


def libpq(url: str) -> tuple[str, dict[str, str]]:
    """The libpq connection URI (no password) and the environment carrying the password."""
    parsed: URL = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _pg_tool(tool: str, url: str, args: list[str], *, database_flag: bool = False) -> None:
    exe = shutil.which(tool)
    if exe is None:
        raise StateError(f"{tool} is not installed (Debian/Ubuntu: apt-get install postgresql-client)")
    uri, env = libpq(url)
    command = [exe, *(["--dbname", uri] if database_flag else [uri]), *args]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        raise StateError(f"{tool} failed: {lines[-1] if lines else f'exit status {done.returncode}'}")
