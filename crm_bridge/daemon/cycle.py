"""One cycle of every enabled job (``crm-bridge sync --once``), each contained like in the daemon: a
failing job is reported and the others still run; the caller exits 1 when any failed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from crm_bridge.bootstrap import App
from crm_bridge.daemon.engine import Engine
from crm_bridge.daemon.jobs import JobRunner
from crm_bridge.redaction import redact
from crm_bridge.services.distribute.escalate import EscalationResult
from crm_bridge.services.distribute.result import AssignmentsRefused, DistributeResult
from crm_bridge.services.metrics import BridgeMetrics
from crm_bridge.services.notify.notifier import FlushResult, Notifier, notifier_from_settings
from crm_bridge.services.partners.cycle import LifecycleRun
from crm_bridge.services.sync.pull import SyncProgress, SyncResult
from crm_bridge.services.tiers.result import TierRun
from crm_bridge.texts import words


def describe(result: object, locale: str = "en") -> str:
    """One line about what a job did (or, for an ``AssignmentsRefused``, what it refused), in ``locale``."""
    t = words("console", locale)
    if isinstance(result, AssignmentsRefused):
        leads = "; ".join(
            t["did_refused_lead"].format(
                lead=r.lead_crm_id, manager=r.manager_key, user=r.manager_user_id, error=r.error
            )
            for r in result.result.failed[:5]
        )
        return t["did_refused_failed"].format(count=len(result.result.failed), leads=leads)
    if isinstance(result, SyncResult):
        parts = ", ".join(
            t["did_sync_part"].format(
                entity=t.get(f"pulled_{e.entity.value}", e.entity.value), count=e.records
            )
            for e in result.entities
        )
        return t["did_sync"].format(parts=parts)
    if isinstance(result, DistributeResult):
        per = ", ".join(f"{k}: {n}" for k, n in sorted(result.per_manager().items()))
        text = t["did_assigned"].format(count=len(result.assigned))
        text += t["did_per_manager"].format(per=per) if per else ""
        if result.unassigned:
            text += t["did_unassigned"].format(count=len(result.unassigned))
        return text + (t["did_refused"].format(count=len(result.failed)) if result.failed else "")
    if isinstance(result, EscalationResult):
        return t["did_escalated"].format(count=len(result.escalated))
    if isinstance(result, TierRun):
        moves = "; ".join(f"{c.partner_id}: {c.old or '-'} → {c.new}" for c in result.changes)
        text = t["did_tiers"].format(evaluated=result.evaluated, changes=len(result.changes))
        text += f" ({moves})" if moves else ""
        if result.awaiting_approval:
            text += t["did_awaiting"].format(count=len(result.awaiting_approval))
        return text
    if isinstance(result, LifecycleRun):
        return result.describe(locale)
    if isinstance(result, FlushResult):
        text = t["did_sent"].format(count=result.sent)
        text += t["did_retrying"].format(count=result.retrying) if result.retrying else ""
        text += t["did_given_up"].format(count=result.failed) if result.failed else ""
        for channel, error in sorted(result.undeliverable.items()):
            text += t["did_undeliverable"].format(channel=channel, error=error)
        return text
    if isinstance(result, list) and all(isinstance(p, Path) for p in result):
        paths = ", ".join(str(p) for p in result)
        return t["did_report"].format(paths=paths) if result else t["did_no_report"]
    return "" if result is None else str(result)


def run_cycle(
    app: App, console: Console, *, progress: SyncProgress | None = None, engine: Engine | None = None
) -> list[str]:
    """Run each enabled job once; print a table (in the config's locale); return the names of the jobs
    that failed."""
    engine = engine or Engine(app, notifier=make_notifier(app), progress=progress)
    locale = str(app.settings.locale)
    t = words("console", locale)
    schedules = app.settings.schedule.jobs()
    table = Table(title=t["cycle_title"], title_justify="left")
    for column in ("cycle_job", "cycle_outcome", "cycle_what"):
        table.add_column(t[column], overflow="fold")
    failed: list[str] = []
    for name, job in engine.jobs().items():
        if not schedules[name].enabled or name == "bot_updates":  # long polling is the daemon's
            continue
        box: dict[str, object] = {}

        def run(job: Callable[[], object] = job, box: dict[str, object] = box) -> None:
            try:
                box["result"] = job()
            except AssignmentsRefused as exc:  # shown in the locale; the runner logs and counts it
                box["refused"] = exc
                raise

        runner = JobRunner(name, run, redact=redact)
        label = t.get(f"job_{name}", name)
        if runner():
            result = box.get("result")
            warning = isinstance(result, FlushResult) and bool(result.undeliverable)
            outcome = (
                f"[yellow]{t['outcome_warning']}[/yellow]" if warning else f"[green]{t['outcome_ok']}[/green]"
            )
            table.add_row(label, outcome, escape(describe(result, locale)))
        else:
            failed.append(name)
            refused = box.get("refused")
            what = describe(refused, locale) if refused is not None else runner.status.last_error or ""
            table.add_row(label, f"[red]{t['outcome_failed']}[/red]", escape(redact(what)))
    console.print(table)
    return failed


def make_notifier(app: App, metrics: BridgeMetrics | None = None) -> Notifier:
    """The outbox notifier (``crm_bridge.services.notify.notifier``) wired from the config."""
    observe = metrics.notification if metrics is not None else None
    on_request = metrics.http_observer if metrics is not None else None
    return notifier_from_settings(
        app.settings,
        app.store,
        app.portal,
        app.adapter,
        clock=app.clock,
        observe=observe,
        on_request=on_request,
    )
