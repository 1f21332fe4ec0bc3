"""``crm-bridge report``: department and partner KPIs, plan vs actual, funnel conversion and the
leaderboard for a period, as tables on the terminal, a tidy CSV for BI tools or a self-contained HTML page."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from crm_bridge.cli.output import CliContext
from crm_bridge.cli.tables import compact_table
from crm_bridge.security.files import write_private
from crm_bridge.services.report.data import (
    ReportData,
    active_rows,
    build_report,
    default_period,
    move_text,
    parse_period,
)
from crm_bridge.services.report.text import day, in_unit, labels, money_unit, number


def render_tables(data: ReportData, console: Console, limit: int = 20) -> None:
    """The report as rich tables (the ``table`` format), in the config's locale, money in readable
    units, with the notes on what the tier column and won/conversion mean."""
    t = labels(data.locale)
    loc = data.locale
    d = data.department
    unit, unit_name = money_unit(
        max([d.revenue, *(g.plan for g in data.department_goals)]), data.currency, loc
    )
    dept = Table(title=f"{t['dept']}, {data.period.key}", title_justify="left")
    dept.add_column(t["kpi"])
    with_plan = bool(data.department_goals)
    for header in (t["value"], t["plan"], t["pct"]) if with_plan else (t["value"],):
        dept.add_column(header, justify="right")
    goals = {g.target: g for g in data.department_goals}
    for key, value in (
        ("", f"{d.partners} ({d.active_partners} / {d.new_partners})"),
        ("leads", str(d.leads)),
        ("qualified_leads", str(d.qualified)),
        ("won_deals", str(d.won)),
        ("conversion", _p(d.conversion, loc)),
        ("repeat_share", _p(d.repeat_share, loc)),
        ("revenue", in_unit(d.revenue, unit, loc)),
    ):
        g = goals.get(key)
        label = t["partners_kpi"] if not key else t[key] + (f", {unit_name}" if key == "revenue" else "")
        plan = "" if g is None else in_unit(g.plan, unit, loc) if key == "revenue" else number(g.plan, loc)
        dept.add_row(label, value, *((plan, _p(g.fulfilment, loc) if g else "") if with_plan else ()))
    console.print(dept)
    funnel = Table(title=t["funnel"], title_justify="left")
    funnel.add_column(t["stage"])
    for header in (t["reached"], t["of_first"], t["of_previous"]):
        funnel.add_column(header, justify="right")
    for st in data.funnel:
        funnel.add_row(
            data.stage_names.get(st.stage, st.stage),
            str(st.reached),
            _p(st.of_first, loc),
            _p(st.of_previous, loc),
        )
    console.print(funnel)
    rows = active_rows(data)
    shown = t["partners_shown"].format(shown=min(limit, len(rows)), total=len(rows))
    largest = max([r.kpis.revenue for r in rows], default=Decimal(0))
    p_unit, p_unit_name = money_unit(largest, data.currency, loc)
    cells = [
        (
            escape(r.partner.name),  # CRM text: never markup
            data.tier_names.get(r.tier or "", r.tier or "-"),
            str(r.kpis.leads),
            str(r.kpis.won),
            _p(r.kpis.conversion, loc),
            in_unit(r.kpis.revenue, p_unit, loc),
            _p(next((g.fulfilment for g in r.goals if g.target == "revenue"), None), loc),
        )
        for r in rows[:limit]
    ]
    headers = (
        t["partner"],
        data.tier_words[0],
        t["leads_short"],
        t["won_short"],
        t["conversion_short"],
        t["revenue"],
        t["plan_pct"],
    )
    partners = compact_table(f"{shown}; {t['revenue']}, {p_unit_name}", headers, cells, left=2)
    console.print(partners)
    console.print(f"[dim]{data.tier_words[1]}[/dim]", soft_wrap=False)
    console.print(f"[dim]{t['note_won']}[/dim]", soft_wrap=False)
    if data.tier_moves:
        moves = Table(title=t["tier_changes"], title_justify="left", box=box.SIMPLE_HEAD)
        moves.add_column(t["when"])
        moves.add_column(t["partner"], max_width=30)
        moves.add_column(t["change"])
        for m in data.tier_moves:
            moves.add_row(
                day(m.at.astimezone(data.last_day.tzinfo), loc), escape(m.partner_name), move_text(data, [m])
            )
        console.print(moves)
    else:
        console.print(f"{t['tier_changes']}: {t['no_tier_changes']}")
    board = Table(title=t["board"], title_justify="left")
    board.add_column(t["rank"], justify="right")
    board.add_column(t["partner"], overflow="fold")
    b_unit, b_unit_name = money_unit(
        max([b.revenue for b in data.leaderboard], default=0), data.currency, loc
    )
    for header in (t["points"], t["won_deals"], f"{t['revenue']}, {b_unit_name}"):
        board.add_column(header, justify="right")
    for lb in data.leaderboard[:10]:
        board.add_row(
            str(lb.rank), escape(lb.name), str(lb.points), str(lb.won_deals), in_unit(lb.revenue, b_unit, loc)
        )
    console.print(board)


def _p(value: Decimal | None, locale: str) -> str:
    return "-" if value is None else f"{number(value, locale, 1)} %"


def write_report(data: ReportData, fmt: str, out: Path) -> Path:
    """Write ``data`` as ``csv`` or ``html`` to ``out`` (a file, or a directory for the default name)."""
    if out.is_dir() or not out.suffix:
        out = out / f"partner-report-{data.period.key}.{fmt}"
    if fmt == "csv":
        from crm_bridge.services.report.csv_table import report_csv

        write_private(out, report_csv(data))
    else:
        from crm_bridge.services.report.html_page import render_html

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
    from crm_bridge.config.funnels import desired_layout_for

    settings = obj.settings()
    now = datetime.now(UTC)
    if period_key:
        period = parse_period(period_key, settings.timezone)
    else:
        period = default_period(now, settings.timezone, settings.reports.period)
    app = obj.app()
    data = build_report(app.store, app.portal, settings, desired_layout_for(settings), period, now=now)
    if data.empty:
        obj.console.print(labels(data.locale)["no_data"])
    if fmt == "table":
        render_tables(data, obj.console)
        _feedback_tables(obj, app, period)
        return
    target = write_report(data, fmt, out or Path(settings.reports.out_dir))
    said = labels(data.locale)["report_written"].format(period=period.key, path=target)
    obj.console.print(escape(said))


def _feedback_tables(obj: CliContext, app: Any, period: Any) -> None:
    """The partner bot's survey answers of the period per curator and per tier (nothing when none)."""

    from crm_bridge.services.bot.feedback import summarize
    from crm_bridge.store.bot import BotRepository

    answers = BotRepository(app.store.engine, app.portal).feedback()
    partners = {p.crm_id: p for p in app.store.partners(app.portal)}
    ru = obj.settings().locale == "ru"
    for by, title in (("curator", "куратор" if ru else "curator"), ("tier", "уровень" if ru else "tier")):
        rows = summarize(answers, partners, by, start=period.start, end=period.end)
        if not rows:
            return
        heading = "Отзывы партнёров (опрос в боте)" if ru else "Partner feedback (bot survey)"
        table = Table(title=f"{heading}: {title}", title_justify="left")
        for column in (title, "ответов" if ru else "answers", "средняя" if ru else "average", "NPS"):
            table.add_column(column)
        for row in rows:
            table.add_row(row.group, str(row.answers), str(row.average), str(row.nps))
        obj.console.print(table)
