"""The daemon's lifecycle: an APScheduler 3.x BackgroundScheduler running the jobs of the ``schedule``
config section (coalesced, one instance each, jittered, with a misfire grace), the HTTP port, and a
graceful stop on SIGTERM/SIGINT within a bounded time."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from types import FrameType
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler  # type: ignore[import-untyped]
from apscheduler.triggers.base import BaseTrigger  # type: ignore[import-untyped]
from apscheduler.triggers.cron import CronTrigger  # type: ignore[import-untyped]
from apscheduler.triggers.interval import IntervalTrigger  # type: ignore[import-untyped]

from crm_bridge.config.ops import JobSchedule
from crm_bridge.daemon.jobs import JobRunner
from crm_bridge.web.server import WebServer

if TYPE_CHECKING:
    from crm_bridge.daemon.replica import JobLeases

log = logging.getLogger("crm_bridge.daemon")
CRITICAL_JOBS = ("sync",)  # a failing one turns /healthz to 503 "degraded" until it succeeds again
# After a successful run of the key job, the jobs it names run at once rather than at their next interval:
# a lead found by a polling sync gets its manager's task in the same minute, not one interval later
# (distribute started in phase with sync and always just missed that sync's leads).
FOLLOW_UPS: Mapping[str, tuple[str, ...]] = {"sync": ("distribute",)}
# APScheduler may start a job's call while the previous call is still counted (it has returned but the
# executor has not yet booked its end); the daemon keeps one run at a time itself (Daemon._run), so an
# at-once run asked for in that moment is not dropped as "maximum number of running instances reached".
INSTANCES = 2


class _SkippedRunFilter(logging.Filter):
    """APScheduler warns each time a run is skipped because the previous one is still going. With one
    run at a time per job and ``coalesce`` that is the intended behaviour (the events job every 2 s is
    often still busy), so it is logged at debug by the daemon instead of as a warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "maximum number of running instances reached" in record.getMessage():
            log.debug("%s", record.getMessage())
            return False
        return True


logging.getLogger("apscheduler.scheduler").addFilter(_SkippedRunFilter())


def trigger_for(schedule: JobSchedule, tz: ZoneInfo) -> BaseTrigger:
    """The APScheduler trigger of one job's schedule (``every`` seconds or a 5-field ``cron``)."""
    jitter = schedule.jitter or None
    if schedule.every is not None:
        return IntervalTrigger(seconds=schedule.every, timezone=tz, jitter=jitter)
    if schedule.cron is None:
        raise AssertionError("invariant broken: schedule.cron is not None")
    trigger = CronTrigger.from_crontab(schedule.cron, timezone=tz)
    trigger.jitter = jitter
    return trigger


class Background(Protocol):
    """A thread the daemon starts after the scheduler and stops before the HTTP port."""

    def start(self) -> None: ...

    def stop(self, timeout: float = 30.0) -> None: ...


