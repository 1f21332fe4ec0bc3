"""``crm-bridge plans``: individual cooperation plans — ``import`` a CSV of targets per partner and
period, ``show`` plan vs actual for a period."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from crm_bridge.cli.output import CliContext


def _service(obj: CliContext):  # type: ignore[no-untyped-def]
    from crm_bridge.daemon.engine import Engine
    from crm_bridge.services.partners.plans import PlanService

    app = obj.app()
    engine = Engine(app)
    return app, PlanService(engine.partner_lifecycle(), lead_stages=tuple(engine.lead_stages))


@click.group("plans")
def command() -> None:
    """Individual cooperation plans per partner and period: import, plan vs actual."""


@command.command("import")
@click.argument("csv_file", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
def import_plans(obj: CliContext, csv_file: Path) -> None:
    """Import plans from CSV_FILE: columns partner_id, period (2026-Q4, 2026-11 or 2026) and any of
    revenue, leads, qualified_leads, won_deals, conversion, certified_people. A partner and period
    already planned is replaced; a file with a bad row imports nothing."""
    _, service = _service(obj)
    done = service.import_csv(csv_file)
    obj.console.print(
        f"{done.plans} plan(s) of {done.partners} partner(s) imported for {', '.join(done.periods)}."
    )


@command.command("show")
@click.option(
    "--period", "period_key", default=None, help="2026-Q4, 2026-11 or 2026 (default: the current quarter)."
)
@click.pass_obj
def show(obj: CliContext, period_key: str | None) -> None:
    """Plan vs actual of every partner with a plan for the period, and how much of the period is gone."""
    from crm_bridge.domain.period import Period
    from crm_bridge.services.partners.plans import target_name
    from crm_bridge.services.report.data import parse_period

    app, service = _service(obj)
    settings = obj.settings()
    locale = str(settings.locale)
    now = app.clock()
    if period_key:
        period = parse_period(period_key, settings.timezone)
    else:
        from zoneinfo import ZoneInfo

        period = Period.containing(now, settings.goals.by_tier.period, ZoneInfo(settings.timezone))
    statuses = service.statuses(period, now)
    if not statuses:
        obj.console.print(
            f"No plans for {period.key} (crm-bridge plans import FILE, or goals: in the config)."
        )
        return
    gone = statuses[0][1].elapsed
    ru = locale == "ru"
    title = (
        f"План и факт {period.key}: прошло {gone} % периода"
        if ru
        else (f"Plan vs actual {period.key}: {gone} % of the period gone")
    )
    table = Table(title=title, title_justify="left")
    heads = (
        ("партнёр", "цель", "план", "факт", "вып. %", "план в целом %")
        if ru
        else ("partner", "target", "plan", "actual", "done %", "plan done %")
    )
    for i, name in enumerate(heads):
        table.add_column(name, justify="left" if i < 2 else "right", overflow="fold")
    for partner, status in statuses:
        for i, row in enumerate(status.rows):
            done = "—" if row.fulfilment is None else f"{row.fulfilment}"
            style = "green" if row.met else ("red" if status.lag >= service.rule.lag else "")
            table.add_row(
                escape(partner.name) if i == 0 else "",
                target_name(row.target, locale),
                f"{row.plan.normalize():f}",
                f"{row.actual.normalize():f}",
                f"[{style}]{done}[/{style}]" if style else done,
                f"{status.fulfilment}" if i == 0 else "",
            )
    obj.console.print(table)
