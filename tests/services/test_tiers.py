"""Tier evaluation, grace, approval and application on the FakeCRM and a SQLite store (services.tiers)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from crm_bridge.domain.funnels import default_funnels, desired_layout
from crm_bridge.domain.model import Curator, Partner
from crm_bridge.domain.tiers import HysteresisMode, TierLevel, TierPolicy
from crm_bridge.errors import TransientError, UsageError
from crm_bridge.fake import FakeClock, FakeCRM
from crm_bridge.ports import Entity, PartnerUpdate, RecordUpdate
from crm_bridge.services.provision import provision
from crm_bridge.services.sync.pull import sync
from crm_bridge.services.tiers.apply import TierFunnel
from crm_bridge.services.tiers.service import TierService
from crm_bridge.services.tiers.settings import TierSettings
from crm_bridge.store import Store
from crm_bridge.store.tier_moves import TierPendingRepository
from crm_bridge.texts import words

PORTAL = "fake:test"
LAYOUT = desired_layout(default_funnels(), "en", ["bronze", "silver", "gold"])
LEAD_STAGES = ["lead_registered", "qualification", "offer"]
POLICY = TierPolicy(
    (
        TierLevel("bronze", "Bronze"),
        TierLevel("silver", "Silver", {"won_deals": Decimal(3)}),
        TierLevel("gold", "Gold", {"won_deals": Decimal(6)}),
    ),
    margin_percent=Decimal(10),
    consecutive=3,
    mode=HysteresisMode.EITHER,
    window_days=90,
)
ANNA = Curator("anna", "Анна", "11")
HEAD = Curator("head", "Мария", "1")


class RecordingNotifier:
    def __init__(self) -> None:
        self.sent: dict[str, tuple[str, list[Any], str]] = {}

    def notify(self, event: str, recipients: list[Any], text: str, *, key: str) -> None:
        self.sent.setdefault(key, (event, list(recipients), text))

    def events(self) -> list[str]:
        return [event for event, _, _ in self.sent.values()]


@pytest.fixture
def crm(fake_clock: FakeClock) -> FakeCRM:
    fake = FakeCRM(clock=fake_clock)
    provision(fake, LAYOUT)
    for user_id, name in (("11", "Анна"), ("1", "Мария")):
        fake.add_user(user_id, name)
    return fake


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


def service(crm: FakeCRM, store: Store, notifier: RecordingNotifier, **kw: Any) -> TierService:
    settings = TierSettings(
        POLICY,
        kw.pop("grace", timedelta(0)),
        kw.pop("approval", False),
        {"bronze": "Bronze", "silver": "Silver", "gold": "Gold"},
    )
    return TierService(
        crm,
        store,
        PORTAL,
        settings,
        lead_stages=LEAD_STAGES,
        funnel=TierFunnel.from_layout(LAYOUT),
        curators=[ANNA],
        head=kw.pop("head", HEAD),
        notifier=notifier,
    )


def partner_with_wins(crm: FakeCRM, wins: int, tier: str | None = None) -> Partner:
    partner = crm.seed_partner("ООО Альфа", tier=tier, curator_key="anna")
    for i in range(wins):
        crm.seed_lead(partner.crm_id, f"Сделка {i}", stage="deal_closed", amount=Decimal(1000))
    return partner


def refresh(crm: FakeCRM, store: Store, clock: FakeClock) -> None:
    """Sync an hour later, as the daemon would; evaluations then run at that time."""
    clock.advance(3600)
    sync(crm, store, PORTAL, now=clock())


def card_of(crm: FakeCRM, partner: Partner) -> Any:
    return next(d for d in crm.state.deals.values() if d.external_id == f"tier-card:{partner.crm_id}")


def test_an_upgrade_is_recorded_pushed_carded_tasked_and_told_to_the_curator(
    crm: FakeCRM, store: Store, notifier: RecordingNotifier, fake_clock: FakeClock
) -> None:
    partner = partner_with_wins(crm, 7, tier="silver")
    refresh(crm, store, fake_clock)
    run = service(crm, store, notifier).evaluate(fake_clock())
    assert [(c.partner_id, c.old, c.new, c.direction) for c in run.changes] == [
        (partner.crm_id, "silver", "gold", "up")
    ]
    assert "won deals 7 >= 6" in run.changes[0].reason
    (history,) = store.tier_history(PORTAL, partner.crm_id)
    assert (history.from_tier, history.to_tier) == ("silver", "gold")
    assert crm.state.partners[partner.crm_id].tier == "gold"
    card = card_of(crm, partner)
    assert (card.funnel, card.stage) == ("tier_upgrade", "tier_reached")
    (task,) = [t for t in crm.state.tasks.values() if t.external_id.startswith("tier-task:")]
    assert task.responsible_user_id == "11" and "Silver → Gold" in task.title
    assert notifier.events() == ["tier_changed"]


def test_a_second_evaluation_changes_nothing_and_writes_nothing(
    crm: FakeCRM, store: Store, notifier: RecordingNotifier, fake_clock: FakeClock
) -> None:
    partner_with_wins(crm, 7, tier="silver")
    refresh(crm, store, fake_clock)
    service(crm, store, notifier).evaluate(fake_clock())
    writes = (crm.calls["update_partners"], crm.calls["create_deals"], crm.calls["create_tasks"])
    assert service(crm, store, notifier).evaluate(fake_clock()).changes == []  # the replica still says silver
    refresh(crm, store, fake_clock)
    assert service(crm, store, notifier).evaluate(fake_clock()).changes == []
    assert (crm.calls["update_partners"], crm.calls["create_deals"], crm.calls["create_tasks"]) == writes


def test_a_partner_without_a_tier_gets_the_one_it_earns(
    crm: FakeCRM, store: Store, notifier: RecordingNotifier, fake_clock: FakeClock
) -> None:
    partner = partner_with_wins(crm, 3)
    refresh(crm, store, fake_clock)
    run = service(crm, store, notifier).evaluate(fake_clock())
    assert [(c.old, c.new) for c in run.changes] == [(None, "silver")]
    assert crm.state.partners[partner.crm_id].tier == "silver"


def test_a_downgrade_waits_out_the_grace_period_after_warning_the_curator(
    crm: FakeCRM, store: Store, notifier: RecordingNotifier, fake_clock: FakeClock
) -> None:
    partner = partner_with_wins(crm, 0, tier="gold")
    refresh(crm, store, fake_clock)
    svc = service(crm, store, notifier, grace=timedelta(days=7))
    first = svc.evaluate(fake_clock())  # far below gold: hysteresis allows it, the grace period starts
    assert first.changes == [] and first.warnings == [partner.crm_id]
    assert [(p.status, p.to_tier) for p in svc.pending()] == [("grace", "bronze")]
    assert notifier.events() == ["tier_downgrade_warning"]
    fake_clock.advance(3 * 86400)
    assert svc.evaluate(fake_clock()).changes == [] and len(notifier.sent) == 1  # warned once
    fake_clock.advance(5 * 86400)
    last = svc.evaluate(fake_clock())
    assert [(c.old, c.new, c.direction) for c in last.changes] == [("gold", "bronze", "down")]
    assert svc.pending() == []
    assert crm.state.partners[partner.crm_id].tier == "bronze"
    assert card_of(crm, partner).stage == "assessment"


def test_recovering_during_the_grace_period_cancels_the_downgrade(
    crm: FakeCRM, store: Store, notifier: RecordingNotifier, fake_clock: FakeClock
) -> None:
    partner = partner_with_wins(crm, 0, tier="gold")
    refresh(crm, store, fake_clock)
    svc = service(crm, store, notifier, grace=timedelta(days=7))
    svc.evaluate(fake_clock())
    for i in range(6):
        crm.seed_lead(partner.crm_id, f"Новая {i}", stage="deal_closed")
    fake_clock.advance(86400)
    refresh(crm, store, fake_clock)
    assert svc.evaluate(fake_clock()).changes == [] and svc.pending() == []
    assert crm.state.partners[partner.crm_id].tier == "gold"


def test_with_approval_a_downgrade_waits_for_the_head_and_applies_when_approved(
    crm: FakeCRM, store: Store, notifier: RecordingNotifier, fake_clock: FakeClock
) -> None:
    partner = partner_with_wins(crm, 0, tier="gold")
    refresh(crm, store, fake_clock)
    svc = service(crm, store, notifier, approval=True)
    run = svc.evaluate(fake_clock())
    assert run.changes == [] and [(p.from_tier, p.to_tier) for p in run.awaiting_approval] == [
        ("gold", "bronze")
    ]
    assert crm.state.partners[partner.crm_id].tier == "gold"
    (pending,) = svc.pending()
    event, to, text = notifier.sent[f"tier_pending:{pending.id}"]
    assert (event, to) == ("tier_downgrade_pending", [HEAD])
    assert text == words("notify", "en")["tier_pending"].format(
        partner="ООО Альфа", old="gold", new="bronze", id=pending.id, reason=pending.reason
    )
    assert f"{pending.id}" in text and "ООО Альфа" in text
    assert svc.evaluate(fake_clock()).awaiting_approval == []  # asked once
    change = svc.approve(pending.id, by="head", now=fake_clock())
    assert (change.old, change.new) == ("gold", "bronze") and "approved by head" in change.reason
    assert crm.state.partners[partner.crm_id].tier == "bronze"
    assert [h.to_tier for h in store.tier_history(PORTAL, partner.crm_id)] == ["bronze"]
    with pytest.raises(
        UsageError, match=f"no tier downgrade {pending.id} awaiting approval \\(it is applied"
    ):
        svc.approve(pending.id, by="head", now=fake_clock())


def test_the_head_is_asked_about_a_downgrade_in_the_notifiers_language(
    crm: FakeCRM, store: Store, fake_clock: FakeClock
) -> None:
    class RussianNotifier(RecordingNotifier):
        locale = "ru"

    notifier = RussianNotifier()
    partner_with_wins(crm, 0, tier="gold")
    refresh(crm, store, fake_clock)
    (pending,) = service(crm, store, notifier, approval=True).evaluate(fake_clock()).awaiting_approval
    _, _, text = notifier.sent[f"tier_pending:{pending.id}"]
    asked = "Понижение уровня ООО Альфа (gold → bronze) ждёт вашего решения: crm-bridge tiers approve"
    assert text.startswith(f"{asked} {pending.id} ")


def test_a_rejected_downgrade_is_not_applied(
    crm: FakeCRM, store: Store, notifier: RecordingNotifier, fake_clock: FakeClock
) -> None:
    partner = partner_with_wins(crm, 0, tier="gold")
    refresh(crm, store, fake_clock)
    svc = service(crm, store, notifier, approval=True)
    (pending,) = svc.evaluate(fake_clock()).awaiting_approval
    decided = fake_clock() + timedelta(hours=2)
    assert svc.reject(pending.id, by="head", now=decided).status == "awaiting_approval"
    assert svc.pending() == [] and crm.state.partners[partner.crm_id].tier == "gold"
    assert store.tier_history(PORTAL) == []
    closed = TierPendingRepository(store.engine).get(PORTAL, pending.id)
    assert closed is not None
    assert (closed.status, closed.decided_at, closed.decided_by) == ("rejected", decided, "head")


def test_a_crm_failure_while_applying_is_finished_by_the_next_run_with_one_history_entry(
    crm: FakeCRM, store: Store, notifier: RecordingNotifier, fake_clock: FakeClock
) -> None:
    partner = partner_with_wins(crm, 7, tier="silver")
    refresh(crm, store, fake_clock)
    crm.failures.fail_next("transient", method="create_deals")
    with pytest.raises(TransientError):
        service(crm, store, notifier).evaluate(fake_clock())
    service(crm, store, notifier).evaluate(fake_clock())
    assert [h.to_tier for h in store.tier_history(PORTAL)] == ["gold"]
    assert card_of(crm, partner).stage == "tier_reached"
    assert sum(1 for t in crm.state.tasks.values() if t.external_id.startswith("tier-task:")) == 1


def test_a_rejected_downgrade_is_not_proposed_again_until_the_metrics_recover(
    crm: FakeCRM, store: Store, notifier: RecordingNotifier, fake_clock: FakeClock
) -> None:
    partner = partner_with_wins(crm, 0, tier="gold")
    refresh(crm, store, fake_clock)
    svc = service(crm, store, notifier, approval=True)
    (pending,) = svc.evaluate(fake_clock()).awaiting_approval
    svc.reject(pending.id, by="head", now=fake_clock())

    later = [svc.evaluate(fake_clock() + timedelta(days=d)).awaiting_approval for d in (1, 2, 3, 4)]

    assert later == [[], [], [], []] and svc.pending() == []
    assert crm.state.partners[partner.crm_id].tier == "gold"
    assert store.tier_history(PORTAL) == []
    assert notifier.events().count("tier_downgrade_pending") == 1


def test_a_rejection_keeps_the_tier_we_applied_while_the_partner_replica_still_shows_the_old_one(
    crm: FakeCRM, store: Store, notifier: RecordingNotifier, fake_clock: FakeClock
) -> None:
    partner = partner_with_wins(crm, 7, tier="silver")
    refresh(crm, store, fake_clock)
    svc = service(crm, store, notifier, approval=True)
    assert [(c.old, c.new) for c in svc.evaluate(fake_clock()).changes] == [("silver", "gold")]
    for lead in [lead for lead in crm.state.leads.values() if lead.partner_id == partner.crm_id]:
        crm.update_records([RecordUpdate(Entity.LEAD, lead.crm_id, stage="lead_lost")])
    fake_clock.advance(3600)
    sync(crm, store, PORTAL, now=fake_clock(), entities=[Entity.LEAD])  # the partners' sync comes later
    assert store.records.partner(PORTAL, partner.crm_id).tier == "silver"  # type: ignore[union-attr]
    (pending,) = svc.evaluate(fake_clock()).awaiting_approval
    assert (pending.from_tier, pending.to_tier) == ("gold", "bronze")
    svc.reject(pending.id, by="head", now=fake_clock())

    later = svc.evaluate(fake_clock() + timedelta(hours=1))

    assert (later.awaiting_approval, later.changes, svc.pending()) == ([], [], [])  # gold, as rejected
    assert crm.state.partners[partner.crm_id].tier == "gold"


def test_after_a_rejection_the_downgrade_is_proposed_again_once_the_metrics_recovered_and_fell(
    crm: FakeCRM, store: Store, notifier: RecordingNotifier, fake_clock: FakeClock
) -> None:
    partner = partner_with_wins(crm, 0, tier="gold")
    refresh(crm, store, fake_clock)
    svc = service(crm, store, notifier, approval=True)
    (pending,) = svc.evaluate(fake_clock()).awaiting_approval
    svc.reject(pending.id, by="head", now=fake_clock())
    wins = [crm.seed_lead(partner.crm_id, f"W{i}", stage="deal_closed", amount=Decimal(1)) for i in range(6)]
    refresh(crm, store, fake_clock)
    assert svc.evaluate(fake_clock()).awaiting_approval == []  # back at gold: the rejection lapses
    for lead in wins:
        crm.update_records([RecordUpdate(Entity.LEAD, lead.crm_id, stage="lead_lost")])
    refresh(crm, store, fake_clock)

    (again,) = svc.evaluate(fake_clock()).awaiting_approval

    assert (again.from_tier, again.to_tier) == ("gold", pending.to_tier) and again.id != pending.id


def test_an_approved_downgrade_is_recorded_as_the_heads_decision_and_closes_the_request(
    crm: FakeCRM, store: Store, notifier: RecordingNotifier, fake_clock: FakeClock
) -> None:
    partner = partner_with_wins(crm, 0, tier="gold")
    refresh(crm, store, fake_clock)
    svc = service(crm, store, notifier, approval=True)
    (pending,) = svc.evaluate(fake_clock()).awaiting_approval
    fake_clock.advance(86400)
    now = fake_clock()

    change = svc.approve(pending.id, by="maria", now=now)

    assert (change.partner_id, change.old, change.new, change.direction, change.at) == (
        partner.crm_id,
        "gold",
        "bronze",
        "down",
        now,
    )
    assert change.reason == f"{pending.reason}; approved by maria"
    (history,) = store.tier_history(PORTAL)
    assert (history.partner_id, history.from_tier, history.to_tier, history.reason, history.at) == (
        partner.crm_id,
        "gold",
        "bronze",
        change.reason,
        now,
    )
    assert history.details == {"direction": "down"}
    closed = TierPendingRepository(store.engine).get(PORTAL, pending.id)
    assert closed is not None and (closed.status, closed.decided_at, closed.decided_by) == (
        "applied",
        now,
        "maria",
    )
    assert svc.pending() == [] and svc.pending_row(pending.id) == closed
    assert svc.pending_row(pending.id + 1000) is None


def test_with_approval_and_no_head_the_downgrade_waits_and_nobody_is_asked(
    crm: FakeCRM, store: Store, notifier: RecordingNotifier, fake_clock: FakeClock
) -> None:
    partner = partner_with_wins(crm, 0, tier="gold")
    refresh(crm, store, fake_clock)
    svc = service(crm, store, notifier, approval=True, head=None)

    (pending,) = svc.evaluate(fake_clock()).awaiting_approval

    assert (pending.partner_id, pending.to_tier) == (partner.crm_id, "bronze")
    assert "tier_downgrade_pending" not in notifier.events()
    assert crm.state.partners[partner.crm_id].tier == "gold"  # `crm-bridge tiers list` shows it


def test_the_curator_is_warned_once_per_grace_period_in_the_notifiers_language(
    crm: FakeCRM, store: Store, fake_clock: FakeClock
) -> None:
    class RussianNotifier(RecordingNotifier):
        locale = "ru"

        def __init__(self) -> None:
            super().__init__()
            self.calls = 0

        def notify(self, event: str, recipients: list[Any], text: str, *, key: str) -> None:
            self.calls += 1
            super().notify(event, recipients, text, key=key)

    notifier = RussianNotifier()
    partner = partner_with_wins(crm, 0, tier="gold")
    refresh(crm, store, fake_clock)
    svc = service(crm, store, notifier, grace=timedelta(days=7))
    started = fake_clock()
    assert svc.evaluate(started).warnings == [partner.crm_id]
    (pending,) = svc.pending()
    assert notifier.sent == {
        f"tier_warning:{partner.crm_id}:{started.isoformat()}": (
            "tier_downgrade_warning",
            [ANNA],
            f"Риск понижения уровня у ООО Альфа: {pending.reason}. Предупредите партнёра: если показатели "
            "не восстановятся, уровень будет понижен.",
        )
    }
    assert svc.evaluate(started + timedelta(days=1)).warnings == []  # the same grace period: not again
    assert notifier.calls == 1


def test_a_tier_set_by_hand_in_the_crm_after_ours_counts_as_the_partners_tier(
    crm: FakeCRM, store: Store, notifier: RecordingNotifier, fake_clock: FakeClock
) -> None:
    partner = partner_with_wins(crm, 7, tier="silver")
    refresh(crm, store, fake_clock)
    svc = service(crm, store, notifier)
    assert [(c.old, c.new) for c in svc.evaluate(fake_clock()).changes] == [("silver", "gold")]
    fake_clock.advance(3600)
    crm.update_partners([PartnerUpdate(partner.crm_id, {"tier": "bronze"})])  # a CRM admin, an hour later
    refresh(crm, store, fake_clock)

    again = svc.evaluate(fake_clock())

    assert [(c.old, c.new) for c in again.changes] == [("bronze", "gold")]
    assert crm.state.partners[partner.crm_id].tier == "gold"


def test_approving_an_unknown_id_says_there_is_none(
    crm: FakeCRM, store: Store, notifier: RecordingNotifier
) -> None:
    with pytest.raises(UsageError) as caught:
        service(crm, store, notifier).approve(999, by="maria", now=crm.clock())
    assert str(caught.value) == (
        "no tier downgrade 999 awaiting approval (there is no such id; see `crm-bridge tiers list`)"
    )


def test_a_change_recorded_for_a_partner_gone_from_the_replica_is_still_pushed_with_no_task(
    crm: FakeCRM, store: Store, notifier: RecordingNotifier, fake_clock: FakeClock
) -> None:
    partner = crm.seed_partner("ООО Альфа", tier="silver", curator_key="anna")  # never synced
    todo = {"history_id": 5, "old": "silver", "new": "gold", "direction": "up", "reason": "won deals 7 >= 6"}
    store.set_state(PORTAL, "tiers", {partner.crm_id: {"tier": "gold", "apply": todo}})

    service(crm, store, notifier).evaluate(fake_clock())

    assert crm.state.partners[partner.crm_id].tier == "gold"
    assert card_of(crm, partner).title == f"{partner.crm_id}: tier"
    assert [t for t in crm.state.tasks.values() if t.external_id.startswith("tier-task:")] == []
    assert "apply" not in store.get_state(PORTAL, "tiers")[partner.crm_id]