class Daemon:
    """Runs ``runners`` on their ``schedules`` and serves ``http`` until stopped.

    Interval jobs run once right at start, then every interval; cron jobs wait for their time.
    ``stopping`` is set first on stop, so long jobs (sync) can finish their current batch and return.
    ``leases``: with several replicas on one store, a job runs here only while this replica holds its
    lease; a job that moves here from a dead replica runs at once when it is an interval job."""

    def __init__(
        self,
        runners: Mapping[str, JobRunner],
        schedules: Mapping[str, JobSchedule],
        tz: ZoneInfo,
        *,
        http: WebServer | None = None,
        stop_timeout: float = 30.0,
        stopping: threading.Event | None = None,
        now: Callable[[], datetime] | None = None,
        background: Sequence[Background] = (),
        leases: JobLeases | None = None,
    ) -> None:
        self.background = list(background)  # threads beside the jobs (the intake writer)
        self.runners = dict(runners)
        self.leases = leases
        self._schedules = dict(schedules)
        self._tz = tz
        self.http = http
        self.stop_timeout = stop_timeout
        self.stopping = stopping or threading.Event()
        self._now = now or (lambda: datetime.now(tz))
        self._scheduler = BackgroundScheduler(
            timezone=tz, job_defaults={"coalesce": True, "max_instances": INSTANCES}
        )
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._running: set[str] = set()  # jobs in a call of _run (one at a time each)
        self._requested: set[str] = set()  # jobs asked to run at once (a follow-up, a moved lease)

    def start(self) -> None:
        if self.leases is not None:
            self.leases.on_acquired = self.run_soon
            self.leases.start()
        for name in self.runners:
            sched = self._schedules[name]
            if not sched.enabled:
                continue
            extra: dict[str, Any] = {}
            if sched.every is not None:
                extra["next_run_time"] = self._now()
            self._scheduler.add_job(
                self._run,
                trigger_for(sched, self._tz),
                args=(name,),
                id=name,
                name=name,
                coalesce=True,
                max_instances=INSTANCES,
                misfire_grace_time=max(1, int(sched.misfire_grace)),
                replace_existing=True,
                **extra,
            )
        self._scheduler.start()
        for worker in self.background:
            worker.start()
        if self.http is not None:
            self.http.start()
        log.info("daemon started: jobs %s", ", ".join(j.id for j in self._scheduler.get_jobs()) or "none")

    def _run(self, name: str) -> None:
        """The scheduled call of job ``name``, one at a time: a call while it runs returns at once (a
        scheduled overlap is skipped), but a run asked for meanwhile (``run_soon``: a follow-up, a
        lease that moved here) is done by the running call once it ends, so it is never lost."""
        with self._lock:
            if name in self._running:
                log.debug("job %s skipped: still running", name)
                return
            self._running.add(name)
            self._requested.discard(name)  # this call is the run that was asked for
        try:
            while True:
                self._run_once(name)
                with self._lock:
                    if name not in self._requested or self.stopping.is_set():
                        self._running.discard(name)
                        return
                    self._requested.discard(name)
        except BaseException:
            with self._lock:
                self._running.discard(name)
            raise

    def _run_once(self, name: str) -> None:
        """One run of job ``name``: skipped unless this replica holds its lease; after a successful
        run, the jobs it names in FOLLOW_UPS are asked to run at once."""
        runner, leases = self.runners[name], self.leases
        if leases is None:
            ok = runner()
        elif not leases.holds(name):
            log.debug("job %s skipped: held by another replica", name)
            return
        else:
            leases.run_started(name)
            ok = runner()
            leases.run_finished(name, ok, runner.status.last_error)
        if ok:
            for follow_up in FOLLOW_UPS.get(name, ()):
                if follow_up in self.runners and (leases is None or leases.holds(follow_up)):
                    self.run_soon(follow_up)

    def run_soon(self, name: str) -> None:
        """Ask for a run of interval job ``name`` now (coalesced with its schedule): after the job it
        follows, or when its lease moved here. While it runs, the running call runs it once more when
        it ends; several asks meanwhile make one more run."""
        sched = self._schedules.get(name)
        if sched is None or sched.every is None or not self._scheduler.running or self.stopping.is_set():
            return
        with self._lock:
            self._requested.add(name)
            if name in self._running:
                return
        try:
            self._scheduler.modify_job(name, next_run_time=self._now())
        except LookupError:  # not scheduled (disabled) or already shut down
            pass

    def scheduled_jobs(self) -> dict[str, dict[str, Any]]:
        """What the scheduler holds per job id: trigger, next run, coalesce, max instances, grace."""
        return {
            job.id: {
                "trigger": job.trigger,
                "next_run_time": job.next_run_time,
                "coalesce": job.coalesce,
                "max_instances": job.max_instances,
                "misfire_grace_time": job.misfire_grace_time,
            }
            for job in self._scheduler.get_jobs()
        }

    def stop(self) -> bool:
        """Stop the HTTP port first (no new requests; those in flight finish), then stop scheduling and
        let running jobs finish their batch (up to ``stop_timeout`` seconds). True when every job
        finished in time."""
        if self._stopped.is_set():
            return True
        if self.http is not None:
            self.http.stop()
        self.stopping.set()
        self._scheduler.shutdown(wait=False)
        deadline = time.monotonic() + self.stop_timeout
        while any(r.status.running for r in self.runners.values()) and time.monotonic() < deadline:
            time.sleep(0.05)
        for worker in self.background:
            worker.stop(max(0.0, deadline - time.monotonic()))
        clean = not any(r.status.running for r in self.runners.values())
        if self.leases is not None:  # last: the jobs have stopped here, another replica may take them
            self.leases.stop()
        self._stopped.set()
        if clean:
            log.info("daemon stopped")
        else:
            busy = [n for n, r in self.runners.items() if r.status.running]
            log.warning("daemon stopped after %.0fs with job(s) still running: %s", self.stop_timeout, busy)
        return clean

    def run_until_signal(self) -> bool:
        """Start, block until SIGTERM or SIGINT, then stop. Returns what ``stop`` returned."""
        wake = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            log.info("received %s, stopping", signal.Signals(signum).name)
            wake.set()  # stop() drains the HTTP port first, then tells the jobs

        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            self.start()
            while not wake.wait(0.5):
                pass
            return self.stop()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def health(self) -> tuple[bool, dict[str, Any]]:
        jobs = {name: r.status.as_json() for name, r in self.runners.items()}
        if self.leases is not None:
            for name, job in jobs.items():
                job["held_here"] = self.leases.holds(name)
        if self.stopping.is_set():
            return False, {"status": "stopping", "jobs": jobs}
        failing = [n for n in CRITICAL_JOBS if n in self.runners and self.runners[n].status.last_error]
        if failing:  # the replica goes stale: every other job works on old data
            return False, {"status": "degraded", "failing": failing, "jobs": jobs}
        return True, {"status": "ok", "jobs": jobs}
