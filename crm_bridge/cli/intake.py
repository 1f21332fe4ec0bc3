"""``crm-bridge intake``: partner leads through the bridge — ``import FILE.csv`` and the partner API
keys of the HTTP endpoint (``keys create --partner ID`` prints the key once; ``keys list``, ``keys
revoke``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from crm_bridge.cli.output import CliContext, is_interactive
from crm_bridge.errors import UsageError
from crm_bridge.texts import words

if TYPE_CHECKING:
    from crm_bridge.bootstrap import App
    from crm_bridge.services.intake.keys import ApiKeys


@click.group("intake")
def command() -> None:
    """Partner leads arriving through crm-bridge: CSV import and HTTP API keys."""


@command.command("import")
@click.argument("csv_file", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
def import_(obj: CliContext, csv_file: Path) -> None:
    """Create a partner lead for every good row of CSV_FILE (UTF-8, comma or semicolon separated;
    columns partner_id, customer_name, email, phone, tax_id, amount, comment in any order).

    Bad rows go to FILE.rejects.csv next to it with their row number and reason; good rows go
    through. Running the import again never creates a lead twice. Exit status 1 when rows were
    rejected.

    Leads go in the CRM's largest batches without a lookup first; when the CRM's answer to a batch is
    lost (timeout, reset, 5xx), its leads are looked up by external id at once and the missing ones
    created, so the import finishes in one run ("answers lost, looked up and finished")."""
    from crm_bridge.daemon.cycle import make_notifier
    from crm_bridge.daemon.engine import Engine
    from crm_bridge.services.intake.csv_import import import_csv

    app = obj.app()
    engine = Engine(app, notifier=make_notifier(app))
    t = words("console", str(app.settings.locale))
    progress = (
        RichImportProgress(obj.console, t["import_progress"].format(file=csv_file.name))
        if is_interactive()
        else None
    )
    try:
        report = import_csv(csv_file, engine.intake_service(), now=app.clock(), progress=progress)
    finally:
        if progress is not None:
            progress.stop()
    table = Table(
        title=t["import_title"].format(file=escape(csv_file.name)), show_header=False, title_justify="left"
    )
    table.add_column(t["import_what"], style="bold")
    table.add_column(t["import_rows"], justify="right")
    table.add_row(t["import_read"], str(report.rows))
    table.add_row(t["import_created"], str(report.count("created")))
    table.add_row(t["import_existing"], str(report.count("existing")))
    table.add_row(t["import_conflicts"], str(report.conflicts))
    table.add_row(t["import_rejected"], str(len(report.rejects)))
    table.add_row(t["import_uncertain"], str(report.uncertain))
    if report.unresolved:
        table.add_row(t["import_unresolved"], str(report.unresolved))
    obj.console.print(table)
    if report.unresolved:
        obj.console.print(t["import_unresolved_hint"].format(count=report.unresolved))
    if report.rejects_file is not None:
        obj.console.print(t["import_rejects_file"].format(path=escape(str(report.rejects_file))))
        raise click.exceptions.Exit(1)


@command.command("drain")
@click.pass_obj
def drain(obj: CliContext) -> None:
    """Create the leads partners submitted through the API that are still queued, now, and exit.

    The daemon's intake writer does this continuously; use it when the daemon is stopped. Safe beside
    a running daemon (one writer at a time) and after a crash (uncertain leads are looked up first)."""
    from datetime import timedelta

    from crm_bridge.daemon.cycle import make_notifier
    from crm_bridge.daemon.engine import Engine

    app = obj.app()
    engine = Engine(app, notifier=make_notifier(app))
    service = engine.intake_service()
    with app.store.locks.lock(f"intake-writer:{app.portal}", timeout=60):
        report = service.drain(now=app.clock(), linger=timedelta(0))
    t = words("console", str(app.settings.locale))
    obj.console.print(
        t["drain_summary"].format(
            handled=report.handled, created=report.created, failed=report.failed, uncertain=report.uncertain
        )
    )
    if report.failed or report.unresolved:
        raise click.exceptions.Exit(1)


class RichImportProgress:
    """A progress bar on a terminal: rows handed to the CRM of the file's good rows (``label`` beside it)."""

    def __init__(self, console: Console, label: str) -> None:
        self._label = label
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        )
        self._task: TaskID | None = None

    def begin(self, total: int) -> None:
        self._progress.start()
        self._task = self._progress.add_task(self._label, total=total)

    def advance(self, rows: int) -> None:
        if self._task is not None:
            self._progress.advance(self._task, rows)

    def stop(self) -> None:
        self._progress.stop()


@command.group("keys")
def keys() -> None:
    """API keys partners use for POST /v1/leads (stored hashed)."""


def _keys(obj: CliContext) -> tuple[ApiKeys, App]:
    from crm_bridge.services.intake.keys import ApiKeys  # the state store: only when a verb runs

    app = obj.app()
    return ApiKeys(app.store.intake, app.portal), app


@keys.command("create")
@click.option("--partner", "partner_id", required=True, help="The partner company's CRM id.")
@click.option("--label", default="", help="A note for the key list (e.g. the partner's system).")
@click.pass_obj
def keys_create(obj: CliContext, partner_id: str, label: str) -> None:
    """Issue a key for a partner and print it once (it cannot be shown again)."""
    api_keys, app = _keys(obj)
    partner = app.store.records.partner(app.portal, partner_id)
    if partner is None:
        raise UsageError(
            f"--partner {partner_id}: no such partner in the state store (run `crm-bridge sync` first)"
        )
    issued = api_keys.create(partner_id, now=app.clock(), label=label)
    obj.console.print(f"API key for {escape(partner.name)} ({partner_id}), key id {issued.key_id}:")
    click.echo(issued.key)
    obj.console.print("Give it to the partner now: it is stored hashed and cannot be shown again.")


@keys.command("list")
@click.option("--partner", "partner_id", default=None, help="Only this partner's keys.")
@click.pass_obj
def keys_list(obj: CliContext, partner_id: str | None) -> None:
    """List keys (ids, partner, label, dates; never the secret)."""
    api_keys, _ = _keys(obj)
    table = Table(title="Partner API keys", title_justify="left")
    for column in ("key id", "partner", "label", "created", "last used", "revoked"):
        table.add_column(column)
    for rec in api_keys.list(partner_id):
        table.add_row(
            rec.key_id,
            rec.partner_id,
            rec.label,
            f"{rec.created_at:%Y-%m-%d %H:%M}",
            f"{rec.last_used_at:%Y-%m-%d %H:%M}" if rec.last_used_at else "-",
            f"{rec.revoked_at:%Y-%m-%d %H:%M}" if rec.revoked_at else "-",
        )
    obj.console.print(table)


@keys.command("revoke")
@click.argument("key_id")
@click.pass_obj
def keys_revoke(obj: CliContext, key_id: str) -> None:
    """Revoke a key by its id (see `keys list`); requests with it are refused from now on."""
    api_keys, app = _keys(obj)
    api_keys.revoke(key_id, now=app.clock())
    obj.console.print(f"Key {key_id} revoked.")
