"""``crm-bridge report``: department and partner KPIs, plan vs actual, funnel conversion and the
leaderboard for a period, as tables on the terminal, a tidy CSV for BI tools or a self-contained HTML page."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from crm_bridge.cli.output import CliContext
from crm_bridge.security.files import write_private
from crm_bridge.services.report_data import (
    ReportData,
    active_rows,
    build_report,
    default_period,
    parse_period,
)


def _n(value: object) -> str:
    return "-" if value is None else f"{value:,.0f}".replace(",", " ")


def _p(value: object) -> str:
    return "-" if value is None else f"{value:.1f} %"


def render_tables(data: ReportData, console: Console, limit: int = 20) -> None:
    """The report as rich tables (the ``table`` format)."""
    d = data.department
    dept = Table(title=f"Department KPIs, {data.period.key}", title_justify="left")
    dept.add_column("KPI")
    dept.add_column("value", justify="right")
    dept.add_column("plan", justify="right")
    dept.add_column("%", justify="right")
    goals = {g.target: g for g in data.department_goals}
    for key, label, value in (
        ("", "partners (active / new)", f"{d.partners} ({d.active_partners} / {d.new_partners})"),
        ("leads", "partner leads", str(d.leads)),
        ("qualified_leads", "qualified leads", str(d.qualified)),
        ("won_deals", "won deals", str(d.won)),
        ("conversion", "lead → won conversion", _p(d.conversion)),
        ("repeat_share", "repeat share", _p(d.repeat_share)),
        ("revenue", f"revenue, {data.currency}", _n(d.revenue)),
    ):
        g = goals.get(key)
        dept.add_row(label, value, _n(g.plan) if g else "", _p(g.fulfilment) if g else "")
    console.print(dept)
    funnel = Table(title="Lead funnel conversion", title_justify="left")
    for header in ("stage", "reached", "% of first", "% of previous"):
        funnel.add_column(header, justify="left" if header == "stage" else "right")
    for s in data.funnel:
        funnel.add_row(
            data.stage_names.get(s.stage, s.stage), str(s.reached), _p(s.of_first), _p(s.of_previous)
        )
    console.print(funnel)
    rows = active_rows(data)
    partners = Table(title=f"Partners ({min(limit, len(rows))} of {len(rows)} active)", title_justify="left")
    for header in ("partner", "tier", "leads", "won", "conversion", "revenue", "plan %"):
        partners.add_column(header, justify="left" if header in ("partner", "tier") else "right")
    for r in rows[:limit]:
        plan = next((g for g in r.goals if g.target == "revenue"), None)
        partners.add_row(
            escape(r.partner.name),  # CRM text: never markup
            data.tier_names.get(r.tier or "", r.tier or "-"),
            str(r.kpis.leads),
            str(r.kpis.won),
            _p(r.kpis.conversion),
            _n(r.kpis.revenue),
            _p(plan.fulfilment) if plan else "-",
        )
    console.print(partners)
    board = Table(title="Leaderboard", title_justify="left")
    for header in ("#", "partner", "points", "won", "revenue"):
        board.add_column(header, justify="left" if header == "partner" else "right")
    for lb in data.leaderboard[:10]:
        board.add_row(str(lb.rank), escape(lb.name), str(lb.points), str(lb.won_deals), _n(lb.revenue))
    console.print(board)


def write_report(data: ReportData, fmt: str, out: Path) -> Path:
    """Write ``data`` as ``csv`` or ``html`` to ``out`` (a file, or a directory for the default name)."""
    if out.is_dir() or not out.suffix:
        out = out / f"partner-report-{data.period.key}.{fmt}"
    if fmt == "csv":
        from crm_bridge.services.report_csv import report_csv

        write_private(out, report_csv(data))
    else:
        from crm_bridge.services.report_html import render_html

        write_private(out, render_html(data))
    return out


@click.command("report")
@click.option(
    "--period",
    "period_key",
    default=None,
    help="2026-11 (month), 2026-Q4 (quarter) or 2026 (year); default: reports.period in the config.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["table", "csv", "html"]), default="table", show_default=True
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="File or directory for csv/html (default: reports.out_dir in the config).",
)
@click.pass_obj
def command(obj: CliContext, period_key: str | None, fmt: str, out: Path | None) -> None:
    """Report KPIs for a period from crm-bridge's copy of the CRM (run `crm-bridge sync` first): the
    department's KPIs and plan vs actual, every active partner's KPIs and plan, the lead funnel's
    stage-by-stage conversion and the leaderboard."""
    from crm_bridge.services.provision import desired_layout_for

    settings = obj.settings()
    now = datetime.now(UTC)
    if period_key:
        period = parse_period(period_key, settings.timezone)
    else:
        period = default_period(now, settings.timezone, settings.reports.period)
    app = obj.app()
    data = build_report(app.store, app.portal, settings, desired_layout_for(settings), period, now=now)
    if data.empty:
        obj.console.print("No partners or leads in the state store yet: run `crm-bridge sync` first.")
    if fmt == "table":
        render_tables(data, obj.console)
        return
    target = write_report(data, fmt, out or Path(settings.reports.out_dir))
    obj.console.print(f"Report for {period.key} written to {target}")
