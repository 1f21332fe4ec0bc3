"""``crm-bridge demo``: the whole product on a local CRM sandbox (by default the first installed adapter
with demo support, ``--crm`` to choose), no config and no network needed."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from crm_bridge.cli.output import CliContext
from crm_bridge.errors import UsageError
from crm_bridge.plugin import demo_kinds, spec_for
from crm_bridge.sandbox.server import Sandbox
from crm_bridge.services.demo.run import DemoResult, run_demo
from crm_bridge.services.report.text import number
from crm_bridge.texts import LOCALES, words


def _rub(value: Any, locale: str) -> str:
    return f"{number(value, locale)} ₽"


def _pct(value: Any, locale: str) -> str:
    return "-" if value is None else f"{number(value, locale, 1)} %"


def render(result: DemoResult, console: Console) -> None:
    """Print what the demo did — funnels, leads per manager, tier changes, KPIs, files, timings — in the
    demo config's locale."""
    loc = result.locale
    t = words("console", loc)
    funnels = Table(title=t["demo_funnels"], title_justify="left")
    funnels.add_column(t["demo_funnel"])
    funnels.add_column(t["demo_stages"])
    for name, stages in result.funnels:
        funnels.add_row(escape(name), escape(" → ".join(stages)))
    console.print(funnels)
    changes = ", ".join(f"{t.get(f'plan_{a}', a)}: {n}" for a, n in result.provisioned.items())
    console.print(t["demo_provisioned"].format(changes=changes or t["demo_nothing"]))
    seeded = result.seeded
    synced = ", ".join(f"{t.get(f'entity_{e}', e)} {n}" for e, n in result.synced.items())
    console.print(
        t["demo_seeded"].format(
            partners=seeded.get("partners", 0),
            leads=seeded.get("leads", 0),
            repeat=seeded.get("repeat_deals", 0),
            synced=synced,
        )
    )
    managers = Table(title=t["demo_managers"], title_justify="left")
    managers.add_column(t["demo_manager"])
    managers.add_column(t["demo_leads"], justify="right")
    managers.add_column(t["demo_why"], overflow="fold")
    why = dict(result.sample_reasons)
    for name, count in result.per_manager:
        managers.add_row(escape(name), str(count), escape(why.get(name, "-")))
    console.print(managers)
    tiers = Table(title=t["demo_tiers"], title_justify="left")
    for header in ("demo_partner", "demo_from", "demo_to", "demo_reason"):
        tiers.add_column(t[header], overflow="fold")
    for move in result.tier_moves:
        arrow = "[green]↑[/green]" if move.direction == "up" else "[red]↓[/red]"
        tiers.add_row(
            escape(move.partner), escape(move.old), f"{arrow} {escape(move.new)}", escape(move.reason)
        )
    console.print(tiers if result.tier_moves else t["demo_no_tier_changes"])
    if result.tier_warnings:
        names = ", ".join(result.tier_warnings[:5]) + (" …" if len(result.tier_warnings) > 5 else "")
        console.print(escape(t["demo_warnings"].format(count=len(result.tier_warnings), names=names)))
    if result.kpis is not None:
        k = result.kpis
        kpis = Table(title=t["demo_kpis"].format(period=result.kpi_period), title_justify="left")
        kpis.add_column(t["demo_kpi"])
        kpis.add_column(t["demo_value"], justify="right")
        for label, value in (
            ("kpi_partners", f"{k.partners} ({k.active_partners})"),
            ("kpi_new_partners", str(k.new_partners)),
            ("kpi_leads", str(k.leads)),
            ("kpi_qualified", str(k.qualified)),
            ("kpi_conversion", _pct(k.conversion, loc)),
            ("kpi_won", f"{k.won} ({k.repeat_won})"),
            ("kpi_revenue", _rub(k.revenue, loc)),
            ("kpi_repeat_share", _pct(k.repeat_share, loc)),
        ):
            kpis.add_row(t[label], value)
        console.print(kpis)
    if result.leaders:
        leaders = ", ".join(
            t["demo_leader"].format(rank=rank, name=name, points=points)
            for rank, name, points in result.leaders
        )
        said = t["demo_rewards"].format(
            period=result.kpi_period,
            total=_rub(result.rewards_total, loc),
            paid=result.rewards_paid,
            leaders=leaders,
        )
        console.print(escape(said))
    _lifecycle(result, console, t)
    timing = ", ".join(
        t["demo_seconds"].format(step=t.get(f"step_{step}", step), seconds=number(seconds, loc, 2))
        for step, seconds in result.timings.items()
    )
    console.print(t["demo_timings"].format(timings=timing, requests=result.crm_requests))
    console.print(escape(t["demo_config"].format(path=result.config_path)))
    for path in result.reports:
        console.print(escape(t["demo_html" if path.suffix == ".html" else "demo_csv"].format(path=path)))


