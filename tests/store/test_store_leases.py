"""Job leases of daemon replicas (``crm_bridge.store.leases``), on SQLite and PostgreSQL: one holder per
job, renewal, takeover when the holder stops renewing, hand-over on release, and the claim being safe
when many replicas claim at once."""

from __future__ import annotations

import threading
from collections import Counter

from crm_bridge.daemon.replica import JobLeases
from crm_bridge.store import Store
from crm_bridge.store.leases import LeaseRepository

JOBS = ["sync", "distribute", "escalate", "tiers", "notify"]


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_the_first_replica_takes_every_free_job_and_the_second_none(store: Store) -> None:
    clock = Clock()
    repo = LeaseRepository(store.engine, "p", clock=clock)
    assert repo.claim("a", JOBS, ttl=20)[0] == set(JOBS)
    assert repo.claim("b", JOBS, ttl=20)[0] == set()
    clock.now += 19  # a renews in time: still a's
    assert repo.claim("a", JOBS, ttl=20)[0] == set(JOBS)
    clock.now += 19
    assert repo.claim("b", JOBS, ttl=20)[0] == set()
    assert {lease.holder for lease in repo.leases()} == {"a"}


def test_a_replica_that_stops_renewing_loses_its_jobs_when_the_lease_runs_out(store: Store) -> None:
    clock = Clock()
    repo = LeaseRepository(store.engine, "p", clock=clock)
    repo.claim("a", JOBS, ttl=20)
    clock.now += 20.5  # a was killed: no renewal
    assert repo.claim("b", JOBS, ttl=20)[0] == set(JOBS)
    assert repo.claim("a", JOBS, ttl=20)[0] == set()  # a coming back finds them taken
    assert {lease.holder for lease in repo.leases()} == {"b"}


def test_released_jobs_move_to_another_replica_at_once(store: Store) -> None:
    clock = Clock()
    repo = LeaseRepository(store.engine, "p", clock=clock)
    repo.claim("a", JOBS, ttl=20)
    repo.release("a", ["sync"])
    assert repo.claim("b", JOBS, ttl=20)[0] == {"sync"}
    repo.release("a")
    assert repo.claim("b", JOBS, ttl=20)[0] == set(JOBS)


def test_leases_of_two_portals_on_one_store_are_apart(store: Store) -> None:
    clock = Clock()
    assert LeaseRepository(store.engine, "p1", clock=clock).claim("a", JOBS, ttl=20)[0] == set(JOBS)
    assert LeaseRepository(store.engine, "p2", clock=clock).claim("b", JOBS, ttl=20)[0] == set(JOBS)


def test_many_replicas_claiming_at_once_never_share_a_job(store: Store) -> None:
    clock = Clock()
    repo = LeaseRepository(store.engine, "p", clock=clock)
    winners: Counter[str] = Counter()
    lock = threading.Lock()
    start = threading.Barrier(6)

    def claim(name: str) -> None:
        start.wait()
        for _ in range(5):
            held, _ = repo.claim(name, JOBS, ttl=20)
            with lock:
                for job in held:
                    winners[f"{job}:{name}"] += 1

    threads = [threading.Thread(target=claim, args=(f"r{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    holders_per_job = Counter(key.split(":")[0] for key in winners)
    assert holders_per_job == dict.fromkeys(JOBS, 1)  # each job won by one replica only, every time
    assert len({lease.holder for lease in repo.leases()}) >= 1


def test_a_job_run_is_recorded_with_the_replica_that_ran_it(store: Store) -> None:
    clock = Clock()
    repo = LeaseRepository(store.engine, "p", clock=clock)
    repo.claim("a", JOBS, ttl=20)
    repo.started("a", "sync")
    clock.now += 3
    repo.finished("a", "sync", False, "CrmError: the CRM said no")
    sync = next(lease for lease in repo.leases() if lease.job == "sync")
    assert (sync.last_holder, sync.runs, sync.last_ok, sync.last_error) == (
        "a",
        1,
        False,
        "CrmError: the CRM said no",
    )
    assert sync.last_finished is not None and sync.last_started is not None
    assert sync.last_finished - sync.last_started == 3


def test_the_keeper_holds_a_job_only_until_its_local_deadline_when_renewals_fail(store: Store) -> None:
    clock, local = Clock(), Clock(50.0)
    repo = LeaseRepository(store.engine, "p", clock=clock)
    moved: list[str] = []
    keeper = JobLeases(repo, JOBS, lease=30, replica="a", monotonic=local)
    keeper.on_acquired = moved.append
    keeper.tick()
    assert keeper.held() == JOBS and moved == sorted(JOBS)
    local.now += 19.9  # the lease is written for 2/3 of 30 s; no renewal since
    assert keeper.holds("sync")
    local.now += 0.2
    assert not keeper.holds("sync")  # before the database expiry another replica waits for
    other = JobLeases(repo, JOBS, lease=30, replica="b", monotonic=local)
    other.tick()
    assert other.held() == []
    clock.now += 20.01
    other.tick()
    assert other.held() == JOBS


def test_a_stopped_replica_is_recorded_and_its_jobs_freed(store: Store) -> None:
    repo = LeaseRepository(store.engine, "p")
    keeper = JobLeases(repo, JOBS, lease=30, replica="a")
    keeper.start()
    assert [r.id for r in repo.replicas()] == ["a"] and keeper.held() == JOBS
    keeper.stop()
    assert repo.replicas()[0].stopped is not None
    assert all(not lease.holder for lease in repo.leases())


def test_a_store_at_0002_gets_the_lease_tables_when_opened_and_keeps_its_rows(store_url: str) -> None:
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import inspect

    from crm_bridge.store import open_store
    from crm_bridge.store.db import make_engine
    from crm_bridge.store.migrate import SCRIPT_LOCATION, current, head, upgrade

    engine = make_engine(store_url)
    try:
        upgrade(engine, "0004")  # the release before replicas
        assert "job_leases" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()
    with open_store(store_url) as first:
        assert first.migration is not None and (first.migration.before, first.migration.after) == (
            "0004",
            head(),
        )
        LeaseRepository(first.engine, "p").claim("a", JOBS, ttl=20)
    engine = make_engine(store_url)
    try:  # down and up again: the revision undoes itself cleanly
        with engine.begin() as conn:
            cfg = Config()
            cfg.set_main_option("script_location", SCRIPT_LOCATION)
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0004")
        assert current(engine) == "0004" and "replicas" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()
    with open_store(store_url) as again:
        assert LeaseRepository(again.engine, "p").claim("b", JOBS, ttl=20)[0] == set(JOBS)
