"""``crm-bridge doctor``: is everything in place? The adapter's checks (connection, credentials,
scopes), the CRM's layout compared with the config (a provisioning plan summary), the configured
people against the CRM's users, and the notification channels (undeliverable ones are warnings)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click
from rich.table import Table

from crm_bridge.cli.output import CliContext
from crm_bridge.cli.users import users_table
from crm_bridge.domain.layout import PlanAction
from crm_bridge.errors import CrmBridgeError
from crm_bridge.ports import ALL_CAPABILITIES, CAPABILITY_IMPACT, CrmUser, HealthCheck, port_capabilities_of
from crm_bridge.security.files import exposure_warnings, sensitive_files
from crm_bridge.services.people import configured_people, people_checks
from crm_bridge.services.provision import plan_provisioning

if TYPE_CHECKING:
    from crm_bridge.bootstrap import App


def layout_check(app: App) -> HealthCheck:
    from crm_bridge.config.funnels import desired_layout_for  # the config's models: not for `doctor --help`

    try:
        plan = plan_provisioning(app.adapter, desired_layout_for(app.settings))
    except CrmBridgeError as exc:
        return HealthCheck("layout vs config", False, f"cannot read the CRM's layout: {exc}")
    if plan.is_noop:
        orphans = plan.count(PlanAction.ORPHAN)
        extra = f"; {orphans} stage(s) in the CRM not in the config" if orphans else ""
        return HealthCheck(
            "layout vs config",
            True,
            f"all {len(plan.items)} objects as configured{extra}",
            provisionable=True,
        )
    counts = ", ".join(
        f"{plan.count(a)} to {a.value}" for a in (PlanAction.CREATE, PlanAction.UPDATE) if plan.count(a)
    )
    return HealthCheck("layout vs config", False, f"{counts}: run `crm-bridge provision`", provisionable=True)


def secrets_check(app: App) -> HealthCheck | None:
    """Whether CRM_BRIDGE_SECRET_KEY decrypts the secrets in the state store (None: there are none)."""
    try:
        sealed, plain = app.store.check_secrets()
    except CrmBridgeError as exc:
        return HealthCheck("secrets at rest", False, str(exc))
    if not sealed and not plain:
        return None
    if plain:
        return HealthCheck(
            "secrets at rest", False, f"{plain} secret(s) in plain text: run `crm-bridge secrets rotate-key`"
        )
    return HealthCheck("secrets at rest", True, f"{sealed} secret(s) encrypted; the key decrypts them")


def capability_checks(app: App) -> list[HealthCheck]:
    """One line per capability the services rely on that this CRM's adapter cannot give: what works
    less well because of it. Shown, not failed: the rest of crm-bridge works."""
    missing = sorted(ALL_CAPABILITIES - port_capabilities_of(app.adapter))
    return [
        HealthCheck(f"capability {c.value}", True, f"not available: {CAPABILITY_IMPACT[c]}") for c in missing
    ]


@click.command("doctor")
@click.option(
    "--before-provision",
    is_flag=True,
    help="Funnels, stages and fields not created yet are shown as 'to provision' and do not fail.",
)
@click.pass_obj
def command(obj: CliContext, before_provision: bool) -> None:
    """Check the connection, credentials and permissions, the funnels/fields against the config, that
    the head, managers and curators are active CRM users (offering the active users to pick from),
    whether the notification channels can deliver, whether CRM_BRIDGE_SECRET_KEY decrypts the secrets
    in the state store, and warn about a config, .env, store or log file other users can read (with
    the chmod that fixes it).

    Exit status 1 when a check fails (warnings do not count)."""
    from crm_bridge.services.notify.health import channel_checks  # the channels' HTTP clients

    app = obj.app()
    try:
        checks = list(app.adapter.check())
    except CrmBridgeError as exc:
        checks = [HealthCheck("connection", False, str(exc))]
    users: list[CrmUser] = []
    if all(c.ok for c in checks if c.name == "connection"):
        checks.append(layout_check(app))
        try:
            users = app.adapter.list_users()
            checks += people_checks(configured_people(app.settings), users)
        except CrmBridgeError as exc:
            checks.append(HealthCheck("people", False, f"cannot read the CRM's users: {exc}"))
        checks += channel_checks(app.settings, app.store, app.portal)
    secrets = secrets_check(app)
    if secrets is not None:
        checks.append(secrets)
    checks += capability_checks(app)
    table = Table(title=f"crm-bridge doctor ({app.portal})", title_justify="left")
    for column in ("check", "result", "details"):
        table.add_column(column, overflow="fold")
    waived = before_provision
    for check in checks:
        if check.ok and check.detail.startswith("not available:"):
            result = "[yellow]degraded[/yellow]"
        elif check.ok and check.warning:
            result = "[yellow]warning[/yellow]"
        elif check.ok:
            result = "[green]ok[/green]"
        elif waived and check.provisionable:
            result = "[yellow]to provision[/yellow]"
        else:
            result = "[red]FAIL[/red]"
        table.add_row(check.name, result, check.detail)
    for path, fix in exposure_warnings(
        sensitive_files(obj.config_path, app.settings.state.url, app.settings.logging.file)
    ):
        table.add_row("file permissions", "[yellow]warn[/yellow]", f"{path} is readable by others: {fix}")
    obj.console.print(table)
    if any(not c.ok and c.name.endswith("crm_user_id") for c in checks):
        active = [u for u in users if u.active]
        people = configured_people(app.settings)
        obj.console.print(users_table(active, people, title="Active CRM users to pick from"))
    if not all(c.ok or (waived and c.provisionable) for c in checks):
        raise click.exceptions.Exit(1)
