"""``crm-bridge rewards``: partners' money statements for a period (commission, plan bonus,
over-performance, MDF) and the points leaderboard, as tables or CSV for accounting."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from crm_bridge.cli.output import CliContext
from crm_bridge.cli.tables import compact_table
from crm_bridge.domain.period import Period
from crm_bridge.domain.rewards import MdfClaim
from crm_bridge.errors import DataError, UsageError
from crm_bridge.security.files import write_private
from crm_bridge.services.report.data import default_period
from crm_bridge.services.report.text import in_unit, labels, money_unit, number, tier_words
from crm_bridge.services.rewards import RewardsResult, leaderboard_csv, rewards_for, statements_csv

MDF_COLUMNS = ("partner_id", "description", "requested", "approved", "reimbursed")


def read_mdf_claims(path: Path) -> dict[str, list[MdfClaim]]:
    """MDF claims from a CSV file (UTF-8, with or without BOM; comma or semicolon separated) with the
    columns partner_id, description, requested, approved, reimbursed. DataError names the row."""
    try:
        body = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--mdf: cannot read {path}: {exc}") from exc
    first = body.splitlines()[0] if body.strip() else ""
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.DictReader(io.StringIO(body), delimiter=delimiter)
    missing = [c for c in MDF_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise DataError(f"missing column(s) {', '.join(missing)}", where=f"{path.name} header")
    claims: dict[str, list[MdfClaim]] = {}
    for row_number, row in enumerate(reader, start=2):
        try:
            amounts = [
                Decimal((row[k] or "0").strip().replace(" ", "").replace(",", ".")) for k in MDF_COLUMNS[2:]
            ]
            claim = MdfClaim((row["description"] or "").strip(), *amounts)
        except ArithmeticError as exc:
            raise DataError("an amount is not a number", where=f"{path.name} row {row_number}") from exc
        except ValueError as exc:
            raise DataError(str(exc), where=f"{path.name} row {row_number}") from exc
        claims.setdefault((row["partner_id"] or "").strip(), []).append(claim)
    return claims


_KINDS = ("commission", "plan_bonus", "over_performance", "mdf")
WIDE = 110  # from this terminal width on, amounts are shown exactly (kopecks included)


def render_statements(
    result: RewardsResult,
    console: Console,
    locale: str = "en",
    *,
    now: datetime | None = None,
    timezone: str = "UTC",
) -> None:
    """One row per partner. Kinds nobody earned are left out; on a terminal narrower than ``WIDE``
    columns amounts are in a readable unit (``тыс. ₽``) so the table stays within 80 columns."""
    t = labels(locale)
    statements = sorted(result.statements, key=lambda s: (-s.total, result.names.get(s.partner_id, "")))
    kinds = [k for k in _KINDS if any(result.by_kind(s).get(k) for s in statements)]
    exact = console.width >= WIDE
    largest = max([s.revenue for s in statements] + [result.total()], default=Decimal(0))
    divisor, unit = (Decimal(1), result.currency) if exact else money_unit(largest, result.currency, locale)

    def money(value: Decimal | None) -> str:
        if value is None:
            return ""
        return number(value, locale, 2) if exact else in_unit(value, divisor, locale)

    title = t["statements"].format(period=result.period.key, unit=unit)
    headers = [
        t["partner"],
        tier_words(result.period.end, now or datetime.now(UTC), timezone, locale)[0],
        t["revenue"],
        t["plan"],
        *(t[k] for k in kinds),
        t["total"],
    ]
    rows: list[list[str]] = []
    for s in statements:
        by_kind = result.by_kind(s)
        plan = money(s.plan_revenue) + (" ✓" if s.plan_met else "") if s.plan_revenue is not None else "-"
        rows.append(
            [
                escape(result.names.get(s.partner_id, s.partner_id)),  # CRM text: never markup
                result.tier_names.get(s.tier or "", s.tier or "-"),
                money(s.revenue),
                plan,
                *(money(by_kind.get(k)) for k in kinds),
                money(s.total),
            ]
        )
    total = [t["total"], "", "", "", *("" for _ in kinds), money(result.total())]
    table = compact_table(title, headers, [*rows, total], left=2, name_width=14)
    console.print(table)
    if not exact:
        console.print(f"[dim]{t['breakdown']}[/dim]", soft_wrap=False)


def render_lines(result: RewardsResult, partner_id: str, console: Console, locale: str = "en") -> None:
    t = labels(locale)
    s = next((s for s in result.statements if s.partner_id == partner_id), None)
    if s is None:
        raise UsageError(f"--partner: no partner {partner_id} in the state store (run `crm-bridge sync`)")
    name = escape(result.names.get(partner_id, partner_id))  # CRM text: never markup
    tier = result.tier_names.get(s.tier or "", s.tier or "-")
    title = t["statement_of"].format(
        name=name, period=result.period.key, tier=tier, rules=s.rules_effective_from, currency=result.currency
    )
    table = Table(title=title, title_justify="left")
    table.add_column(t["line"])
    table.add_column(t["description"], overflow="fold")
    for header in (t["base"], t["rate"], t["amount"]):
        table.add_column(header, justify="right")
    for line in s.lines:
        rate = "" if line.rate is None else f"{line.rate.normalize():f}"
        base = "" if line.base is None else number(line.base, locale, 2)
        table.add_row(
            t.get(line.kind, line.kind),
            line.describe(locale, result.tier_names),
            base,
            rate,
            number(line.amount, locale, 2),
        )
    table.add_section()
    table.add_row(t["total"], "", "", "", number(s.total, locale, 2))
    console.print(table)
    if not s.lines:
        console.print(t["nothing_to_pay"].format(period=result.period.key))


def render_leaderboard(
    result: RewardsResult, console: Console, limit: int | None = None, locale: str = "en"
) -> None:
    t = labels(locale)
    rows = result.leaderboard[:limit] if limit else result.leaderboard
    divisor, unit = money_unit(max([r.revenue for r in rows], default=0), result.currency, locale)
    table = Table(title=f"{t['board']}, {result.period.key}", title_justify="left")
    table.add_column(t["rank"], justify="right")
    table.add_column(t["partner"], overflow="fold")
    for header in (t["points"], t["won_deals"], f"{t['revenue']}, {unit}"):
        table.add_column(header, justify="right")
    for r in rows:
        table.add_row(
            str(r.rank), escape(r.name), str(r.points), str(r.won_deals), in_unit(r.revenue, divisor, locale)
        )
    console.print(table)


def parse_period(key: str | None, timezone: str, now: datetime, default: str = "previous_month") -> Period:
    """``--period``, or the period ``crm-bridge report`` defaults to (``reports.period``)."""
    tz = ZoneInfo(timezone)
    if not key:
        return default_period(now, timezone, default)
    try:
        return Period.parse(key.strip(), tz)
    except ValueError as exc:
        raise UsageError(f"--period: {exc}") from exc


@click.command("rewards")
@click.option(
    "--period",
    "period_key",
    default=None,
    help="2026-Q4, 2026-11 or 2026; default: the report's (reports.period in the config).",
)
@click.option("--format", "fmt", type=click.Choice(["table", "csv"]), default="table", show_default=True)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write the CSV here."
)
@click.option("--partner", "partner_id", default=None, help="One partner's statement line by line (CRM id).")
@click.option(
    "--leaderboard", "board", is_flag=True, help="The points leaderboard instead of the statements."
)
@click.option(
    "--mdf",
    "mdf_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="MDF claims CSV: partner_id, description, requested, approved, reimbursed.",
)
@click.pass_obj
def command(
    obj: CliContext,
    period_key: str | None,
    fmt: str,
    out: Path | None,
    partner_id: str | None,
    board: bool,
    mdf_file: Path | None,
) -> None:
    """Compute each partner's reward statement for a period from crm-bridge's copy of the CRM (run
    `crm-bridge sync` first), with the reward rules in force at the period's start, and the points
    leaderboard. CSV: one row per statement line plus a total row per partner."""
    settings = obj.settings()
    period = parse_period(period_key, settings.timezone, datetime.now(UTC), settings.reports.period)
    claims = read_mdf_claims(mdf_file) if mdf_file else None
    app = obj.app()
    result = rewards_for(settings, app.store, app.portal, period, mdf_claims=claims)
    console = obj.console
    if fmt == "csv":
        text = leaderboard_csv(result) if board else statements_csv(result)
        if out is None:
            click.echo(text, nl=False)
            return
        write_private(out, text)
        said = labels(settings.locale)["board_written" if board else "statements_written"]
        console.print(escape(said.format(period=period.key, path=out)))
        return
    if not result.statements:
        console.print(labels(settings.locale)["no_partners"])
        return
    if board:
        render_leaderboard(result, console, locale=settings.locale)
    elif partner_id:
        render_lines(result, partner_id, console, settings.locale)
    else:
        render_statements(result, console, settings.locale, timezone=settings.timezone)
        render_leaderboard(result, console, limit=10, locale=settings.locale)
