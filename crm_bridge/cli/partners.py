"""``crm-bridge partners``: sign-in to the partner portal -- ``invite PARTNER`` prints a personal link
(and its key) once, ``invitations`` lists them (never the secrets), ``revoke ID`` ends one and every
browser signed in with it."""

from __future__ import annotations

import click
from rich.markup import escape
from rich.table import Table

from crm_bridge.cli.output import CliContext
from crm_bridge.services.portal.access import PortalAccess, find_partner


def _link(obj: CliContext, key: str) -> str:
    settings = obj.settings()
    base = settings.portal.public_url or f"http://{settings.intake.listen_host}:{settings.intake.listen_port}"
    return f"{base.rstrip('/')}/portal/signin#{key}"


@click.group("partners")
def command() -> None:
    """Partner portal access: personal sign-in links (invite, list, revoke)."""


@command.command("invite")
@click.argument("partner")
@click.option("--label", default="", help="A note kept with the invitation (who it was sent to).")
@click.pass_obj
def invite(obj: CliContext, partner: str, label: str) -> None:
    """Issue a personal sign-in link to the partner portal for PARTNER (its CRM id or exact name).

    The link and its key are shown once and only a hash is kept: send the link to the partner over a
    channel you trust. It works for portal.invitation_days days, until `partners revoke`."""
    app = obj.app()
    found = find_partner(app.store.partners(app.portal), partner)
    issued = PortalAccess.for_app(app).invite(found.crm_id, label=label)
    days = obj.settings().portal.invitation_days
    obj.console.print(
        f"Invitation [bold]{issued.invitation_id}[/bold] for {escape(found.name)} (id {found.crm_id}), "
        f"valid {days} days, until {issued.expires_at:%Y-%m-%d %H:%M} UTC. Shown once:",
        highlight=False,
    )
    click.echo(f"  link: {_link(obj, issued.key)}")
    click.echo(f"  key:  {issued.key}")
    obj.console.print(f"Revoke with: crm-bridge partners revoke {issued.invitation_id}", highlight=False)


@command.command("invitations")
@click.option("--partner", default=None, help="Only this partner (CRM id or exact name).")
@click.pass_obj
def invitations(obj: CliContext, partner: str | None) -> None:
    """Every portal invitation: partner, issued, expires, last used, revoked (never the key)."""
    app = obj.app()
    partners = list(app.store.partners(app.portal))
    names = {p.crm_id: p.name for p in partners}
    only = find_partner(partners, partner).crm_id if partner else None
    table = Table(title="Partner portal invitations", title_justify="left")
    for header in ("id", "partner", "issued", "expires", "last used", "state"):
        table.add_column(header)
    now = app.clock()
    for inv in PortalAccess.for_app(app).invitations(only):
        state = "revoked" if inv.revoked_at else ("expired" if inv.expires_at <= now else "live")
        table.add_row(
            inv.invitation_id,
            escape(names.get(inv.partner_id, inv.partner_id)),
            f"{inv.created_at:%Y-%m-%d}",
            f"{inv.expires_at:%Y-%m-%d}",
            f"{inv.last_used_at:%Y-%m-%d %H:%M}" if inv.last_used_at else "-",
            state,
        )
    obj.console.print(table)


@command.command("revoke")
@click.argument("invitation_id")
@click.pass_obj
def revoke(obj: CliContext, invitation_id: str) -> None:
    """Revoke the invitation INVITATION_ID (see `partners invitations`); browsers signed in with it are
    signed out at their next click."""
    app = obj.app()
    record = PortalAccess.for_app(app).revoke(invitation_id)
    obj.console.print(
        f"Revoked invitation {record.invitation_id} of partner {record.partner_id}.", highlight=False
    )
