"""``crm-bridge state backup`` / ``state restore``: a consistent copy of the state store (SQLite online
backup, ``pg_dump`` for PostgreSQL) and putting one back, refused while a daemon runs on the store."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from crm_bridge.cli.output import CliContext
from crm_bridge.errors import ConfigError


@click.group("state")
def command() -> None:
    """Back up and restore the state store (ids, cursors, tier history, outbox, audit log)."""


@command.command("backup")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("backups"),
    show_default=True,
    help="A folder (a timestamped file is written in it) or a file name.",
)
@click.pass_obj
def backup_command(obj: CliContext, out: Path) -> None:
    """Write a consistent backup of the state store while the daemon keeps running; prints its path."""
    from crm_bridge.store.backup import backup, backup_name

    url = obj.settings().state.url
    target = out / backup_name(url, datetime.now(UTC)) if out.is_dir() or not out.suffix else out
    written = backup(url, target)
    obj.console.print(f"state store backed up to {written} ({written.stat().st_size:,} bytes)")


@command.command("restore")
@click.argument("backup_file", type=click.Path(path_type=Path))
@click.option("--yes", is_flag=True, help="Replace the current state without asking.")
@click.pass_obj
def restore_command(obj: CliContext, backup_file: Path, yes: bool) -> None:
    """Replace the state store with BACKUP_FILE. Stop every daemon first: refused while one runs."""
    from crm_bridge.daemon.replica import SqliteDaemonGuard
    from crm_bridge.store.backup import backend, restore, sqlite_path

    settings = obj.settings()
    url = settings.state.url
    if not yes and not click.confirm(
        f"Replace the state in {settings.state.masked_url()} with {backup_file}?"
    ):
        raise ConfigError("restore declined: nothing changed")
    if backend(url) == "sqlite":
        guard = SqliteDaemonGuard(sqlite_path(url).resolve())
        guard.acquire()  # a running daemon: ConfigError naming it; none: none starts meanwhile
        try:
            restore(url, backup_file)
        finally:
            guard.release()
    else:
        _refuse_while_replicas_run(obj)
        restore(url, backup_file)
    obj.console.print(f"state store restored from {backup_file}; start the daemon again")


def _refuse_while_replicas_run(obj: CliContext) -> None:
    from crm_bridge.cli.status import collect

    running = [r["id"] for r in collect(obj)["replicas"] if r["state"] == "running"]
    if running:
        raise ConfigError(
            f"state restore: daemon replica(s) still running on this store ({', '.join(running)}); "
            "stop them first (systemctl stop crm-bridge on each host)"
        )
