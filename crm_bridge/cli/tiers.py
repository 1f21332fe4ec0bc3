"""``crm-bridge tiers``: evaluate partner tiers now, list downgrades waiting (grace period or the head's
approval), approve or reject one, and show the tier history."""

from __future__ import annotations

import click
from rich.table import Table

from crm_bridge.cli.output import CliContext


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
    obj.console.print(describe(run))
    if run.changes:
        table = Table(title="Tier changes", title_justify="left")
        for column in ("partner", "from", "to", "why"):
            table.add_column(column, overflow="fold")
        for change in run.changes:
            table.add_row(change.partner_id, change.old or "-", change.new, change.reason)
        obj.console.print(table)


@command.command("list")
@click.pass_obj
def list_pending(obj: CliContext) -> None:
    """Downgrades in their grace period or awaiting the head's approval."""
    app, service = _service(obj)
    table = Table(title="Pending tier downgrades", title_justify="left")
    for column in ("id", "partner", "from", "to", "status", "since", "takes effect", "why"):
        table.add_column(column, overflow="fold")
    for row in service.pending():
        partner = app.store.records.partner(app.portal, row.partner_id)
        table.add_row(
            str(row.id),
            f"{partner.name} ({row.partner_id})" if partner else row.partner_id,
            row.from_tier or "-",
            row.to_tier or "-",
            row.status.replace("_", " "),
            f"{row.started_at:%Y-%m-%d}",
            "on approval" if row.status == "awaiting_approval" else f"{row.effective_at:%Y-%m-%d %H:%M}",
            row.reason,
        )
    obj.console.print(table)


@command.command("approve")
@click.argument("pending_id", type=int)
@click.option("--by", default="head", show_default=True, help="Who approves (recorded with the change).")
@click.pass_obj
def approve(obj: CliContext, pending_id: int, by: str) -> None:
    """Apply the downgrade PENDING_ID (see `tiers list`)."""
    app, service = _service(obj)
    change = service.approve(pending_id, by=by, now=app.clock())
    obj.console.print(f"Applied: partner {change.partner_id} {change.old} → {change.new}.")


@command.command("reject")
@click.argument("pending_id", type=int)
@click.option("--by", default="head", show_default=True, help="Who rejects (recorded).")
@click.pass_obj
def reject(obj: CliContext, pending_id: int, by: str) -> None:
    """Keep the partner's tier: the downgrade PENDING_ID is dropped."""
    app, service = _service(obj)
    row = service.reject(pending_id, by=by, now=app.clock())
    obj.console.print(f"Rejected: partner {row.partner_id} stays {row.from_tier}.")


@command.command("history")
@click.option("--partner", "partner_id", default=None, help="Only this partner (CRM id).")
@click.pass_obj
def history(obj: CliContext, partner_id: str | None) -> None:
    """Every recorded tier change, oldest first."""
    app = obj.app()
    table = Table(title="Tier history", title_justify="left")
    for column in ("when", "partner", "from", "to", "why"):
        table.add_column(column, overflow="fold")
    for rec in app.store.tier_history(app.portal, partner_id):
        table.add_row(
            f"{rec.at:%Y-%m-%d %H:%M}", rec.partner_id, rec.from_tier or "-", rec.to_tier or "-", rec.reason
        )
    obj.console.print(table)
