"""Daemon replicas on one store: a scheduled job runs only on the replica holding its lease, each run is
recorded with that replica, and a job that moves to a replica is run there at once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest

from crm_bridge.config.ops import JobSchedule
from crm_bridge.daemon.jobs import JobRunner
from crm_bridge.daemon.replica import JobLeases
from crm_bridge.daemon.scheduler import Daemon
from crm_bridge.store import Store, open_store
from crm_bridge.store.leases import LeaseRepository

MSK = ZoneInfo("Europe/Moscow")
WAIT = 120.0  # only so a broken build cannot hang


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with open_store(store_url) as opened:
        yield opened


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def replica(store: Store, name: str, clock: Clock, ran: list[str]) -> Daemon:
    repo = LeaseRepository(store.engine, "p", clock=clock)
    leases = JobLeases(repo, ["sync"], lease=30, replica=name)
    runners = {"sync": JobRunner("sync", lambda: ran.append(name))}
    return Daemon(runners, {"sync": JobSchedule(every=3600)}, MSK, leases=leases)


def test_a_job_runs_only_on_the_replica_holding_its_lease_and_moves_when_that_one_dies(store: Store) -> None:
    clock, ran = Clock(), []
    a, b = replica(store, "a", clock, ran), replica(store, "b", clock, ran)
    assert a.leases is not None and b.leases is not None
    a.leases.tick()
    b.leases.tick()
    for daemon in (a, b, a, b):
        daemon._run("sync")  # what the scheduler calls on each tick
    assert ran == ["a", "a"]
    lease = LeaseRepository(store.engine, "p").leases()[0]
    assert (lease.holder, lease.last_holder, lease.runs, lease.last_ok) == ("a", "a", 2, True)
    clock.now += 21  # a stopped renewing (killed): its 20 s lease ran out
    b.leases.tick()
    b._run("sync")
    assert ran == ["a", "a", "b"]


def test_a_job_that_moves_to_a_running_replica_runs_there_at_once(store: Store) -> None:
    clock, ran = Clock(), []
    done = threading.Event()
    repo = LeaseRepository(store.engine, "p", clock=clock)
    repo.claim("dead", ["sync"], ttl=20)
    leases = JobLeases(repo, ["sync"], lease=30, replica="b")
    runners = {"sync": JobRunner("sync", lambda: (ran.append("b"), done.set()))}
    daemon = Daemon(runners, {"sync": JobSchedule(every=3600)}, MSK, leases=leases)
    daemon.start()
    try:
        assert ran == [] and not leases.holds("sync")  # held by "dead": the first tick skipped it
        clock.now += 21
        leases.tick()  # the keeper's next claim takes it over
        assert done.wait(WAIT)
        assert set(ran) == {"b"}
    finally:
        daemon.stop()
    assert LeaseRepository(store.engine, "p").leases()[0].holder == ""  # handed back on stop
