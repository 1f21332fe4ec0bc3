"""The partner intake API use case and registration upkeep (services.intake.api,
services.intake.registrations)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from crm_bridge.domain.model import Curator, Partner
from crm_bridge.fake import FakeClock, FakeCRM
from crm_bridge.ports import Entity, RecordUpdate
from crm_bridge.services.intake.api import IntakeApi
from crm_bridge.services.intake.keys import ApiKeys
from crm_bridge.services.intake.registrations import refresh_registrations
from crm_bridge.services.intake.service import DrainReport, IntakePolicy, IntakeService
from crm_bridge.services.sync.pull import sync
from crm_bridge.store import Store

PORTAL = "fake:test"
ANNA = Curator("anna", "Анна", "11")
BORIS = Curator("boris", "Борис", "12")


class RecordingNotifier:
    def __init__(self) -> None:
        self.sent: dict[str, tuple[str, list[Any], str]] = {}

    def notify(self, event: str, recipients: list[Any], text: str, *, key: str) -> None:
        self.sent.setdefault(key, (event, list(recipients), text))


def api(crm: FakeCRM, store: Store, clock: FakeClock, **kw: Any) -> IntakeApi:
    service = IntakeService(crm, store, PORTAL, curators=[ANNA], **kw)
    return IntakeApi(ApiKeys(store.intake, PORTAL), service, clock)


def drain(intake: IntakeApi, clock: FakeClock) -> DrainReport:
    return intake.service.drain(now=clock(), linger=timedelta(0))


def test_a_partner_key_queues_a_lead_the_writer_creates_it_once_and_the_partner_reads_its_id(
    crm: FakeCRM, store: Store, partner: Partner, fake_clock: FakeClock
) -> None:
    key = ApiKeys(store.intake, PORTAL).create(partner.crm_id, now=fake_clock()).key
    intake = api(crm, store, fake_clock)
    body = {"customer_name": "ООО Ромашка", "email": "Ivan@Romashka.ru", "amount": "1500.50"}
    first = intake.submit(key, body, "order-77")
    again = intake.submit(key, body, "order-77")
    assert (first.kind, again.kind) == ("accepted", "existing")
    assert first.body["status"] == again.body["status"] == "queued" and first.body["lead_id"] is None
    assert first.body["registration_id"] == again.body["registration_id"]
    assert crm.calls["send_leads"] == 0  # answered before the CRM hears of it
    assert drain(intake, fake_clock).created == 1
    status = intake.status(key, str(first.body["registration_id"]))
    assert status.kind == "found" and status.body["status"] == "created"
    lead = crm.state.leads[status.body["lead_id"]]
    assert (lead.partner_id, lead.customer.email) == (partner.crm_id, "ivan@romashka.ru")
    assert intake.submit(key, body, "order-77").body["lead_id"] == status.body["lead_id"]
    assert drain(intake, fake_clock).handled == 0 and len(crm.state.leads) == 1


def test_a_partner_cannot_read_another_partners_registration(
    crm: FakeCRM, store: Store, partner: Partner, fake_clock: FakeClock
) -> None:
    other = crm.seed_partner("ООО Бета")
    keys = ApiKeys(store.intake, PORTAL)
    mine, theirs = (keys.create(p.crm_id, now=fake_clock()).key for p in (partner, other))
    intake = api(crm, store, fake_clock)
    answer = intake.submit(theirs, {"customer_name": "Чужой", "email": "c@x.ru"}, "1")
    assert answer.kind == "accepted"  # the other partner is looked up in the CRM: no sync needed
    assert intake.status(mine, str(answer.body["registration_id"])).kind == "not_found"
    assert intake.status(mine, "abc").kind == "not_found"
    assert intake.status("cbk_nope", "1").kind == "unauthorized"


def test_without_an_idempotency_key_the_same_content_is_one_lead(
    crm: FakeCRM, store: Store, partner: Partner, fake_clock: FakeClock
) -> None:
    key = ApiKeys(store.intake, PORTAL).create(partner.crm_id, now=fake_clock()).key
    intake = api(crm, store, fake_clock)
    body = {"customer_name": "ООО Ромашка", "phone": "+7 900 123 45 67"}
    assert [intake.submit(key, body, None).kind for _ in range(2)] == ["accepted", "existing"]


def test_bad_keys_and_bad_bodies_are_answered_without_touching_the_crm(
    crm: FakeCRM, store: Store, partner: Partner, fake_clock: FakeClock
) -> None:
    key = ApiKeys(store.intake, PORTAL).create(partner.crm_id, now=fake_clock()).key
    intake = api(crm, store, fake_clock)
    assert intake.submit(None, {"customer_name": "x"}, None).kind == "unauthorized"
    assert intake.submit("cbk_nope", {"customer_name": "x"}, None).kind == "unauthorized"
    assert intake.submit(key, ["not", "an", "object"], None).kind == "invalid"
    answer = intake.submit(key, {"customer_name": "", "region": "msk", "email": "bad"}, "x" * 201)
    assert answer.kind == "invalid"
    assert [p["field"] for p in answer.body["problems"]] == [
        "region",
        "customer_name",
        "email",
        "Idempotency-Key",
    ]
    huge = intake.submit(key, {"customer_name": "ООО Ромашка", "email": "r@x.ru", "amount": 1e30}, None)
    assert huge.kind == "invalid"
    assert huge.body["problems"] == [
        {"field": "amount", "message": "1e+30 is more than the maximum 10,000,000,000 (intake.max_amount)"}
    ]
    assert crm.calls["create_leads"] == crm.calls["send_leads"] == 0
    assert intake.counters == {"unauthorized": 2, "invalid": 3}


def test_a_crm_outage_during_the_partner_lookup_answers_unavailable_and_the_retry_is_accepted_once(
    crm: FakeCRM, store: Store, fake_clock: FakeClock
) -> None:
    fresh = crm.seed_partner("ООО Новый")  # in the CRM, never synced
    key = ApiKeys(store.intake, PORTAL).create(fresh.crm_id, now=fake_clock()).key
    intake = api(crm, store, fake_clock)
    crm.failures.fail_next("rate_limit", method="find_partners")
    busy = intake.submit(key, {"customer_name": "Ромашка", "tax_id": "7707083893"}, "k1")
    assert busy.kind == "unavailable" and busy.retry_after is not None and busy.retry_after >= 1
    assert intake.submit(key, {"customer_name": "Ромашка", "tax_id": "7707083893"}, "k1").kind == "accepted"
    drain(intake, fake_clock)
    assert len(crm.state.leads) == 1


def test_a_lost_answer_in_the_writer_is_looked_up_and_the_lead_is_created_once(
    crm: FakeCRM, store: Store, partner: Partner, fake_clock: FakeClock
) -> None:
    key = ApiKeys(store.intake, PORTAL).create(partner.crm_id, now=fake_clock()).key
    intake = api(crm, store, fake_clock)
    for n in range(3):
        assert (
            intake.submit(key, {"customer_name": f"Клиент {n}", "email": f"c{n}@x.ru"}, str(n)).kind
            == "accepted"
        )
    crm.failures.fail_next("transient", method="send_leads", when="after")
    report = drain(intake, fake_clock)
    assert (report.handled, report.uncertain, report.created) == (3, 3, 3)
    assert crm.calls["find_leads"] == 1 and crm.calls["send_leads"] == 1
    assert len(crm.state.leads) == 3


def test_a_lead_that_moves_keeps_its_registration_and_an_idle_one_lapses_and_the_curator_hears(
    crm: FakeCRM, store: Store, partner: Partner, fake_clock: FakeClock
) -> None:
    key = ApiKeys(store.intake, PORTAL).create(partner.crm_id, now=fake_clock()).key
    policy = IntakePolicy(protection_window_days=120, registration_expiry_days=30)
    intake = api(crm, store, fake_clock, policy=policy)
    queued = intake.submit(key, {"customer_name": "Движется", "email": "m@x.ru"}, "1").body
    intake.submit(key, {"customer_name": "Стоит", "email": "s@x.ru"}, "2")
    drain(intake, fake_clock)
    moving = intake.status(key, str(queued["registration_id"])).body["lead_id"]
    notifier = RecordingNotifier()
    for day in range(0, 40, 10):
        fake_clock.advance(10 * 86400)
        if day == 10:
            crm.update_records([RecordUpdate(Entity.LEAD, moving, stage="qualification")])
        sync(crm, store, PORTAL, now=fake_clock())
        refresh_registrations(store, PORTAL, policy, fake_clock(), curators=[ANNA], notifier=notifier)
    expired = {k.split(":", 1)[1]: v for k, v in notifier.sent.items()}
    assert len(expired) == 1
    (event, recipients, text) = next(iter(expired.values()))
    assert event == "registration_expired" and recipients == [ANNA] and "«Стоит»" in text
    live = {r.customer_name for r in store.intake.with_leads(PORTAL)}
    assert live == {"Движется"}


def test_a_customer_another_partner_registered_through_the_api_is_told_to_both_curators_once_created(
    crm: FakeCRM, store: Store, partner: Partner, fake_clock: FakeClock
) -> None:
    other = crm.seed_partner("ООО Бета", curator_key="boris")
    sync(crm, store, PORTAL, now=fake_clock(), entities=[Entity.PARTNER])
    keys = ApiKeys(store.intake, PORTAL)
    mine, theirs = (keys.create(p.crm_id, now=fake_clock()).key for p in (partner, other))
    notifier = RecordingNotifier()
    service = IntakeService(crm, store, PORTAL, curators=[ANNA, BORIS], notifier=notifier)
    intake = IntakeApi(keys, service, fake_clock)
    assert intake.submit(mine, {"customer_name": "ООО Ромашка", "phone": "+7 900 123-45-67"}, "a").kind == (
        "accepted"
    )
    late = intake.submit(theirs, {"customer_name": "Ромашка", "phone": "8(900)1234567"}, "b").body
    assert late["conflict"] is True and notifier.sent == {}  # told once the lead is in the CRM
    assert drain(intake, fake_clock).created == 2
    assert drain(intake, fake_clock).handled == 0
    assert list(notifier.sent) == [f"channel_conflict:{late['external_id']}"]
    event, recipients, text = notifier.sent[f"channel_conflict:{late['external_id']}"]
    assert (event, recipients) == ("channel_conflict", [BORIS, ANNA])
    assert "ООО Бета" in text and "ООО Альфа" in text and "Ромашка" in text


def test_a_lead_from_a_new_partner_looks_up_every_partner_holding_a_live_key_at_once(
    crm: FakeCRM, store: Store, fake_clock: FakeClock
) -> None:
    first, second, revoked = (crm.seed_partner(name) for name in ("ООО Первый", "ООО Второй", "ООО Бывший"))
    keys = ApiKeys(store.intake, PORTAL)
    key, _, gone = (keys.create(p.crm_id, now=fake_clock()) for p in (first, second, revoked))
    keys.revoke(gone.key_id, now=fake_clock())
    intake = api(crm, store, fake_clock)
    assert intake.submit(key.key, {"customer_name": "ООО Ромашка", "email": "r@x.ru"}, "1").kind == "accepted"
    assert crm.calls["find_partners"] == 1
    known = {p.crm_id for p in (first, second, revoked) if store.records.partner(PORTAL, p.crm_id)}
    assert known == {first.crm_id, second.crm_id}  # not the partner whose key is revoked
