"""``crm-bridge users``: the CRM's users (id, name, e-mail, active) to pick the head's, the managers'
and the curators' ``crm_user_id`` from, with the config roles already using each."""

from __future__ import annotations

from collections.abc import Sequence

import click
from rich.markup import escape
from rich.table import Table

from crm_bridge.cli.output import CliContext
from crm_bridge.ports import CrmUser
from crm_bridge.services.people import ConfiguredPerson, configured_people, roles_by_user


def users_table(users: Sequence[CrmUser], people: Sequence[ConfiguredPerson], *, title: str) -> Table:
    roles = roles_by_user(people)
    table = Table(title=title, title_justify="left")
    for column in ("id", "name", "e-mail", "active", "in the config"):
        table.add_column(column, overflow="fold")
    for user in sorted(users, key=lambda u: (not u.active, _numeric(u.crm_id))):
        table.add_row(
            user.crm_id,
            escape(user.name),  # CRM text: never markup
            escape(user.email) or "-",
            "yes" if user.active else "[red]no[/red]",
            ", ".join(roles.get(user.crm_id, [])),
        )
    return table


def _numeric(crm_id: str) -> tuple[int, str]:
    return (int(crm_id), "") if crm_id.isdigit() else (0, crm_id)


@click.command("users")
@click.option("--active", "only_active", is_flag=True, help="Only active users.")
@click.pass_obj
def command(obj: CliContext, only_active: bool) -> None:
    """List the CRM's users: id, name, e-mail, active, and which config role uses the id. Pick the
    crm_user_id of head, managers and curators from here."""
    app = obj.app()
    users = [u for u in app.adapter.list_users() if u.active or not only_active]
    obj.console.print(users_table(users, configured_people(app.settings), title=f"CRM users ({app.portal})"))
