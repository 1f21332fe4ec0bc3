"""Applying recorded tier changes to the CRM (services.tiers.apply.TierApplier): exactly what is written
— the tier field, the partner's card in the tier-upgrade funnel, the curator's task and message — and
what the operator reads in the log when the CRM refuses part of it. The CRM here answers from a script
and records every batched call, so each request is stated as sent."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from crm_bridge.domain.model import Curator, Partner
from crm_bridge.ports import (
    DealDraft,
    Entity,
    PartnerUpdate,
    RecordRef,
    RecordUpdate,
    TaskDraft,
    WriteOutcome,
)
from crm_bridge.services.tiers.apply import TierApplier, TierFunnel
from crm_bridge.store import Store

PORTAL = "fake:test"
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
DUE = datetime(2026, 11, 5, 9, 0, tzinfo=UTC)  # three days later
FUNNEL = TierFunnel("tiers", "tier_won", "tier_first")
NAMES = {"bronze": "Bronze", "silver": "Silver", "gold": "Gold"}
ANNA = Curator("anna", "Анна", "11")
HEAD = Curator("head", "Мария", "1")
ALFA = Partner("p1", "ООО Альфа", curator_key="anna")
BETA = Partner("p2", "ООО Бета", curator_key="anna")
LONELY = Partner("p0", "ООО Ноль")  # no curator


class ScriptedCrm:
    """Answers each batched write item by item: ``refuse`` maps a partner id / external id / card id to
    the CRM's error, ``existing`` a card's external id to the id it already has in the CRM (returned with
    ``created=False``), ``no_id`` lists cards answered ok but without an id, ``short`` the methods that
    answer one outcome fewer than asked. New cards get ids D101, D102, …"""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[Any]]] = []
        self.refuse: dict[str, str] = {}
        self.existing: dict[str, str] = {}
        self.no_id: set[str] = set()
        self.short: set[str] = set()
        self._ids = 100

    def of(self, method: str) -> list[list[Any]]:
        return [items for name, items in self.calls if name == method]

    def _answer(
        self, method: str, items: Sequence[Any], key: Callable[[Any], str], ok: Callable[[Any], WriteOutcome]
    ) -> list[WriteOutcome]:
        self.calls.append((method, list(items)))
        outs = [
            WriteOutcome(key(i), None, error=self.refuse[key(i)]) if key(i) in self.refuse else ok(i)
            for i in items
        ]
        return outs[:-1] if method in self.short else outs

    def update_partners(self, updates: Sequence[PartnerUpdate]) -> list[WriteOutcome]:
        return self._answer(
            "update_partners", updates, lambda u: u.crm_id, lambda u: WriteOutcome(u.crm_id, u.crm_id)
        )

    def create_deals(self, drafts: Sequence[DealDraft]) -> list[WriteOutcome]:
        def made(d: DealDraft) -> WriteOutcome:
            if d.external_id in self.no_id:
                return WriteOutcome(d.external_id, None)
            if d.external_id in self.existing:
                return WriteOutcome(d.external_id, self.existing[d.external_id], created=False)
            self._ids += 1
            return WriteOutcome(d.external_id, f"D{self._ids}", created=True)

        return self._answer("create_deals", drafts, lambda d: d.external_id, made)

    def update_records(self, updates: Sequence[RecordUpdate]) -> list[WriteOutcome]:
        return self._answer(
            "update_records", updates, lambda u: u.crm_id, lambda u: WriteOutcome(u.crm_id, u.crm_id)
        )

    def create_tasks(self, drafts: Sequence[TaskDraft]) -> list[WriteOutcome]:
        return self._answer(
            "create_tasks", drafts, lambda d: d.external_id, lambda d: WriteOutcome(d.external_id, "T1", True)
        )


class RecordingNotifier:
    def __init__(self) -> None:
        self.sent: list[tuple[str, list[Any], str, str]] = []

    def notify(self, event: str, recipients: Sequence[Any], text: str, *, key: str) -> None:
        self.sent.append((event, list(recipients), text, key))


def by_curator_key(partner: Partner | None) -> Curator | None:
    return ANNA if partner is not None and partner.curator_key == "anna" else None


def applier(
    crm: ScriptedCrm,
    store: Store,
    notifier: RecordingNotifier | None = None,
    curator_of: Callable[[Partner | None], Curator | None] = by_curator_key,
) -> TierApplier:
    return TierApplier(crm, store, PORTAL, FUNNEL, curator_of, NAMES, notifier)


def todo(
    history_id: int, old: str | None, new: str, direction: str, reason: str = "won deals 7 >= 6"
) -> dict[str, Any]:
    return {"history_id": history_id, "old": old, "new": new, "direction": direction, "reason": reason}


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "crm_bridge.tiers" and r.levelno == logging.WARNING
    ]


def test_an_upgrade_writes_the_tier_a_new_card_a_task_on_it_and_tells_the_curator(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    crm, notifier = ScriptedCrm(), RecordingNotifier()
    done = applier(crm, store, notifier).apply_many([("p1", ALFA, todo(7, "silver", "gold", "up"))], NOW)
    assert done == ["p1"]
    assert crm.of("update_partners") == [[PartnerUpdate("p1", {"tier": "gold"})]]
    assert crm.of("create_deals") == [
        [DealDraft("tier-card:p1", "tiers", "ООО Альфа: tier", "p1", "tier_won", responsible_user_id="11")]
    ]
    assert crm.of("update_records") == []  # a card just created is where it belongs
    assert crm.of("create_tasks") == [
        [
            TaskDraft(
                "tier-task:7",
                "ООО Альфа: tier Silver → Gold",
                "ООО Альфа: tier Silver → Gold (upgrade).\nwon deals 7 >= 6",
                "11",
                DUE,
                RecordRef(Entity.DEAL, "D101"),
            )
        ]
    ]
    assert notifier.sent == [
        ("tier_changed", [ANNA], "Tier change: ООО Альфа Silver → Gold. won deals 7 >= 6", "tier_changed:7")
    ]
    binding = store.lookup(PORTAL, "deal", external_id="tier-card:p1")
    assert binding is not None and binding.crm_id == "D101"
    assert store.pending(PORTAL) == []
    assert warnings(caplog) == []


def test_tiers_missing_from_the_names_are_shown_by_key_and_no_previous_tier_as_a_dash(store: Store) -> None:
    crm = ScriptedCrm()
    applier(crm, store).apply_many(
        [
            ("p1", ALFA, todo(7, None, "diamond", "down", "no wins")),
            ("p2", BETA, todo(8, "platinum", "gold", "up")),
        ],
        NOW,
    )
    (tasks,) = crm.of("create_tasks")
    assert [(t.title, t.description) for t in tasks] == [
        ("ООО Альфа: tier — → diamond", "ООО Альфа: tier — → diamond (downgrade).\nno wins"),
        ("ООО Бета: tier platinum → Gold", "ООО Бета: tier platinum → Gold (upgrade).\nwon deals 7 >= 6"),
    ]
    (cards,) = crm.of("create_deals")
    assert [c.stage for c in cards] == ["tier_first", "tier_won"]


def test_the_next_change_moves_each_partners_existing_card_instead_of_creating_another(store: Store) -> None:
    crm = ScriptedCrm()
    applier(crm, store).apply_many(
        [("p1", ALFA, todo(7, "silver", "gold", "up")), ("p2", BETA, todo(8, "bronze", "silver", "up"))], NOW
    )
    done = applier(crm, store).apply_many(
        [("p1", ALFA, todo(9, "gold", "silver", "down")), ("p2", BETA, todo(10, "silver", "gold", "up"))], NOW
    )
    assert done == ["p1", "p2"]
    assert len(crm.of("create_deals")) == 1  # only the first run created cards
    assert crm.of("update_records") == [
        [
            RecordUpdate(Entity.DEAL, "D101", stage="tier_first", funnel="tiers"),
            RecordUpdate(Entity.DEAL, "D102", stage="tier_won", funnel="tiers"),
        ]
    ]
    second_tasks = crm.of("create_tasks")[1]
    assert [(t.external_id, t.bound_to) for t in second_tasks] == [
        ("tier-task:9", RecordRef(Entity.DEAL, "D101")),
        ("tier-task:10", RecordRef(Entity.DEAL, "D102")),
    ]


def test_a_card_left_in_the_crm_by_a_half_done_run_is_bound_and_moved_to_the_new_stage(store: Store) -> None:
    crm = ScriptedCrm()
    crm.existing["tier-card:p1"] = "D55"
    applier(crm, store).apply_many([("p1", ALFA, todo(7, "gold", "silver", "down"))], NOW)
    assert crm.of("update_records") == [
        [RecordUpdate(Entity.DEAL, "D55", stage="tier_first", funnel="tiers")]
    ]
    binding = store.lookup(PORTAL, "deal", external_id="tier-card:p1")
    assert binding is not None and binding.crm_id == "D55"
    (tasks,) = crm.of("create_tasks")
    assert tasks[0].bound_to == RecordRef(Entity.DEAL, "D55")


def test_a_refused_tier_is_logged_and_left_for_the_next_run_while_the_others_are_applied(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    crm, notifier = ScriptedCrm(), RecordingNotifier()
    crm.refuse["p1"] = "field is read-only"
    done = applier(crm, store, notifier).apply_many(
        [("p1", ALFA, todo(7, "silver", "gold", "up")), ("p2", BETA, todo(8, "silver", "gold", "up"))], NOW
    )
    assert done == ["p2"]
    assert warnings(caplog) == ["the CRM refused tier 'gold' for partner p1: field is read-only"]
    assert [d.partner_id for d in crm.of("create_deals")[0]] == ["p2"]
    assert [t.external_id for t in crm.of("create_tasks")[0]] == ["tier-task:8"]
    assert [key for *_, key in notifier.sent] == ["tier_changed:8"]


def test_a_refused_card_is_logged_and_its_task_is_bound_to_the_partner_instead(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    crm = ScriptedCrm()
    crm.refuse["tier-card:p1"] = "no such funnel"
    applier(crm, store).apply_many(
        [("p1", ALFA, todo(7, "silver", "gold", "up")), ("p2", BETA, todo(8, "silver", "gold", "up"))], NOW
    )
    assert warnings(caplog) == ["tier card tier-card:p1 refused: no such funnel"]
    (tasks,) = crm.of("create_tasks")
    assert [t.bound_to for t in tasks] == [RecordRef(Entity.PARTNER, "p1"), RecordRef(Entity.DEAL, "D101")]
    # the refused card stays reserved (its creation is retried), the other one is bound
    assert [(b.entity, b.external_id) for b in store.pending(PORTAL)] == [("deal", "tier-card:p1")]
    bound = store.lookup(PORTAL, "deal", external_id="tier-card:p2")
    assert bound is not None and bound.crm_id == "D101"


def test_a_card_answered_without_an_id_counts_as_refused(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    crm = ScriptedCrm()
    crm.no_id.add("tier-card:p1")
    applier(crm, store).apply_many([("p1", ALFA, todo(7, "silver", "gold", "up"))], NOW)
    assert warnings(caplog) == ["tier card tier-card:p1 refused: the CRM answered without the new card's id"]
    (tasks,) = crm.of("create_tasks")
    assert tasks[0].bound_to == RecordRef(Entity.PARTNER, "p1")
    assert crm.of("update_records") == []


def test_a_failed_card_move_and_a_refused_task_are_logged(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    crm = ScriptedCrm()
    applier(crm, store).apply_many([("p1", ALFA, todo(7, "silver", "gold", "up"))], NOW)
    crm.refuse.update({"D101": "deal is locked", "tier-task:9": "user is fired"})
    done = applier(crm, store).apply_many([("p1", ALFA, todo(9, "gold", "silver", "down"))], NOW)
    assert done == ["p1"]  # the tier itself was written: the change is not applied again
    assert warnings(caplog) == [
        "moving tier card D101 failed: deal is locked",
        "tier task tier-task:9 refused: user is fired",
    ]


def test_partners_without_a_curator_get_a_card_but_no_task_and_the_others_still_get_theirs(
    store: Store,
) -> None:
    crm, notifier = ScriptedCrm(), RecordingNotifier()
    applier(crm, store, notifier).apply_many(
        [("p0", LONELY, todo(6, "silver", "gold", "up")), ("p1", ALFA, todo(7, "silver", "gold", "up"))], NOW
    )
    (cards,) = crm.of("create_deals")
    assert [(c.title, c.responsible_user_id) for c in cards] == [
        ("ООО Ноль: tier", None),
        ("ООО Альфа: tier", "11"),
    ]
    assert [t.external_id for t in crm.of("create_tasks")[0]] == ["tier-task:7"]
    assert [key for *_, key in notifier.sent] == ["tier_changed:7"]


def test_nothing_is_asked_of_the_crm_that_has_nothing_to_do(store: Store) -> None:
    crm = ScriptedCrm()
    assert applier(crm, store).apply_many([], NOW) == []
    assert crm.calls == []
    applier(crm, store).apply_many([("p0", LONELY, todo(6, "silver", "gold", "up"))], NOW)
    assert [name for name, _ in crm.calls] == ["update_partners", "create_deals"]  # no move, no task


def test_a_partner_missing_from_the_replica_is_named_by_its_id(store: Store) -> None:
    crm, notifier = ScriptedCrm(), RecordingNotifier()
    applier(crm, store, notifier, curator_of=lambda partner: HEAD).apply_many(
        [("p9", None, todo(7, "silver", "gold", "up"))], NOW
    )
    (cards,) = crm.of("create_deals")
    assert [(c.title, c.responsible_user_id) for c in cards] == [("p9: tier", "1")]
    (tasks,) = crm.of("create_tasks")
    assert [(t.title, t.responsible_user_id) for t in tasks] == [("p9: tier Silver → Gold", "1")]
    assert [text for _, _, text, _ in notifier.sent] == ["Tier change: p9 Silver → Gold. won deals 7 >= 6"]


def test_a_long_partner_name_is_cut_so_the_task_title_fits_255_characters(store: Store) -> None:
    crm = ScriptedCrm()
    long_name = Partner("p1", "Альфа" * 60, curator_key="anna")  # 300 characters
    applier(crm, store).apply_many([("p1", long_name, todo(7, "silver", "gold", "up"))], NOW)
    (tasks,) = crm.of("create_tasks")
    assert tasks[0].title == ("Альфа" * 60)[:255]
    assert tasks[0].description.startswith("Альфа" * 60 + ": tier Silver → Gold (upgrade).")


@pytest.mark.parametrize("method", ["create_deals", "update_records", "create_tasks"])
def test_a_crm_answering_fewer_outcomes_than_items_fails_the_run_instead_of_pairing_them_wrongly(
    store: Store, method: str
) -> None:
    crm = ScriptedCrm()
    if method == "update_records":  # a move needs a card from an earlier run
        applier(crm, store).apply_many([("p1", ALFA, todo(6, "bronze", "silver", "up"))], NOW)
    crm.short.add(method)
    with pytest.raises(ValueError, match="zip"):
        applier(crm, store).apply_many([("p1", ALFA, todo(7, "silver", "gold", "up"))], NOW)
