"""The daemon's scheduler and job runner: schedules from config, failures contained, graceful stop."""

from __future__ import annotations

import threading
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from crm_bridge.config.ops import JobSchedule
from crm_bridge.daemon.jobs import JobRunner
from crm_bridge.daemon.scheduler import Daemon, trigger_for
from crm_bridge.errors import RateLimited

MSK = ZoneInfo("Europe/Moscow")
WAIT = 120.0  # only so a broken build cannot hang: the tests wait on events, not on time


class Observer:
    def __init__(self, expected: int = 0) -> None:
        self.finished: list[tuple[str, bool]] = []
        self.expected = expected
        self.all_finished = threading.Event()

    def job_finished(self, name: str, seconds: float, ok: bool, finished_at: float) -> None:
        self.finished.append((name, ok))
        if len(self.finished) >= self.expected:
            self.all_finished.set()


def test_every_and_cron_schedules_become_interval_and_cron_triggers_with_jitter() -> None:
    every = trigger_for(JobSchedule(every="5m", jitter=20), MSK)
    cron = trigger_for(JobSchedule(cron="0 3 * * *", jitter=7), MSK)
    assert isinstance(every, IntervalTrigger) and every.interval.total_seconds() == 300 and every.jitter == 20
    assert isinstance(cron, CronTrigger) and cron.jitter == 7
    assert str(cron.fields[5]) == "3"  # hour field


def test_jobs_are_registered_coalesced_with_misfire_grace_and_disabled_ones_skipped() -> None:
    runners = {n: JobRunner(n, lambda: None) for n in ("sync", "tiers", "report")}
    schedules = {
        "sync": JobSchedule(every=3600, misfire_grace=90),
        "tiers": JobSchedule(cron="0 3 * * *"),
        "report": JobSchedule(enabled=False, cron="0 8 1 * *"),
    }
    daemon = Daemon(runners, schedules, MSK, stop_timeout=1)
    daemon.start()
    try:
        jobs = daemon.scheduled_jobs()
    finally:
        daemon.stop()
    assert set(jobs) == {"sync", "tiers"}
    assert jobs["sync"]["coalesce"] is True
    assert jobs["sync"]["misfire_grace_time"] == 90


def test_an_interval_job_runs_at_start_and_a_failing_job_does_not_stop_the_others() -> None:
    observer = Observer(expected=2)
    ran = threading.Event()

    def failing() -> None:
        raise RateLimited("Bitrix24 said QUERY_LIMIT_EXCEEDED", crm="bitrix24", retry_after=2)

    runners = {
        "tiers": JobRunner("tiers", failing, observer=observer),
        "sync": JobRunner("sync", ran.set, observer=observer),
    }
    schedules = {"tiers": JobSchedule(every=3600), "sync": JobSchedule(every=3600)}
    daemon = Daemon(runners, schedules, MSK, stop_timeout=WAIT)
    daemon.start()
    try:
        assert ran.wait(WAIT) and observer.all_finished.wait(WAIT)
        ok, health = daemon.health()
    finally:
        assert daemon.stop()
    assert sorted(observer.finished) == [("sync", True), ("tiers", False)]
    assert ok and health["status"] == "ok"
    assert health["jobs"]["tiers"]["last_error"] == "RateLimited: Bitrix24 said QUERY_LIMIT_EXCEEDED"
    assert health["jobs"]["sync"]["last_success"] is not None


def test_a_successful_sync_runs_distribute_at_once_rather_than_at_its_next_interval() -> None:
    # distribute's start-up run ends before sync does, so a distribute run that begins after sync
    # succeeded can only be the follow-up: an hour's interval would hold it back an hour
    first_distribute_done, synced = threading.Event(), threading.Event()
    after_sync = threading.Semaphore(0)

    def sync() -> None:
        assert first_distribute_done.wait(WAIT)
        synced.set()

    def distribute() -> None:
        if synced.is_set():
            after_sync.release()
        first_distribute_done.set()

    runners = {"sync": JobRunner("sync", sync), "distribute": JobRunner("distribute", distribute)}
    schedules = {"sync": JobSchedule(every=3600), "distribute": JobSchedule(every=3600)}
    daemon = Daemon(runners, schedules, MSK, stop_timeout=WAIT)
    daemon.start()
    try:
        assert after_sync.acquire(timeout=WAIT)
    finally:
        assert daemon.stop()
    assert runners["distribute"].status.runs == 2


