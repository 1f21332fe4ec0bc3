"""Repositories that used to read then write hold under concurrent writers (each its own connection,
released together by a barrier), on SQLite and on PostgreSQL: one open tier move per partner, one
assignment per lead, no error. And an engine schema of version 1 is upgraded with its doubles closed."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from legacy_store import build_legacy_store
from sqlalchemy import insert

from crm_bridge.store import Store, open_store
from crm_bridge.store.assignments import AssignmentRecord, AssignmentRepository
from crm_bridge.store.db import make_engine
from crm_bridge.store.sales_schema import tier_pending
from crm_bridge.store.tier_moves import TierPendingRepository

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
WRITERS = 6


def _together(url: str, work: Callable[[Store, int], object]) -> list[BaseException]:
    """Run ``work(store, n)`` in WRITERS threads, each with its own store, released at once."""
    stores = [open_store(url) for _ in range(WRITERS)]
    barrier = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def run(n: int) -> None:
        barrier.wait()
        try:
            work(stores[n], n)
        except BaseException as exc:  # noqa: BLE001 - collected and asserted on
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for store in stores:
        store.close()
    return errors


def test_concurrent_evaluations_leave_one_open_tier_move_per_partner(store_url: str) -> None:
    def propose(store: Store, n: int) -> object:
        return TierPendingRepository(store.engine).upsert_open(
            "p",
            "101",
            from_tier="gold",
            to_tier="silver",
            reason=f"evaluation {n}",
            status="awaiting_approval",
            started_at=NOW,
            effective_at=NOW + timedelta(days=n),
        )

    errors = _together(store_url, propose)

    with open_store(store_url) as store:
        rows = TierPendingRepository(store.engine).list("p")
    assert errors == []
    assert [(r.partner_id, r.status, r.to_tier) for r in rows] == [("101", "awaiting_approval", "silver")]


def test_concurrent_distributions_keep_one_assignment_per_lead(store_url: str) -> None:
    def assign(store: Store, n: int) -> None:
        record = AssignmentRecord("L-1", "101", f"m{n}", str(n), "round_robin", "", "new", "pending", NOW)
        AssignmentRepository(store.engine).save("p", record)

    errors = _together(store_url, assign)

    with open_store(store_url) as store:
        rows = AssignmentRepository(store.engine).all("p")
    assert errors == []
    assert len(rows) == 1 and rows[0].lead_crm_id == "L-1"


def test_an_engine_schema_of_version_1_is_upgraded_keeping_the_newest_open_move(store_url: str) -> None:
    build_legacy_store(store_url, engine=1)  # the old release's code path, rewound to engine 1
    engine = make_engine(store_url)
    with engine.begin() as conn:
        for n in range(3):
            conn.execute(
                insert(tier_pending).values(
                    portal="p",
                    partner_id="101",
                    to_tier=f"t{n}",
                    reason="",
                    status="grace",
                    started_at=NOW,
                    effective_at=NOW,
                )
            )
    engine.dispose()

    with open_store(store_url) as store:
        repo = TierPendingRepository(store.engine)
        kept = repo.open_for("p", "101")
        closed = repo.list("p", ("cancelled",))
        moved = repo.upsert_open(
            "p",
            "101",
            from_tier="gold",
            to_tier="silver",
            reason="r",
            status="awaiting_approval",
            started_at=NOW,
            effective_at=NOW,
        )
    assert kept is not None and kept.to_tier == "t2"
    assert [r.to_tier for r in closed] == ["t0", "t1"]
    assert moved.status == "awaiting_approval" and moved.id == kept.id
