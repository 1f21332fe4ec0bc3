"""``crm-bridge provision``: create or update the partner-sales funnels, stages and custom fields in
the CRM (``--dry-run`` prints the plan and writes nothing; ``--prune`` deletes empty removed stages)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click
from rich.table import Table

from crm_bridge.cli.output import CliContext
from crm_bridge.domain.layout import PlanAction, PlanItem
from crm_bridge.ports import EventSubscriber
from crm_bridge.services.provision import ProvisionResult, provision
from crm_bridge.texts import words

if TYPE_CHECKING:
    from crm_bridge.bootstrap import App

_STYLE = {
    PlanAction.CREATE: "green",
    PlanAction.UPDATE: "yellow",
    PlanAction.DELETE: "red",
    PlanAction.ORPHAN: "magenta",
    PlanAction.UNCHANGED: "dim",
}


def plan_table(items: tuple[PlanItem, ...], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("object")
    table.add_column("action")
    table.add_column("details", overflow="fold")
    for item in items:
        style = _STYLE.get(item.action, "")
        details = item.details or (
            "in the CRM, not in the config: left alone" if item.action is PlanAction.ORPHAN else ""
        )
        table.add_row(f"{item.object.value} {item.path}", f"[{style}]{item.action.value}[/{style}]", details)
    return table


def summary(result: ProvisionResult) -> str:
    return ", ".join(f"{count} {action}" for action, count in result.summary().items()) or "nothing planned"


@click.command("provision")
@click.option("--dry-run", is_flag=True, help="Print the plan (object, action, details) and write nothing.")
@click.option("--prune", is_flag=True, help="Delete stages removed from the config when they are empty.")
@click.pass_obj
def command(obj: CliContext, dry_run: bool, prune: bool) -> None:
    """Create or update the four partner-sales funnels, their stages and the custom fields in the CRM.

    Idempotent: a second run reports everything unchanged and writes nothing. A stage that is in the
    CRM but no longer in the config is reported, never deleted, unless --prune is given and it is empty."""
    from crm_bridge.config.funnels import desired_layout_for  # the config's models: not for --help

    app = obj.app()
    result = provision(app.adapter, desired_layout_for(app.settings), prune=prune, dry_run=dry_run)
    console = obj.console
    if dry_run:
        console.print(plan_table(result.plan.items, "Provisioning plan (dry run: nothing written)"))
        console.print(f"Plan: {summary(result)}.")
        return
    if result.applied:
        details = {"changes": [f"{i.action.value} {i.object.value} {i.path}" for i in result.changed]}
        app.store.audit(app.portal, "provision", details, app.clock())
        console.print(plan_table(result.changed, "Changed in the CRM"))
    orphans = tuple(i for i in result.plan.items if i.action is PlanAction.ORPHAN)
    if orphans:
        console.print(
            plan_table(orphans, "In the CRM but not in the config (left alone; --prune deletes empty ones)")
        )
    if result.applied:
        console.print(f"[green]Done[/green]: {summary(result)}.")
    else:
        console.print(f"Everything is up to date: {summary(result)}; nothing written.")
    line = subscribe_events(app)
    if line:
        console.print(line)


def subscribe_events(app: App) -> str | None:
    """With ``events.enabled``, subscribe to the CRM's events where it takes subscriptions by API (the
    receiver URL from ``events.public_url``, or none: events the CRM keeps for us); the line to print."""
    cfg = app.settings.events
    if not cfg.enabled:
        return None
    url = cfg.receiver_url()
    t = words("events", app.settings.locale)
    if not isinstance(app.adapter, EventSubscriber):
        return t["set_in_crm"].format(crm=app.adapter.name)
    what = app.adapter.subscribe_events(url)
    app.store.audit(app.portal, "events_subscribed", {"what": what}, app.clock())
    return t["subscribed"].format(what=what)
