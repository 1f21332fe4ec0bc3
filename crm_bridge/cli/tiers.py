"""``crm-bridge tiers``: evaluate partner tiers now, list downgrades waiting (grace period or the head's
approval), approve or reject one, and show the tier history."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import click
from rich.markup import escape

from crm_bridge.cli.output import CliContext
from crm_bridge.cli.tables import compact_table
from crm_bridge.services.report.text import day, labels


def _service(obj: CliContext):  # type: ignore[no-untyped-def]
    from crm_bridge.daemon.cycle import make_notifier
    from crm_bridge.daemon.engine import Engine

    app = obj.app()
    return app, Engine(app, notifier=make_notifier(app)).tier_service()


@click.group("tiers")
def command() -> None:
    """Partner tiers: evaluate, pending downgrades, approvals, history."""


@command.command("evaluate")
@click.pass_obj
def evaluate(obj: CliContext) -> None:
    """Evaluate every partner's tier now (what the daemon's tiers job does) and apply the changes."""
    from crm_bridge.daemon.cycle import describe

    app, service = _service(obj)
    run = service.evaluate(app.clock())
    obj.console.print(escape(describe(run, obj.settings().locale)))
    if run.changes:
        locale, tiers, partners = _names(obj)
        t = labels(locale)
        rows = [
            [partners.get(c.partner_id, c.partner_id), _tier(tiers, c.old), _tier(tiers, c.new)]
            for c in run.changes
        ]
        _reasons(
            obj,
            t["tier_changes_now"],
            [t["partner"], t["from"], t["to"]],
            rows,
            [c.reason for c in run.changes],
            named_by=1,
            left=3,
            name_column=0,
        )


WIDE = 120  # from this terminal width on, the reasons are a column; narrower, a list under the table


def _names(obj: CliContext) -> tuple[str, dict[str, str], dict[str, str]]:
    """The config's locale, tier key -> name in it, and partner id -> name from the state store."""
    settings = obj.settings()
    app = obj.app()
    tiers = {lv.key: lv.name.get(settings.locale) for lv in settings.tiers.levels}
    partners = {p.crm_id: escape(p.name) for p in app.store.partners(app.portal)}  # CRM text: never markup
    return settings.locale, tiers, partners


def _local(obj: CliContext) -> Callable[[datetime], datetime]:
    """A moment in the config's time zone."""
    zone = ZoneInfo(obj.settings().timezone)
    return lambda moment: moment.astimezone(zone)


def _reasons(
    obj: CliContext,
    title: str,
    headers: list[str],
    rows: list[list[str]],
    reasons: list[str],
    *,
    named_by: int = 2,
    left: int = 4,
    name_column: int = 1,
) -> None:
    """The table (its first ``left`` columns text, ``name_column`` the partner) with the reasons as
    its last column on a wide terminal, else listed under it, each named by the row's first
    ``named_by`` cells."""
    t = labels(obj.settings().locale)
    if obj.console.width >= WIDE:
        wide = [[*r, w] for r, w in zip(rows, reasons, strict=True)]
        table = compact_table(title, [*headers, t["why"]], wide, left=left, name=name_column, text_last=True)
        obj.console.print(table)
        return
    obj.console.print(compact_table(title, headers, rows, left=left, name=name_column))
    for row, reason in zip(rows, reasons, strict=True):
        obj.console.print(f"  {' '.join(row[:named_by])}: {escape(reason)}", soft_wrap=False, highlight=False)


def _tier(tiers: dict[str, str], key: str | None) -> str:
    return tiers.get(key or "", key or "-")


@command.command("list")
@click.pass_obj
def list_pending(obj: CliContext) -> None:
    """Downgrades in their grace period or awaiting the head's approval."""
    app, service = _service(obj)
    locale, tiers, partners = _names(obj)
    local = _local(obj)
    t = labels(locale)
    rows: list[list[str]] = []
    reasons: list[str] = []
    for row in service.pending():
        change = f"{_tier(tiers, row.from_tier)} → {_tier(tiers, row.to_tier)}"
        effective = (
            t["on_approval"] if row.status == "awaiting_approval" else day(local(row.effective_at), locale)
        )
        rows.append(
            [
                str(row.id),
                partners.get(row.partner_id, row.partner_id),
                change,
                t.get(row.status, row.status.replace("_", " ")),
                day(local(row.started_at), locale),
                effective,
            ]
        )
        reasons.append(row.reason)
    headers = [t["id"], t["partner"], t["change"], t["status"], t["since"], t["effective"]]
    _reasons(obj, t["pending"], headers, rows, reasons)


@command.command("approve")
@click.argument("pending_id", type=int)
@click.option("--by", default="head", show_default=True, help="Who approves (recorded with the change).")
@click.pass_obj
def approve(obj: CliContext, pending_id: int, by: str) -> None:
    """Apply the downgrade PENDING_ID (see `tiers list`)."""
    app, service = _service(obj)
    change = service.approve(pending_id, by=by, now=app.clock())
    locale, tiers, partners = _names(obj)
    said = labels(locale)["applied"].format(
        partner=partners.get(change.partner_id, change.partner_id),
        old=_tier(tiers, change.old),
        new=_tier(tiers, change.new),
    )
    obj.console.print(escape(said))


@command.command("reject")
@click.argument("pending_id", type=int)
@click.option("--by", default="head", show_default=True, help="Who rejects (recorded).")
@click.pass_obj
def reject(obj: CliContext, pending_id: int, by: str) -> None:
    """Keep the partner's tier: the downgrade PENDING_ID is dropped."""
    app, service = _service(obj)
    row = service.reject(pending_id, by=by, now=app.clock())
    locale, tiers, partners = _names(obj)
    partner = partners.get(row.partner_id, row.partner_id)
    obj.console.print(
        escape(labels(locale)["rejected"].format(partner=partner, tier=_tier(tiers, row.from_tier)))
    )


@command.command("history")
@click.option("--partner", "partner_id", default=None, help="Only this partner (CRM id).")
@click.pass_obj
def history(obj: CliContext, partner_id: str | None) -> None:
    """Every recorded tier change, oldest first, with the partner's name."""
    app = obj.app()
    locale, tiers, partners = _names(obj)
    local = _local(obj)
    t = labels(locale)
    rows: list[list[str]] = []
    reasons: list[str] = []
    for rec in app.store.tier_history(app.portal, partner_id):
        rows.append(
            [
                day(local(rec.at), locale),
                partners.get(rec.partner_id, rec.partner_id),
                _tier(tiers, rec.from_tier),
                _tier(tiers, rec.to_tier),
            ]
        )
        reasons.append(rec.reason)
    _reasons(obj, t["history"], [t["when"], t["partner"], t["from"], t["to"]], rows, reasons)
