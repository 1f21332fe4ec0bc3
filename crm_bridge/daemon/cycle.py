"""One cycle of every enabled job (``crm-bridge sync --once``), each contained like in the daemon: a
failing job is reported and the others still run; the caller exits 1 when any failed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from crm_bridge.bootstrap import App
from crm_bridge.daemon.engine import Engine
from crm_bridge.daemon.jobs import JobRunner
from crm_bridge.redaction import redact
from crm_bridge.services.distribute import DistributeResult
from crm_bridge.services.distribute_escalation import EscalationResult
from crm_bridge.services.metrics import BridgeMetrics
from crm_bridge.services.notify import FlushResult, Notifier, notifier_from_settings
from crm_bridge.services.partners.cycle import LifecycleRun
from crm_bridge.services.sync import SyncProgress, SyncResult
from crm_bridge.services.tiers import TierRun


def describe(result: object) -> str:
    """One line about what a job did."""
    if isinstance(result, SyncResult):
        return ", ".join(f"{e.records} {e.entity.value}(s)" for e in result.entities) + " pulled"
    if isinstance(result, DistributeResult):
        per = ", ".join(f"{k}: {n}" for k, n in sorted(result.per_manager().items()))
        text = f"{len(result.assigned)} lead(s) assigned" + (f" ({per})" if per else "")
        if result.unassigned:
            text += f", {len(result.unassigned)} without an eligible manager"
        return text + (f", {len(result.failed)} refused by the CRM" if result.failed else "")
    if isinstance(result, EscalationResult):
        return f"{len(result.escalated)} overdue lead(s) escalated"
    if isinstance(result, TierRun):
        moves = "; ".join(f"{c.partner_id}: {c.old or '-'} → {c.new}" for c in result.changes)
        text = f"{result.evaluated} partner(s) evaluated, {len(result.changes)} tier change(s)"
        text += f" ({moves})" if moves else ""
        if result.awaiting_approval:
            text += f", {len(result.awaiting_approval)} downgrade(s) await approval"
        return text
    if isinstance(result, LifecycleRun):
        return result.describe()
    if isinstance(result, FlushResult):
        text = f"{result.sent} notification(s) sent"
        text += f", {result.retrying} to retry" if result.retrying else ""
        text += f", {result.failed} given up" if result.failed else ""
        for channel, error in sorted(result.undeliverable.items()):
            text += f"; {channel} undeliverable: {error}"
        return text
    if isinstance(result, list) and all(isinstance(p, Path) for p in result):
        return "report written to " + ", ".join(str(p) for p in result) if result else "no report file format"
    return "" if result is None else str(result)


def run_cycle(
    app: App, console: Console, *, progress: SyncProgress | None = None, engine: Engine | None = None
) -> list[str]:
    """Run each enabled job once; print a table; return the names of the jobs that failed."""
    engine = engine or Engine(app, notifier=make_notifier(app), progress=progress)
    schedules = app.settings.schedule.jobs()
    table = Table(title="One cycle of the jobs", title_justify="left")
    for column in ("job", "outcome", "what happened"):
        table.add_column(column, overflow="fold")
    failed: list[str] = []
    for name, job in engine.jobs().items():
        if not schedules[name].enabled:
            continue
        box: dict[str, object] = {}

        def run(job: Callable[[], object] = job, box: dict[str, object] = box) -> None:
            box["result"] = job()

        runner = JobRunner(name, run, redact=redact)
        if runner():
            result = box.get("result")
            warning = isinstance(result, FlushResult) and bool(result.undeliverable)
            outcome = "[yellow]warning[/yellow]" if warning else "[green]ok[/green]"
            table.add_row(name, outcome, describe(result))
        else:
            failed.append(name)
            table.add_row(name, "[red]failed[/red]", runner.status.last_error or "")
    console.print(table)
    return failed


def make_notifier(app: App, metrics: BridgeMetrics | None = None) -> Notifier:
    """The outbox notifier (``crm_bridge.services.notify``) wired from the config."""
    observe = metrics.notification if metrics is not None else None
    on_request = metrics.on_request if metrics is not None else None
    return notifier_from_settings(
        app.settings,
        app.store,
        app.portal,
        app.adapter,
        clock=app.clock,
        observe=observe,
        on_request=on_request,
    )
