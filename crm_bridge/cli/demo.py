"""``crm-bridge demo``: the whole product on a local CRM sandbox (by default the first installed adapter
with demo support, ``--crm`` to choose), no config and no network needed."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from crm_bridge.cli.output import CliContext
from crm_bridge.errors import UsageError
from crm_bridge.plugin import demo_kinds, spec_for
from crm_bridge.sandbox.server import Sandbox
from crm_bridge.services.demo import DemoResult, run_demo


def _rub(value: object) -> str:
    return f"{value:,.0f} ₽".replace(",", " ")


def _pct(value: object) -> str:
    return "-" if value is None else f"{value:.1f} %"


def render(result: DemoResult, console: Console) -> None:
    """Print what the demo did: funnels, leads per manager, tier changes, KPIs, files, timings."""
    funnels = Table(title="Funnels created in the CRM", title_justify="left")
    funnels.add_column("funnel")
    funnels.add_column("stages")
    for name, stages in result.funnels:
        funnels.add_row(name, " → ".join(stages))
    console.print(funnels)
    changes = ", ".join(f"{n} {a}" for a, n in result.provisioned.items()) or "nothing to change"
    console.print(f"Provisioning: {changes}.")
    seeded = result.seeded
    console.print(
        f"Seeded partner network: {seeded.get('partners', 0)} partners, {seeded.get('leads', 0)} partner "
        f"leads, {seeded.get('repeat_deals', 0)} repeat deals; synced "
        + ", ".join(f"{n} {e}s" for e, n in result.synced.items())
        + "."
    )
    managers = Table(title="New partner leads distributed per manager", title_justify="left")
    managers.add_column("manager")
    managers.add_column("leads", justify="right")
    managers.add_column("why (first assignment)", overflow="fold")
    why = dict(result.sample_reasons)
    for name, count in result.per_manager:
        managers.add_row(name, str(count), why.get(name, "-"))
    console.print(managers)
    tiers = Table(title="Tier changes", title_justify="left")
    for header in ("partner", "from", "to", "reason"):
        tiers.add_column(header, overflow="fold")
    for move in result.tier_moves:
        arrow = "[green]↑[/green]" if move.direction == "up" else "[red]↓[/red]"
        tiers.add_row(escape(move.partner), move.old, f"{arrow} {move.new}", move.reason)
    console.print(tiers if result.tier_moves else "Tier changes: none.")
    if result.tier_warnings:
        console.print(
            f"Downgrade warnings (grace period started): {len(result.tier_warnings)} — "
            + ", ".join(result.tier_warnings[:5])
            + (" …" if len(result.tier_warnings) > 5 else "")
        )
    if result.kpis is not None:
        k = result.kpis
        kpis = Table(title=f"Department KPIs, {result.kpi_period}", title_justify="left")
        kpis.add_column("KPI")
        kpis.add_column("value", justify="right")
        for label, value in (
            ("partners (active in the period)", f"{k.partners} ({k.active_partners})"),
            ("new partners", str(k.new_partners)),
            ("partner leads", str(k.leads)),
            ("qualified leads", str(k.qualified)),
            ("lead → won conversion", _pct(k.conversion)),
            ("won deals (repeat)", f"{k.won} ({k.repeat_won})"),
            ("revenue", _rub(k.revenue)),
            ("repeat share", _pct(k.repeat_share)),
        ):
            kpis.add_row(label, value)
        console.print(kpis)
    if result.leaders:
        console.print(
            f"Rewards for {result.kpi_period}: {_rub(result.rewards_total)} "
            f"to {result.rewards_paid} partners; leaderboard: "
            + ", ".join(f"{rank}. {name} ({points} pts)" for rank, name, points in result.leaders)
        )
    _lifecycle(result, console)
    timing = ", ".join(f"{step} {seconds:.2f}s" for step, seconds in result.timings.items())
    console.print(f"Timings: {timing}; {result.crm_requests} requests to the CRM.")
    console.print(f"Config used: {result.config_path}")
    for path in result.reports:
        kind = "Report (open in a browser)" if path.suffix == ".html" else "CSV"
        console.print(f"{kind}: {path}")


def _lifecycle(result: DemoResult, console: Console) -> None:
    """The partner lifecycle part (issue 14): scorecard, onboarding, training, plans, access."""
    life = result.lifecycle
    if life is None:
        return
    if life.scored:
        table = Table(title="Selection scorecard of the prospects (6.1)", title_justify="left")
        for name in ("prospect", "score %", "verdict", "action"):
            table.add_column(name, overflow="fold")
        for row in life.scored:
            table.add_row(*(escape(str(c)) for c in row))
        console.print(table)
    for name, curator, steps in life.onboarded:
        console.print(
            f"Onboarded: {escape(name)} — curator {escape(curator)}, {steps} onboarding task(s) on the card."
        )
    completions, partners = life.training
    console.print(
        f"Training: {completions} completion(s) of {partners} partner(s) imported and pushed to the cards."
    )
    console.print(
        f"Individual plans: {life.plans} imported for the quarter; "
        + "; ".join(escape(x) for x in life.plan_lines)
    )
    for text in life.reminders[:2]:
        console.print(f"  reminder → curator: {escape(text)}")
    if len(life.reminders) > 2:
        console.print(f"  … {len(life.reminders) - 2} more plan reminder(s)")
    for text in life.access[:3]:
        console.print(f"Access: {escape(text)}")
    if len(life.access) > 3:
        console.print(f"  … {len(life.access) - 3} more access change(s)")


def _note(kind: str) -> str:
    demo = spec_for(kind).demo
    return demo.limits_note if demo else ""


@click.command("demo")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("crm-bridge-demo"),
    show_default=True,
    help="Directory for the demo's config, state database and reports (rewritten on each run).",
)
@click.option("--seed", type=int, default=7, show_default=True, help="Seed of the generated partner network.")
@click.option(
    "--crm",
    "kind",
    type=click.Choice(demo_kinds()),
    default=next(iter(demo_kinds()), None),
    show_default=True,
    help="Which CRM's sandbox to run the demo on (installed adapters with demo support).",
)
@click.option(
    "--rate-limit/--no-rate-limit",
    default=True,
    show_default=True,
    help="Hold the sandbox and the client to the CRM's documented limits ("
    + "; ".join(f"{k}: {_note(k)}" for k in demo_kinds())
    + ").",
)
@click.pass_obj
def command(obj: CliContext, out_dir: Path, seed: int, kind: str | None, rate_limit: bool) -> None:
    """Run crm-bridge end to end against a local CRM sandbox: provision the four partner funnels,
    seed a partner network (partners of every type with curators, a few thousand leads and deals over
    the last months), then sync, distribute new leads, evaluate tiers, compute rewards and write the
    report. Needs no config file and no network."""
    console = obj.console
    if kind is None:
        raise UsageError("demo: no installed CRM adapter can run the demo (install crm-bridge-<crm>)")
    console.print(f"[dim]• Starting a {spec_for(kind).title} sandbox on a local port…[/dim]")
    with Sandbox(kind, rate_limit=rate_limit) as sandbox:
        result = run_demo(
            out_dir.resolve(),
            sandbox,
            seed=seed,
            rate_limit=rate_limit,
            progress=lambda label: console.print(f"[dim]• {label}…[/dim]"),
        )
        result.crm_requests = sandbox.request_count()
    render(result, console)
