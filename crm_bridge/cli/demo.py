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
    timing = ", ".join(f"{step} {seconds:.2f}s" for step, seconds in result.timings.items())
    console.print(f"Timings: {timing}; {result.crm_requests} requests to the CRM.")
    console.print(f"Config used: {result.config_path}")
    for path in result.reports:
        kind = "Report (open in a browser)" if path.suffix == ".html" else "CSV"
        console.print(f"{kind}: {path}")


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
@click.option(
    "--serve",
    is_flag=True,
    help="Then keep the sandbox and run the daemon over the demo's data: the partner portal (with a "
    "sign-in link for one demo partner) and the head's dashboard, until Ctrl+C.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8080,
    show_default=True,
    help="With --serve: the daemon's port on 127.0.0.1 (0: any free port).",
)
@click.pass_obj
def command(
    obj: CliContext, out_dir: Path, seed: int, kind: str | None, rate_limit: bool, serve: bool, port: int
) -> None:
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
        if serve:
            serve_demo(obj, sandbox, result, kind, rate_limit, port)
        else:
            console.print(
                "Partner portal and dashboard: [bold]crm-bridge demo --serve[/bold] runs the demo and "
                "keeps it running with a sign-in link for a demo partner and the head's secret.",
                highlight=False,
            )


def _remember_env(dotenv: Path, env: dict[str, str]) -> None:
    """Put the sandbox's variables (its local webhook URL or token) into the demo's private ``.env``, so
    other commands on the demo's config reach the running sandbox."""
    from crm_bridge.security.files import write_private

    kept = [
        line
        for line in (dotenv.read_text(encoding="utf-8").splitlines() if dotenv.exists() else [])
        if line.split("=", 1)[0] not in env
    ]
    write_private(dotenv, "\n".join([*kept, *(f"{k}={v}" for k, v in env.items())]) + "\n")


def serve_demo(
    obj: CliContext, sandbox: Sandbox, result: DemoResult, kind: str, rate_limit: bool, port: int
) -> None:
    """Run the daemon (jobs, intake API, partner portal, dashboard) over the demo's config and state
    while the sandbox stays up; print a partner's sign-in link and the head's secret."""
    import os
    import secrets

    from crm_bridge.bootstrap import bootstrap
    from crm_bridge.config import load_settings
    from crm_bridge.daemon.app import build_daemon
    from crm_bridge.services.metrics import BridgeMetrics
    from crm_bridge.services.portal.access import ADMIN_TOKEN_ENV, PortalAccess

    demo = spec_for(kind).demo
    if demo is None:
        raise UsageError(f"demo --serve: the {kind} adapter has no demo support")
    _, env = demo.crm_section(sandbox.config_snippet(), rate_limit)
    settings = load_settings(result.config_path, environ={**os.environ, **env})
    _remember_env(result.config_path.parent / ".env", env)  # `crm-bridge --config <demo> …` works meanwhile
    token = os.environ.get(ADMIN_TOKEN_ENV) or secrets.token_urlsafe(24)
    os.environ[ADMIN_TOKEN_ENV] = token  # the dashboard's sign-in reads it when the daemon starts
    metrics = BridgeMetrics()
    console = obj.console
    with bootstrap(settings, on_request=metrics.http_observer) as app:
        daemon = build_daemon(app, metrics=metrics, host="127.0.0.1", port=port)
        if daemon.http is None:
            raise AssertionError("invariant broken: the demo daemon serves HTTP")
        url = daemon.http.url
        leaders = {name for _, name, _ in result.leaders}
        partners = sorted(app.store.partners(app.portal), key=lambda p: (p.name not in leaders, p.name))
        partner = partners[0]
        invitation = PortalAccess.for_app(app).invite(partner.crm_id, label="crm-bridge demo")
        console.print(
            f"\n[bold]Partner portal[/bold] for {escape(partner.name)} (open the link):", highlight=False
        )
        click.echo(f"  {url}/portal/signin#{invitation.key}")
        console.print("[bold]Head's dashboard[/bold]:", highlight=False)
        click.echo(f"  {url}/admin/   secret ({ADMIN_TOKEN_ENV}): {token}")
        console.print(
            f"Another partner's link: crm-bridge --config {result.config_path} partners invite "
            '"<name or id>" (while this runs). Stop with Ctrl+C.',
            highlight=False,
        )
        daemon.run_until_signal()
