"""The engine's jobs wired to one application (settings, store, CRM adapter): sync, distribute,
escalate, tiers, lifecycle, events (when ``events.enabled``), notify and report — the same functions
for ``crm-bridge run`` (scheduled), ``crm-bridge sync --once`` (each once, in order) and scripts."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from crm_bridge.bootstrap import App
from crm_bridge.config.funnels import desired_layout_for
from crm_bridge.domain.model import FunnelKey, StageKind
from crm_bridge.errors import StateError
from crm_bridge.ports import Entity, EventPuller
from crm_bridge.security.files import write_private
from crm_bridge.services.distribute.escalate import EscalationResult, Escalator
from crm_bridge.services.distribute.result import AssignmentsRefused, DistributeResult
from crm_bridge.services.distribute.service import Distributor
from crm_bridge.services.distribute.settings import settings_from, team_from_settings
from crm_bridge.services.events import EventRun, EventWorker
from crm_bridge.services.intake.registrations import refresh_registrations
from crm_bridge.services.intake.service import DrainReport, IntakePolicy, IntakeService, Notify
from crm_bridge.services.metrics import BridgeMetrics
from crm_bridge.services.notify.message import notice
from crm_bridge.services.partners.context import InviteHook, Lifecycle
from crm_bridge.services.partners.cycle import LifecycleRun, run_lifecycle
from crm_bridge.services.partners.training import TrainingService
from crm_bridge.services.sync.pull import ENTITIES, SyncProgress, SyncResult, sync
from crm_bridge.services.sync.watch import SyncWatch
from crm_bridge.services.tiers.apply import TierFunnel
from crm_bridge.services.tiers.result import TierRun
from crm_bridge.services.tiers.service import TierService
from crm_bridge.services.tiers.settings import TierSettings

log = logging.getLogger("crm_bridge.engine")

WRITER_LOCK_WAIT = 1.0  # seconds a replica waits for the intake writer lock before leaving it be
# Distribution runs from the distribute job and after every events-driven sync, on any replica: one at a
# time (a store lock), since two at once would both write the same pending assignments' tasks. The second
# waits, then finds those leads settled and decides only what is new.
DISTRIBUTE_LOCK_WAIT = 300.0
JOB_ORDER: tuple[str, ...] = (
    "sync",
    "distribute",
    "escalate",
    "tiers",
    "lifecycle",
    "events",
    "notify",
    "bot",
    "bot_updates",
    "report",
)


@dataclass
class Engine:
    """``notifier`` is the outbox notifier (``crm_bridge.services.notify.notifier``); with None, events are
    not queued and the notify job does not exist. ``stopping`` asks long jobs to finish their batch."""

    app: App
    metrics: BridgeMetrics | None = None
    notifier: Any | None = None
    stopping: threading.Event = field(default_factory=threading.Event)
    progress: SyncProgress | None = None
    report_job: Callable[[], object] | None = None

    def __post_init__(self) -> None:
        settings = self.app.settings
        self._layout = desired_layout_for(settings)
        leads = next(f for f in self._layout.funnels if f.key == FunnelKey.LEADS.value)
        self.lead_stages = [
            s.key for s in sorted(leads.stages, key=lambda s: s.sort) if s.kind is StageKind.OPEN
        ]
        self.team = team_from_settings(settings)
        self.distribution = settings_from(settings)
        self.intake_policy = IntakePolicy.from_settings(settings)

    @property
    def _notify(self) -> Notify | None:
        return self.notifier

    def jobs(self) -> dict[str, Callable[[], object]]:
        """Job name -> function, in the order ``run_once`` uses."""
        jobs: dict[str, Callable[[], object]] = {
            "sync": self.sync,
            "distribute": self.distribute,
            "escalate": self.escalate,
            "tiers": self.tiers,
            "lifecycle": self.lifecycle,
        }
        if self.app.settings.events.enabled:
            jobs["events"] = self.events
        if self.notifier is not None:
            jobs["notify"] = self.notify
        if self.app.settings.bot.enabled:
            jobs["bot"] = self.bot_push
            if self.app.settings.bot.mode == "polling":
                jobs["bot_updates"] = self.bot_updates
        if self.report_job is not None:
            jobs["report"] = self.report_job
        elif self.app.settings.schedule.report.enabled:
            jobs["report"] = self.report
        return jobs

    def event_worker(self) -> EventWorker:
        """The worker of queued CRM events; it pulls them first where the CRM keeps them for us
        (an adapter that is an ``EventPuller`` and says ``pulls_events``)."""
        app, cfg = self.app, self.app.settings.events
        adapter = app.adapter
        puller = (
            adapter if isinstance(adapter, EventPuller) and getattr(adapter, "pulls_events", False) else None
        )
        metrics = self.metrics
        return EventWorker(
            app.store.events,
            app.portal,
            sync=lambda entities: self.sync_entities(entities),
            after_sync=self.after_events,
            clock=app.clock,
            puller=puller,
            on_pulled=(lambda n: metrics.crm_events_received(adapter.name, n)) if metrics else None,
            batch=cfg.batch,
            keep=timedelta(hours=cfg.keep_hours),
        )

    def events(self) -> EventRun:
        return self.event_worker().run()

    def after_events(self) -> None:
        """What follows a sync driven by events: distribution of the new leads, then tiers."""
        self.distribute()
        self.tiers()

    def sync(self) -> SyncResult:
        return self.sync_entities(None)

    def sync_entities(self, entities: Sequence[Entity] | None) -> SyncResult:
        """The sync job over ``entities`` (None: all); registrations are refreshed after it."""
        app = self.app
        on_page = self.metrics.records_synced if self.metrics else None
        now = app.clock()
        watch = SyncWatch(
            app.store, app.portal, self._notify, curators=self.team.curators, head=self.team.head
        )
        result = watch.run(
            lambda: sync(
                app.adapter,
                app.store,
                app.portal,
                now=now,
                progress=self.progress,
                should_stop=self.stopping.is_set,
                on_page=on_page,
                entities=ENTITIES if entities is None else entities,
            ),
            now,
        )
        if not result.stopped:
            refresh_registrations(
                app.store,
                app.portal,
                self.intake_policy,
                app.clock(),
                curators=self.team.curators,
                notifier=self._notify,
            )
        return result

    def distribute(self) -> DistributeResult:
        app = self.app
        distributor = Distributor(
            app.adapter, app.store, app.portal, self.team, self.distribution, notifier=self._notify
        )
        with app.store.locks.lock(f"distribute:{app.portal}", timeout=DISTRIBUTE_LOCK_WAIT):
            result = distributor.distribute(app.clock())
        if self.metrics is not None:
            for manager, count in result.per_manager().items():
                self.metrics.leads_distributed(manager, count)
            self.metrics.tasks_created("distribution", sum(1 for a in result.assigned if a.task_crm_id))
            if result.failed:
                self.metrics.leads_refused(len(result.failed))
        if result.failed:
            raise AssignmentsRefused(result)  # the job fails: exit status, /healthz, /metrics
        return result

    def escalate(self) -> EscalationResult:
        app = self.app
        escalator = Escalator(
            app.adapter, app.store, app.portal, self.team, self.distribution, notifier=self._notify
        )
        result = escalator.escalate(app.clock())
        if self.metrics is not None:
            self.metrics.tasks_created("escalation", len(result.escalated))
        return result

    def tier_service(self) -> TierService:
        app = self.app
        return TierService(
            app.adapter,
            app.store,
            app.portal,
            TierSettings.from_settings(app.settings),
            lead_stages=self.lead_stages,
            funnel=TierFunnel.from_layout(self._layout),
            curators=self.team.curators,
            head=self.team.head,
            notifier=self._notify,
            training=TrainingService(self.partner_lifecycle()).certified_people,
            prospects=self.partner_lifecycle().prospects,
        )

    def tiers(self) -> TierRun:
        return self.tier_service().evaluate(self.app.clock())

    def partner_lifecycle(self, invite: InviteHook | None = None) -> Lifecycle:
        """The partner lifecycle's services wired to this application (``crm_bridge.services.partners``).
        ``invite``: the partner portal's invitation function, called once per onboarded partner; by
        default the portal's own (``PortalInvitations``: a sign-in link told to the curator) while
        ``portal.invite_on_onboarding``."""
        app = self.app
        life = Lifecycle(
            app.adapter,
            app.store,
            app.portal,
            app.settings,
            curators=self.team.curators,
            head=self.team.head,
            notifier=self._notify,
            invite=invite,
        )
        if invite is None and app.settings.portal.invite_on_onboarding:
            from crm_bridge.services.partners.portal_invite import PortalInvitations
            from crm_bridge.services.portal.access import PortalAccess

            life.invite = PortalInvitations(
                PortalAccess.for_app(app), life, portal_public_url(app.settings), app.clock
            )
        return life

    def lifecycle(self) -> LifecycleRun:
        return run_lifecycle(self.partner_lifecycle(), self.app.clock(), lead_stages=tuple(self.lead_stages))

    def notify(self) -> object:
        if self.notifier is None:
            raise AssertionError("invariant broken: self.notifier is not None")
        return self.notifier.flush(self.app.clock())

    def report(self) -> list[Path]:
        """The scheduled report: ``reports.period`` in every file format of ``reports.formats`` written
        to ``reports.out_dir``; the head hears where (event ``report_ready``)."""
        from crm_bridge.services.report.csv_table import report_csv
        from crm_bridge.services.report.data import build_report, default_period
        from crm_bridge.services.report.html_page import render_html

        app, cfg = self.app, self.app.settings.reports
        now = app.clock()
        period = default_period(now, app.settings.timezone, cfg.period)
        data = build_report(app.store, app.portal, app.settings, self._layout, period, now=now)
        written: list[Path] = []
        for fmt in (f for f in cfg.formats if f != "table"):
            target = Path(cfg.out_dir) / f"partner-report-{period.key}.{fmt}"
            write_private(target, report_csv(data) if fmt == "csv" else render_html(data))
            written.append(target)
        if written and self._notify is not None and self.team.head is not None:
            paths = ", ".join(str(p) for p in written)
            text = notice(self._notify, "report_ready", period=period.key, paths=paths)
            self._notify.notify("report_ready", [self.team.head], text, key=f"report_ready:{period.key}")
        return written

    def partner_bot(self) -> Any:
        """The partners' Telegram bot (``crm_bridge.services.bot``), made once."""
        if getattr(self, "_bot", None) is None:
            from crm_bridge.services.bot.service import PartnerBot

            self._bot = PartnerBot.for_app(self.app, self.intake_service(), head=self.team.head)
        return self._bot

    def bot_push(self) -> object:
        return self.partner_bot().push()

    def bot_updates(self) -> object:
        if self.stopping.is_set():
            return 0
        return self.partner_bot().poll_once()

    def intake_service(self) -> IntakeService:
        app = self.app
        return IntakeService(
            app.adapter,
            app.store,
            app.portal,
            policy=self.intake_policy,
            curators=self.team.curators,
            notifier=self._notify,
        )

    def drain_intake(self, service: IntakeService | None = None) -> DrainReport:
        """Create the API's queued leads in the CRM (one process at a time: the writer lock; a
        replica that finds it held leaves the queue to the holder)."""
        app = self.app
        service = service or self.intake_service()
        try:
            with app.store.locks.lock(f"intake-writer:{app.portal}", timeout=WRITER_LOCK_WAIT):
                return service.drain(now=app.clock())
        except StateError as exc:
            if "held by another" in str(exc):
                return DrainReport()
            raise

    def run_once(self, enabled: Callable[[str], bool] = lambda name: True) -> dict[str, object]:
        """Run every enabled job once, in ``JOB_ORDER``; results by job name. A job's CrmBridgeError
        propagates (the CLI reports it); the daemon wraps each job in a ``JobRunner`` instead."""
        results: dict[str, object] = {}
        for name, job in self.jobs().items():
            if self.stopping.is_set():
                break
            if enabled(name):
                results[name] = job()
        return results


def portal_public_url(settings: Any) -> str:
    """Where partners open the portal: ``portal.public_url``, else the daemon's own address."""
    url: str = (
        settings.portal.public_url or f"http://{settings.intake.listen_host}:{settings.intake.listen_port}"
    )
    return url
