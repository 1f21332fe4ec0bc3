"""``crm-bridge sync``: pull partners, partner leads and deals changed since the last run into the
state store (a rich progress bar on a terminal); ``--once`` runs one cycle of every daemon job."""

from __future__ import annotations

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from crm_bridge.cli.output import CliContext, is_interactive
from crm_bridge.ports import Entity
from crm_bridge.services.sync.pull import SyncResult
from crm_bridge.texts import words


class RichSyncProgress:
    """A progress bar per entity: records stored of the CRM's total, and records per second."""

    def __init__(self, console: Console, locale: str = "en") -> None:
        self._t = words("console", locale)
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("[progress.data.speed]{task.fields[rate]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._tasks: dict[Entity, TaskID] = {}
        self._live = False

    def begin(self, entity: Entity, total: int | None, backfill: bool) -> None:
        if not self._live:
            self._progress.start()
            self._live = True
        t = self._t
        mode = t["sync_backfill"] if backfill else t["sync_title"].lower()
        label = t["sync_progress"].format(mode=mode, entity=t.get(f"entity_{entity.value}", entity.value))
        self._tasks[entity] = self._progress.add_task(label, total=total, rate="")

    def advance(self, entity: Entity, records: int) -> None:
        task_id = self._tasks[entity]
        self._progress.advance(task_id, records)
        speed = self._progress.tasks[task_id].speed
        rate = self._t["sync_rate"].format(rate=f"{speed:,.0f}".replace(",", " ")) if speed else ""
        self._progress.update(task_id, rate=rate)

    def end(self, entity: Entity) -> None:
        task_id = self._tasks[entity]
        task = self._progress.tasks[task_id]
        self._progress.update(task_id, total=task.completed)
        if all(t.finished for t in self._progress.tasks):
            self._progress.stop()
            self._live = False


def result_table(result: SyncResult, locale: str = "en") -> Table:
    t = words("console", locale)
    table = Table(title=t["sync_title"], title_justify="left")
    for column in ("entity", "records", "pages", "mode", "cursor"):
        table.add_column(t[f"sync_{column}"])
    for e in result.entities:
        cursor = f"{e.cursor.modified_at:%Y-%m-%d %H:%M:%S}" if e.cursor else "-"
        mode = t["sync_backfill"] if e.backfill else t["sync_incremental"]
        table.add_row(
            t.get(f"entity_{e.entity.value}", e.entity.value),
            str(e.records),
            str(e.pages),
            mode + (t["sync_stopped"] if e.stopped else ""),
            cursor,
        )
    return table


@click.command("sync")
@click.option(
    "--once",
    is_flag=True,
    help="Run one cycle of every enabled job (sync, distribute, escalate, tiers, notify, report); exit.",
)
@click.pass_obj
def command(obj: CliContext, once: bool) -> None:
    """Pull records changed since the last run from the CRM into the state store (the first run
    backfills everything). With --once: one cycle of every daemon job, for cron users and tests."""
    from crm_bridge.daemon.cycle import run_cycle

    app = obj.app()
    locale = str(app.settings.locale)
    progress = RichSyncProgress(obj.console, locale) if is_interactive() else None
    if once:
        failed = run_cycle(app, obj.console, progress=progress)
        if failed:
            click.echo(
                f"error: job(s) failed: {', '.join(failed)} (see the table); rerun `crm-bridge sync --once` "
                "when the cause is fixed: finished work is kept and not done twice",
                err=True,
            )
            raise click.exceptions.Exit(1)
        return
    from crm_bridge.services.sync.pull import sync

    result = sync(app.adapter, app.store, app.portal, now=app.clock(), progress=progress)
    obj.console.print(result_table(result, locale))