def test_a_run_asked_for_while_the_job_runs_follows_once_it_ends_and_never_overlaps() -> None:
    # a sync that succeeds while distribute is still busy: APScheduler alone would drop the at-once
    # run (one instance per job), and the leads that sync found would wait a whole interval
    daemon: Daemon
    active, overlapped = [0], []
    calls = threading.Semaphore(0)

    def distribute() -> None:
        active[0] += 1
        overlapped.append(active[0] > 1)
        if runners["distribute"].status.runs == 0:  # the start-up run, still busy: asked three times
            for _ in range(3):
                daemon.run_soon("distribute")
        active[0] -= 1
        calls.release()

    runners = {"distribute": JobRunner("distribute", distribute)}
    daemon = Daemon(runners, {"distribute": JobSchedule(every=3600)}, MSK, stop_timeout=WAIT)
    daemon.start()
    try:
        assert calls.acquire(timeout=WAIT) and calls.acquire(timeout=WAIT)
    finally:
        assert daemon.stop()
    assert runners["distribute"].status.runs == 2  # three asks while busy make one more run, not three
    assert overlapped == [False, False]


def test_a_failed_sync_does_not_run_distribute_again() -> None:
    observer = Observer(expected=2)

    def failing() -> None:
        raise RateLimited("Bitrix24 said QUERY_LIMIT_EXCEEDED", crm="bitrix24", retry_after=2)

    runners = {
        "sync": JobRunner("sync", failing, observer=observer),
        "distribute": JobRunner("distribute", lambda: None, observer=observer),
        "tiers": JobRunner("tiers", lambda: None, observer=observer),
    }
    schedules = {n: JobSchedule(every=3600) for n in runners}
    observer.expected = 3
    daemon = Daemon(runners, schedules, MSK, stop_timeout=WAIT)
    daemon.start()
    try:
        assert observer.all_finished.wait(WAIT)
    finally:
        assert daemon.stop()
    assert sorted(observer.finished) == [("distribute", True), ("sync", False), ("tiers", True)]


def test_job_runner_redacts_the_error_it_logs(caplog: pytest.LogCaptureFixture) -> None:
    def leaky() -> None:
        raise RateLimited("call to https://x.bitrix24.ru/rest/1/s3cr3t/ failed")

    runner = JobRunner("sync", leaky, redact=lambda t: t.replace("s3cr3t", "***"))
    assert runner() is False
    assert "s3cr3t" not in caplog.text and "/rest/1/***/" in caplog.text
    assert runner.status.failures == 1


def test_an_unexpected_bug_in_a_job_is_contained_and_reported_as_internal_error() -> None:
    runner = JobRunner("tiers", lambda: 1 / 0)
    assert runner() is False
    assert runner.status.last_error == "internal error ZeroDivisionError: division by zero"


def test_stop_lets_the_running_job_finish_its_batch() -> None:
    started, finished = threading.Event(), threading.Event()
    stopping = threading.Event()

    def long_sync() -> None:
        started.set()
        while not stopping.wait(0.01):  # a sync checks between pages
            pass
        finished.set()

    runners = {"sync": JobRunner("sync", long_sync)}
    daemon = Daemon(runners, {"sync": JobSchedule(every=3600)}, MSK, stop_timeout=WAIT, stopping=stopping)
    daemon.start()
    assert started.wait(WAIT)
    assert daemon.stop() is True
    assert finished.is_set()
    assert daemon.health()[1]["status"] == "stopping"


def test_stop_gives_up_on_a_job_that_ignores_it_after_the_bounded_time() -> None:
    started, release = threading.Event(), threading.Event()

    def stubborn() -> None:
        started.set()
        release.wait(WAIT)

    daemon = Daemon(
        {"sync": JobRunner("sync", stubborn)}, {"sync": JobSchedule(every=3600)}, MSK, stop_timeout=0.2
    )
    daemon.start()
    assert started.wait(WAIT)
    try:
        assert daemon.stop() is False
    finally:
        release.set()
