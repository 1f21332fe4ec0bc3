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
from crm_bridge.domain.period import Period
from crm_bridge.domain.rewards import MdfClaim
from crm_bridge.errors import DataError, UsageError
from crm_bridge.security.files import write_private
from crm_bridge.services.rewards import RewardsResult, leaderboard_csv, rewards_for, statements_csv

MDF_COLUMNS = ("partner_id", "description", "requested", "approved", "reimbursed")


def _money(value: Decimal | None) -> str:
    return "" if value is None else f"{value:,.2f}".replace(",", " ")


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
    for number, row in enumerate(reader, start=2):
        try:
            amounts = [
                Decimal((row[k] or "0").strip().replace(" ", "").replace(",", ".")) for k in MDF_COLUMNS[2:]
            ]
            claim = MdfClaim((row["description"] or "").strip(), *amounts)
        except ArithmeticError as exc:
            raise DataError("an amount is not a number", where=f"{path.name} row {number}") from exc
        except ValueError as exc:
            raise DataError(str(exc), where=f"{path.name} row {number}") from exc
        claims.setdefault((row["partner_id"] or "").strip(), []).append(claim)
    return claims


def render_statements(result: RewardsResult, console: Console) -> None:
    table = Table(title=f"Reward statements, {result.period.key} ({result.currency})", title_justify="left")
    for header in (
        "partner",
        "tier",
        "revenue",
        "plan",
        "commission",
        "plan bonus",
        "over-perf.",
        "MDF",
        "total",
    ):
        table.add_column(header, justify="left" if header in ("partner", "tier") else "right")
    for s in sorted(result.statements, key=lambda s: (-s.total, result.names.get(s.partner_id, ""))):
        kinds = result.by_kind(s)
        plan = _money(s.plan_revenue) + (" ✓" if s.plan_met else "") if s.plan_revenue is not None else "-"
        table.add_row(
            escape(result.names.get(s.partner_id, s.partner_id)),  # CRM text: never markup
            result.tier_names.get(s.tier or "", s.tier or "-"),
            _money(s.revenue),
            plan,
            *(_money(kinds.get(k)) for k in ("commission", "plan_bonus", "over_performance", "mdf")),
            _money(s.total),
        )
    table.add_section()
    table.add_row("total", "", "", "", "", "", "", "", _money(result.total()))
    console.print(table)


def render_lines(result: RewardsResult, partner_id: str, console: Console) -> None:
    s = next((s for s in result.statements if s.partner_id == partner_id), None)
    if s is None:
        raise UsageError(f"--partner: no partner {partner_id} in the state store (run `crm-bridge sync`)")
    name = escape(result.names.get(partner_id, partner_id))  # CRM text: never markup
    title = (
        f"{name}: statement {result.period.key}, tier {result.tier_names.get(s.tier or '', s.tier or '-')}, "
        f"rules from {s.rules_effective_from}"
    )
    table = Table(title=title, title_justify="left")
    for header in ("line", "description", "base", "rate %", "amount"):
        table.add_column(header, justify="right" if header in ("base", "rate %", "amount") else "left")
    for line in s.lines:
        rate = "" if line.rate is None else f"{line.rate.normalize():f}"
        table.add_row(line.kind, line.description, _money(line.base), rate, _money(line.amount))
    table.add_section()
    table.add_row("total", "", "", "", _money(s.total))
    console.print(table)
    if not s.lines:
        console.print(f"No won deals closed in {result.period.key} and no MDF claims: nothing to pay.")


def render_leaderboard(result: RewardsResult, console: Console, limit: int | None = None) -> None:
    rows = result.leaderboard[:limit] if limit else result.leaderboard
    table = Table(title=f"Leaderboard, {result.period.key}", title_justify="left")
    for header in ("#", "partner", "points", "won deals", "revenue"):
        table.add_column(header, justify="left" if header == "partner" else "right")
    for r in rows:
        table.add_row(str(r.rank), escape(r.name), str(r.points), str(r.won_deals), _money(r.revenue))
    console.print(table)


def parse_period(key: str | None, timezone: str, now: datetime) -> Period:
    tz = ZoneInfo(timezone)
    if not key:
        return Period.containing(now, "quarter", tz).previous(tz)
    try:
        return Period.parse(key.strip(), tz)
    except ValueError as exc:
        raise UsageError(f"--period: {exc}") from exc


@click.command("rewards")
@click.option(
    "--period", "period_key", default=None, help="2026-Q4, 2026-11 or 2026; default: the previous quarter."
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
    period = parse_period(period_key, settings.timezone, datetime.now(UTC))
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
        console.print(f"{'Leaderboard' if board else 'Statements'} for {period.key} written to {out}")
        return
    if not result.statements:
        console.print("No partners in the state store yet: run `crm-bridge sync` first.")
        return
    if board:
        render_leaderboard(result, console)
    elif partner_id:
        render_lines(result, partner_id, console)
    else:
        render_statements(result, console)
        render_leaderboard(result, console, limit=10)