def _lifecycle(result: DemoResult, console: Console, t: Mapping[str, str]) -> None:
    """The partner lifecycle part (issue 14): scorecard, onboarding, training, plans, access."""
    life = result.lifecycle
    if life is None:
        return
    if life.scored:
        table = Table(title=t["demo_life_scorecard"], title_justify="left")
        for name in ("demo_life_prospect", "demo_life_score", "demo_life_verdict", "demo_life_action"):
            table.add_column(t[name], overflow="fold")
        for name, score, verdict, action in life.scored:
            said = (
                t.get(f"demo_verdict_{verdict}", verdict),
                t.get(f"demo_action_{action.replace(' ', '_')}", action),
            )
            table.add_row(escape(name), escape(score), *(escape(x) for x in said))
        console.print(table)
    for name, curator, steps in life.onboarded:
        console.print(escape(t["demo_life_onboarded"].format(name=name, curator=curator, steps=steps)))
    completions, partners = life.training
    console.print(t["demo_life_training"].format(completions=completions, partners=partners))
    console.print(escape(t["demo_life_plans"].format(count=life.plans, lines="; ".join(life.plan_lines))))
    for text in life.reminders[:2]:
        console.print(escape(t["demo_life_reminder"].format(text=text)))
    if len(life.reminders) > 2:
        console.print(t["demo_life_more_reminders"].format(count=len(life.reminders) - 2))
    for text in life.access[:3]:
        console.print(escape(t["demo_life_access"].format(text=text)))
    if len(life.access) > 3:
        console.print(t["demo_life_more_access"].format(count=len(life.access) - 3))


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
    "--locale",
    type=click.Choice(LOCALES),
    default="ru",
    show_default=True,
    help="The language of the demo's config: its funnels, report, notifications and this summary.",
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
    obj: CliContext,
    out_dir: Path,
    seed: int,
    kind: str | None,
    rate_limit: bool,
    locale: str,
    serve: bool,
    port: int,
) -> None:
    """Run crm-bridge end to end against a local CRM sandbox: provision the four partner funnels,
    seed a partner network (partners of every type with curators, a few thousand leads and deals over
    the last months), then sync, distribute new leads, evaluate tiers, compute rewards and write the
    report. Needs no config file and no network."""
    console = obj.console
    if kind is None:
        raise UsageError("demo: no installed CRM adapter can run the demo (install crm-bridge-<crm>)")
    t = words("console", locale)
    console.print(f"[dim]• {escape(t['demo_starting'].format(crm=spec_for(kind).title))}…[/dim]")
    scenes: list[Any] = []

    def bot_scene(app: Any, result: Any, now: Any) -> None:
        from crm_bridge.daemon.engine import Engine
        from crm_bridge.sandbox.telegram import TelegramEmulator
        from crm_bridge.services.bot.demo import DEMO_TOKEN, run_bot_scene

        tg = TelegramEmulator(token=DEMO_TOKEN)
        with Sandbox("telegram", emulator=tg) as telegram:
            scenes.append(run_bot_scene(app, Engine(app), now, locale, tg, telegram.base_url))

    with Sandbox(kind, rate_limit=rate_limit) as sandbox:
        result = run_demo(
            out_dir.resolve(),
            sandbox,
            seed=seed,
            rate_limit=rate_limit,
            locale=locale,
            progress=lambda label: console.print(f"[dim]• {escape(label)}…[/dim]"),
            after_jobs=bot_scene,
        )
        result.crm_requests = sandbox.request_count()
        render(result, console)
        for scene in scenes:
            ru = locale == "ru"
            title = "Партнёрский бот в Телеграме" if ru else "The partners' Telegram bot"
            console.print(f"\n[bold]{title}[/bold]")
            for who, text in scene.lines:
                bot = who == "bot"
                shown = f"`{text}`" if not bot and text.startswith("/") else text  # a command typed
                label = ("бот" if ru else "bot") if bot else who
                style = "cyan" if bot else "green"
                console.print(f"[{style}]{escape(label)}:[/{style}] {escape(shown)}", highlight=False)
        if serve:
            serve_demo(obj, sandbox, result, kind, rate_limit, port, t)
        else:
            console.print(t["demo_serve_hint"], highlight=False)


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
    obj: CliContext,
    sandbox: Sandbox,
    result: DemoResult,
    kind: str,
    rate_limit: bool,
    port: int,
    t: Mapping[str, str],
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
        console.print("\n" + t["demo_serve_portal"].format(partner=escape(partner.name)), highlight=False)
        click.echo(f"  {url}/portal/signin#{invitation.key}")
        console.print(t["demo_serve_dashboard"], highlight=False)
        click.echo(f"  {url}/admin/   {t['demo_serve_secret']} ({ADMIN_TOKEN_ENV}): {token}")
        more = f'crm-bridge --config {result.config_path} partners invite "<name or id>"'
        console.print(t["demo_serve_more"].format(command=escape(more)), highlight=False)
        daemon.run_until_signal()
