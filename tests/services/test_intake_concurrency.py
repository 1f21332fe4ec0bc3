"""Two partners registering the same customer at the same moment, through the API use case on SQLite
and PostgreSQL: exactly one registration wins, the other is the conflict — decided once, in the store."""

from __future__ import annotations

import threading
from datetime import timedelta

from crm_bridge.domain.funnels import default_funnels, desired_layout
from crm_bridge.fake import FakeClock, FakeCRM
from crm_bridge.ports import Entity
from crm_bridge.services.intake.api import IntakeApi
from crm_bridge.services.intake.keys import ApiKeys
from crm_bridge.services.intake.service import IntakeService
from crm_bridge.services.provision import provision
from crm_bridge.services.sync.pull import sync
from crm_bridge.store import Store

PORTAL = "fake:test"
ROUNDS = 8  # customers raced for
RACERS = 4  # partners submitting each customer at the same moment


def test_partners_racing_for_one_customer_get_exactly_one_winner_each_time(
    store: Store, fake_clock: FakeClock
) -> None:
    crm = FakeCRM(clock=fake_clock)
    provision(crm, desired_layout(default_funnels(), "en", ["bronze"]))
    partners = [crm.seed_partner(f"ООО Партнёр {i}") for i in range(RACERS)]
    sync(crm, store, PORTAL, now=fake_clock(), entities=[Entity.PARTNER])
    keys = [ApiKeys(store.intake, PORTAL).create(p.crm_id, now=fake_clock()).key for p in partners]
    for round_ in range(ROUNDS):
        barrier = threading.Barrier(RACERS)
        kinds: list[tuple[str, bool]] = []
        lock = threading.Lock()

        def submit(
            key: str,
            skew: int,
            round_: int = round_,
            barrier: threading.Barrier = barrier,
            kinds: list[tuple[str, bool]] = kinds,
            lock: threading.Lock = lock,
        ) -> None:
            # each racer its own service and clock (read before the race, a little apart, as requests
            # in several threads or processes read it), the store shared
            read = fake_clock() + timedelta(milliseconds=skew)
            api = IntakeApi(ApiKeys(store.intake, PORTAL), IntakeService(crm, store, PORTAL), lambda: read)
            body = {"customer_name": f"Клиент {round_}", "tax_id": "7707083893" if round_ == 0 else ""}
            body["email"] = f"client{round_}@x.ru"
            barrier.wait()
            answer = api.submit(key, body, f"race-{round_}")
            with lock:
                kinds.append((answer.kind, bool(answer.body.get("conflict"))))

        threads = [threading.Thread(target=submit, args=(k, 10 * i)) for i, k in enumerate(keys)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(kinds) == sorted([("accepted", False)] + [("accepted", True)] * (RACERS - 1)), kinds
    regs = [r for r in store.intake.queued(PORTAL, "api", 1000)]
    winners = {r.email: r.partner_id for r in regs if not r.conflict}
    assert len(regs) == ROUNDS * RACERS and len(winners) == ROUNDS
    for reg in regs:  # every loser names the one winner of its customer
        if reg.conflict:
            assert reg.owner_partner_id == winners[reg.email]
    later = fake_clock() + timedelta(seconds=1)
    report = IntakeService(crm, store, PORTAL).drain(now=later, linger=timedelta(0))
    assert report.created == ROUNDS * RACERS  # the conflicts are created too, flagged for review
    flagged = [lead for lead in crm.state.leads.values() if lead.conflict]
    assert len(flagged) == ROUNDS * (RACERS - 1)
