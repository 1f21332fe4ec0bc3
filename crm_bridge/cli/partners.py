"""``crm-bridge partners``: the partner lifecycle by hand — ``score`` (the 6.1 selection scorecard of the
prospects), ``onboard`` (partners whose agreement is signed), ``run`` (the daemon's lifecycle job once).
Onboarding also runs by itself in the daemon's ``lifecycle`` job unless ``onboarding.automatic: false``."""

from __future__ import annotations

import click
from rich.markup import escape
from rich.table import Table

from crm_bridge.cli.output import CliContext
from crm_bridge.domain.model import QUALIFICATION_CRITERIA
from crm_bridge.domain.scorecard import criterion_name


def _engine(obj: CliContext):  # type: ignore[no-untyped-def]
    from crm_bridge.daemon.cycle import make_notifier
    from crm_bridge.daemon.engine import Engine

    app = obj.app()
    return app, Engine(app, notifier=make_notifier(app))


@click.group("partners")
def command() -> None:
    """Partner lifecycle: selection scorecard, onboarding, the lifecycle job."""


_ACTIONS = {
    "moved": ("[green]card moved[/green]", "[green]карточка перемещена[/green]"),
    "would move": ("would move (dry run)", "будет перемещена (проба)"),
    "waiting": ("[yellow]not fully scored[/yellow]", "[yellow]оценены не все критерии[/yellow]"),
    "decided": ("decided earlier", "решено ранее"),
    "error": ("[red]error[/red]", "[red]ошибка[/red]"),
}


@command.command("score")
@click.option("--dry-run", is_flag=True, help="Show the verdicts; write nothing to the CRM.")
@click.pass_obj
def score(obj: CliContext, dry_run: bool) -> None:
    """The selection scorecard of every prospect in the acquisition funnel's first stages: criteria,
    weighted score, verdict; passed cards move to negotiation, failed ones to "not a fit"."""
    from crm_bridge.services.partners.scorecard import ScorecardService

    app, engine = _engine(obj)
    settings = obj.settings()
    locale = str(settings.locale)
    ru = locale == "ru"
    run = ScorecardService(engine.partner_lifecycle()).run(app.clock(), dry_run=dry_run)
    sel = settings.selection
    weights = sel.full_weights()
    order = ", ".join(
        f"{criterion_name(c, locale)} ×{weights[c].normalize():f}" for c in QUALIFICATION_CRITERIA
    )
    title = "Отбор партнёров (6.1)" if ru else "Partner selection scorecard (6.1)"
    mark = f"проходной балл {sel.pass_mark} %" if ru else f"pass mark {sel.pass_mark} %"
    table = Table(title=f"{title}, {mark}", title_justify="left", caption=order, caption_justify="left")
    heads = (
        ("партнёр", "оценки", "%", "решение", "действие")
        if ru
        else ("partner", "scores", "%", "verdict", "action")
    )
    for i, head in enumerate(heads):
        table.add_column(head, justify="right" if i == 2 else "left", overflow="fold")
    for row in run.rows:
        scores = "·".join(str(row.partner.qualification.get(c, "–")) for c in QUALIFICATION_CRITERIA)
        result = row.result
        verdict = "—" if result is None else result.verdict.value
        action = _ACTIONS.get(row.action, (row.action, row.action))[1 if ru else 0]
        why = escape(row.error or (result.reason if result else ""))
        table.add_row(
            escape(row.partner.name),
            scores,
            "—" if result is None or result.score is None else f"{result.score}",
            f"{verdict}\n[dim]{why}[/dim]" if why else verdict,
            action,
        )
    if not run.rows:
        obj.console.print(
            "No prospects in the acquisition funnel's scoring stages (selection.score_stages); "
            "run sync first."
        )
        return
    obj.console.print(table)


@command.command("onboard")
@click.option("--dry-run", is_flag=True, help="Show who would be onboarded and by whom; write nothing.")
@click.pass_obj
def onboard(obj: CliContext, dry_run: bool) -> None:
    """Onboard every partner whose agreement is signed: curator, partner since, first tier, the
    curator's checklist as CRM tasks, the card moved to onboarding. (The daemon does it by itself
    while onboarding.automatic is true.)"""
    from crm_bridge.services.partners.onboarding import OnboardingService

    app, engine = _engine(obj)
    run = OnboardingService(engine.partner_lifecycle()).run(app.clock(), dry_run=dry_run)
    if not run.rows:
        obj.console.print(
            "Nobody to onboard: no acquisition card at onboarding.trigger_stages (run sync first)."
        )
        return
    curators = {c.key: c.name for c in obj.settings().curators}
    ru = obj.settings().locale == "ru"
    table = Table(title="Адаптация новых партнёров" if ru else "Onboarding", title_justify="left")
    heads = (
        ("партнёр", "куратор", "как выбран", "уровень", "задачи", "итог")
        if ru
        else ("partner", "curator", "how chosen", "tier", "tasks", "result")
    )
    for name in heads:
        table.add_column(name, overflow="fold")
    for row in run.rows:
        table.add_row(
            escape(row.partner.name),
            escape(curators.get(row.curator_key or "", row.curator_key or "—")),
            escape(row.why),
            row.tier,
            str(row.steps),
            row.action if not row.error else f"[red]{escape(row.error)}[/red]",
        )
    obj.console.print(table)


@command.command("run")
@click.pass_obj
def run_once(obj: CliContext) -> None:
    """The daemon's lifecycle job once: scorecard, onboarding, training push, plans, exclusive access."""
    app, engine = _engine(obj)
    result = engine.lifecycle()
    if engine.notifier is not None:
        engine.notify()
    obj.console.print(result.describe())
