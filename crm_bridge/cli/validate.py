"""``crm-bridge validate``: check the config file and print what it configures."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click
from rich.table import Table

from crm_bridge.cli.output import CliContext

# The config's models and the adapters' declarations are imported when the verb runs: `validate --help`
# answers without them.
if TYPE_CHECKING:
    from crm_bridge.config import Settings
    from crm_bridge.config.ops import JobSchedule


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def _job(schedule: JobSchedule) -> str:
    if not schedule.enabled:
        return "off"
    return f"every {_duration(schedule.every)}" if schedule.every is not None else f"cron {schedule.cron}"


def adapter_line(kind: str) -> str:
    """The installed adapter for ``kind``: its title, distribution and version."""
    from importlib.metadata import PackageNotFoundError, version

    from crm_bridge.plugin import spec_for

    spec = spec_for(kind)
    try:
        installed = version(spec.distribution)
    except PackageNotFoundError:
        installed = "version unknown"
    return f"{spec.title}: {spec.distribution} {installed}"


def summary_rows(settings: Settings) -> list[tuple[str, str]]:
    """What ``validate`` prints: one (item, value) pair per line, no secrets."""
    from crm_bridge.bootstrap import portal_id
    from crm_bridge.config.funnels import desired_layout_for

    funnels = desired_layout_for(settings).funnels
    stage_count = sum(len(f.stages) for f in funnels)
    managers = ", ".join(
        f"{m.name} ({m.key}, weight {m.weight}{'' if m.active else ', inactive'})" for m in settings.managers
    )
    curators = ", ".join(f"{c.name} ({c.key})" for c in settings.curators)
    tiers = " → ".join(level.name.get(settings.locale) for level in settings.tiers.levels)
    distribution = settings.distribution
    channels = settings.notifications.enabled_channels()
    jobs = ", ".join(f"{name} {_job(job)}" for name, job in settings.schedule.jobs().items())
    return [
        ("config file", str(settings.source or "-")),
        ("CRM", f"{settings.crm.kind} ({portal_id(settings.crm, settings.state.portal)})"),
        ("adapter", adapter_line(settings.crm.kind)),
        ("state store", settings.state.masked_url()),
        ("locale, time zone", f"{settings.locale}, {settings.timezone}"),
        ("funnels", f"{len(funnels)} funnels, {stage_count} stages"),
        ("managers", f"{len(settings.managers)}: {managers}" if settings.managers else "none"),
        ("curators", f"{len(settings.curators)}: {curators}" if settings.curators else "none"),
        ("head of partner sales", settings.head.name if settings.head else "not set"),
        (
            "distribution",
            f"{distribution.strategy} (fallback {distribution.fallback}), SLA {distribution.sla_hours:g} h",
        ),
        ("tiers", f"{tiers} over {settings.tiers.window_days} days"),
        ("reward rule sets", f"{len(settings.rewards.rule_sets)} ({settings.rewards.currency})"),
        ("schedule", f"{jobs} ({settings.schedule_timezone()})"),
        ("notifications", ", ".join(channels) or "none"),
        ("intake", f"{settings.intake.listen_host}:{settings.intake.listen_port}"),
    ]


@click.command("validate")
@click.pass_obj
def command(obj: CliContext) -> None:
    """Check the config file (and that an adapter for crm.kind is installed); print a summary.

    Exit status 2 with one line per problem when something is wrong."""
    settings = obj.settings()  # first: it imports the config's models with the collector paused
    from crm_bridge.bootstrap import load_adapter_factory

    load_adapter_factory(settings.crm.kind)
    table = Table(title="crm-bridge configuration", show_header=False, title_justify="left")
    table.add_column("item", style="bold")
    table.add_column("value", overflow="fold")
    for item, value in summary_rows(settings):
        table.add_row(item, value)
    obj.console.print(table)
    obj.console.print(f"[green]OK[/green]: {settings.source or 'the config'} is valid.")
