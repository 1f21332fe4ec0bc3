"""``crm-bridge demo``: a config pointing at a CRM sandbox (started by the caller, any adapter with
``DemoSupport``),
provisioning, a seeded partner network, then the real jobs — sync, distribution, tiers, rewards,
report — and what they did."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

import yaml

from crm_bridge.bootstrap import App, bootstrap
from crm_bridge.config import Settings, load_settings
from crm_bridge.config.funnels import desired_layout_for
from crm_bridge.demo_network import generate
from crm_bridge.domain.kpis import DepartmentKpis, compute_kpis
from crm_bridge.domain.layout import DesiredLayout
from crm_bridge.domain.model import Curator, StageKind
from crm_bridge.domain.period import Period
from crm_bridge.errors import ConfigError
from crm_bridge.plugin import spec_for
from crm_bridge.security.files import private_dir, write_private
from crm_bridge.security.secrets import ENV as SECRET_KEY_ENV
from crm_bridge.security.secrets import generate_key
from crm_bridge.services.demo.config_file import demo_config
from crm_bridge.services.distribute.service import Distributor
from crm_bridge.services.distribute.settings import settings_from, team_from_settings
from crm_bridge.services.partners.training import TrainingService
from crm_bridge.services.provision import ProvisionResult, provision
from crm_bridge.services.sync.pull import sync
from crm_bridge.services.tiers.apply import TierFunnel
from crm_bridge.services.tiers.service import TierService
from crm_bridge.services.tiers.settings import TierSettings
from crm_bridge.texts import words


@dataclass(frozen=True)
class TierMove:
    partner: str
    old: str
    new: str
    direction: str
    reason: str


@dataclass
class DemoResult:
    out_dir: Path
    config_path: Path
    funnels: list[tuple[str, list[str]]] = field(default_factory=list)  # funnel name, stage names
    provisioned: dict[str, int] = field(default_factory=dict)  # plan action -> count
    seeded: dict[str, int] = field(default_factory=dict)
    synced: dict[str, int] = field(default_factory=dict)  # entity -> records
    per_manager: list[tuple[str, int]] = field(default_factory=list)  # manager name, leads assigned
    sample_reasons: list[tuple[str, str]] = field(default_factory=list)  # manager name, why
    tier_moves: list[TierMove] = field(default_factory=list)
    tier_warnings: list[str] = field(default_factory=list)  # partner names
    kpi_period: str = ""
    kpis: DepartmentKpis | None = None
    reports: list[Path] = field(default_factory=list)
    rewards_total: Decimal = Decimal(0)
    rewards_paid: int = 0  # partners with a non-zero statement
    leaders: list[tuple[int, str, int]] = field(default_factory=list)  # rank, partner, points
    timings: dict[str, float] = field(default_factory=dict)  # step -> seconds
    crm_requests: int = 0
    locale: str = "ru"  # the demo config's: what the console summary is written in
    lifecycle: Any = None  # services.demo.lifecycle.LifecycleDemo


def department_goals(now: datetime, partners: int) -> dict[str, dict[str, int]]:
    """The department's plan for the current and the previous month (Europe/Moscow, the demo's zone),
    sized to the demo network (so the dashboard shows plan against actual)."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("Europe/Moscow")
    month = Period.containing(now, "month", zone)
    targets = {
        "revenue": partners * 700_000,
        "leads": partners * 4,
        "conversion": 20,
        "new_partners": max(1, partners // 25),
    }
    return {month.key: targets, month.previous(zone).key: targets}


def lead_stages(layout: DesiredLayout) -> list[str]:
    """The lead funnel's open stage keys in order."""
    funnel = next(f for f in layout.funnels if f.key == "leads")
    return [s.key for s in sorted(funnel.stages, key=lambda s: s.sort) if s.kind is StageKind.OPEN]


def _head(settings: Settings) -> Curator | None:
    h = settings.head
    return Curator("head", h.name, h.crm_user_id, h.email, h.telegram_chat_id) if h else None


class _Timer:
    def __init__(self, timings: dict[str, float], progress: Callable[[str], None], locale: str) -> None:
        self.timings, self.progress, self._words = timings, progress, words("console", locale)

    def step(self, name: str) -> _Step:
        self.progress(self._words[f"demo_step_{name}"])
        return _Step(self.timings, name)


class _Step:
    def __init__(self, timings: dict[str, float], name: str) -> None:
        self.timings, self.name = timings, name

    def __enter__(self) -> None:
        self.started = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self.timings[self.name] = time.perf_counter() - self.started


class DemoSandbox(Protocol):
    """The running sandbox the demo talks to (``crm_bridge.sandbox.server.Sandbox``)."""

    kind: str
    emulator: Any

    def config_snippet(self) -> dict[str, Any]: ...


def run_demo(
    out_dir: Path,
    sandbox: DemoSandbox,
    *,
    seed: int = 7,
    per_type: int = 30,
    months: int = 6,
    fresh_leads: int = 60,
    rate_limit: bool = False,
    now: datetime | None = None,
    locale: str = "ru",
    progress: Callable[[str], None] = lambda label: None,
    after_jobs: Callable[[App, DemoResult, datetime], None] | None = None,
) -> DemoResult:
    """Run the whole demo into ``out_dir`` (config, state database, reports) against the ``kind``
    ``sandbox`` the caller runs (the adapter's ``DemoSupport`` turns its config
    snippet into the crm section and seeds it). ``rate_limit`` keeps the client to the CRM's limits;
    without it the client never waits. ``after_jobs`` runs extra steps on the wired application before
    it closes. ``locale`` is the demo config's (``ru`` or ``en``): the report, notifications and the
    console summary speak it. Raises ConfigError when the adapter has no demo support."""
    kind = sandbox.kind
    support = spec_for(kind).demo
    if support is None:
        raise ConfigError(f"--crm {kind}: the {kind} adapter has no demo support")
    section, env = support.crm_section(sandbox.config_snippet(), rate_limit)
    private_dir(out_dir)
    moment = now or datetime.now(UTC)
    result = DemoResult(out_dir=out_dir, config_path=out_dir / "config.yaml", locale=locale)
    timer = _Timer(result.timings, progress, locale)
    db = out_dir / "crm_bridge_demo.db"
    for stale in out_dir.glob("crm_bridge_demo.db*"):
        stale.unlink()
    config = demo_config(f"sqlite:///{db}", kind, section)
    config["reports"]["out_dir"] = str(out_dir / "reports")
    config["goals"]["department"] = department_goals(moment, per_type * 4)
    config["locale"] = locale
    write_private(
        result.config_path,
        f"# Written by `crm-bridge demo`: a {spec_for(kind).title} sandbox on a local port.\n"
        + yaml.safe_dump(config, allow_unicode=True, sort_keys=False),
    )
    dotenv = out_dir / ".env"
    if SECRET_KEY_ENV not in os.environ and not dotenv.exists():  # tokens a sandbox hands out are stored
        write_private(dotenv, f"# Written by `crm-bridge demo`\n{SECRET_KEY_ENV}={generate_key()}\n")
    settings = load_settings(result.config_path, environ=env)
    with bootstrap(settings) as app:
        layout = desired_layout_for(settings)
        with timer.step("provision"):
            done: ProvisionResult = provision(app.adapter, layout)
        result.provisioned = done.summary()
        result.funnels = [
            (f.name, [s.name for s in sorted(f.stages, key=lambda s: s.sort)])
            for f in sorted(layout.funnels, key=lambda f: f.sort)
        ]
        with timer.step("seed"):
            net = generate(moment, seed=seed, per_type=per_type, months=months, fresh_leads=fresh_leads)
            result.seeded = support.seed(sandbox.emulator, app.adapter, net)
        _jobs(app, settings, layout, result, timer, moment)
        if after_jobs is not None:
            after_jobs(app, result, moment)
    return result


def _jobs(
    app: App, settings: Settings, layout: DesiredLayout, result: DemoResult, timer: _Timer, now: datetime
) -> None:
    with timer.step("sync"):
        synced = sync(app.adapter, app.store, app.portal, now=now)
    result.synced = {e.entity.value: e.records for e in synced.entities}
    team = team_from_settings(settings)
    names = {m.key: m.name for m in team.managers}
    with timer.step("distribute"):
        distributed = Distributor(
            app.adapter, app.store, app.portal, team, settings_from(settings)
        ).distribute(now)
    counts = distributed.per_manager()
    result.per_manager = [(m.name, counts.get(m.key, 0)) for m in team.managers]
    seen: set[str] = set()
    for rec in distributed.assigned:
        if rec.manager_key and rec.manager_key not in seen:
            seen.add(rec.manager_key)
            result.sample_reasons.append((names.get(rec.manager_key, rec.manager_key), rec.reason))
    from crm_bridge.services.demo.lifecycle import Collected, after_tiers, before_tiers, lifecycle

    life = lifecycle(app, settings, head=_head(settings), notifier=Collected())
    tier_settings = TierSettings.from_settings(settings)
    service = TierService(
        app.adapter,
        app.store,
        app.portal,
        tier_settings,
        lead_stages=lead_stages(layout),
        funnel=TierFunnel.from_layout(layout),
        curators=settings.domain_curators(),
        head=_head(settings),
        training=TrainingService(life).certified_people,
        prospects=life.prospects,
    )
    before_tiers(life, now)
    with timer.step("tiers"):
        run = service.evaluate(now)
    with timer.step("lifecycle"):
        result.lifecycle = after_tiers(life, now, result.out_dir, tuple(lead_stages(layout)), seed=7)
    partners = {p.crm_id: p.name for p in app.store.partners(app.portal)}
    label = tier_settings.names
    result.tier_moves = [
        TierMove(
            partners.get(c.partner_id, c.partner_id),
            label.get(c.old or "", c.old or "-"),
            label.get(c.new, c.new),
            c.direction,
            c.reason,
        )
        for c in run.changes
    ]
    result.tier_warnings = [partners.get(p, p) for p in run.warnings]
    with timer.step("resync"):
        sync(app.adapter, app.store, app.portal, now=datetime.now(UTC))
    period = Period.containing(now, "month", _zone(settings)).previous(_zone(settings))
    kpis = compute_kpis(
        period,
        app.store.leads(app.portal),
        app.store.deals(app.portal),
        app.store.partners(app.portal),
        lead_stages=lead_stages(layout),
    )
    result.kpi_period, result.kpis = period.key, kpis.department
    with timer.step("report"):
        _report(app, settings, layout, result, period, now)


def _report(
    app: App, settings: Settings, layout: DesiredLayout, result: DemoResult, period: Period, now: datetime
) -> None:
    """Rewards statements (CSV) and the KPI report (HTML and CSV) for ``period`` into reports/."""
    from crm_bridge.services.report.csv_table import report_csv
    from crm_bridge.services.report.data import build_report
    from crm_bridge.services.report.html_page import render_html
    from crm_bridge.services.rewards import leaderboard_csv, rewards_for, statements_csv

    folder = Path(settings.reports.out_dir)
    private_dir(folder)
    data = build_report(app.store, app.portal, settings, layout, period, now=now)
    html_path = folder / f"partner-report-{period.key}.html"
    write_private(html_path, render_html(data))
    csv_path = folder / f"partner-report-{period.key}.csv"
    write_private(csv_path, report_csv(data))
    rewards = rewards_for(settings, app.store, app.portal, period)
    statements = folder / f"rewards-{period.key}.csv"
    write_private(statements, statements_csv(rewards))
    board = folder / f"leaderboard-{period.key}.csv"
    write_private(board, leaderboard_csv(rewards))
    result.reports = [html_path, csv_path, statements, board]
    result.rewards_total = rewards.total()
    result.rewards_paid = sum(1 for st in rewards.statements if st.total > 0)
    result.leaders = [(row.rank, row.name, row.points) for row in rewards.leaderboard[:5]]


def _zone(settings: Settings) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(settings.timezone)
