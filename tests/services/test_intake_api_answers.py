"""What the intake API answers a partner's script when something other than the lead is wrong: the
CRM busy (with its Retry-After), refusing or unreachable, the state store failing, too many leads a
minute from one key, too many failed key attempts; and a lead the service rejects or the CRM refused."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pytest

from crm_bridge.domain.model import Partner
from crm_bridge.errors import CrmBridgeError, CrmError, CrmRetriableError, StateError
from crm_bridge.fake import FakeClock, FakeCRM
from crm_bridge.services.intake.api import ApiAnswer, FloodLimit, IntakeApi
from crm_bridge.services.intake.keys import ApiKeys
from crm_bridge.services.intake.service import IntakeOutcome, IntakeService, LeadSubmission
from crm_bridge.services.intake.throttle import AuthLimits, AuthThrottle
from crm_bridge.store import Store

PORTAL = "fake:test"
LEAD = {"customer_name": "ООО Ромашка", "email": "buyer@romashka.ru"}


class Service:
    """The intake service, with ``register`` answering or raising what the test says."""

    def __init__(self, real: IntakeService) -> None:
        self.real = real
        self.raises: Exception | None = None
        self.status: str | None = None
        self.error = ""

    def check_fields(self, payload: Any) -> Any:
        return self.real.check_fields(payload)

    def registration(self, registration_id: int) -> Any:
        if self.raises is not None:
            raise self.raises
        return self.real.registration(registration_id)

    def register(self, subs: Sequence[LeadSubmission], *, now: datetime) -> list[IntakeOutcome]:
        if self.raises is not None:
            raise self.raises
        if self.status is not None:
            return [IntakeOutcome(s, self.status, error=self.error) for s in subs]
        return self.real.register(subs, now=now)


@pytest.fixture
def key(store: Store, partner: Partner, fake_clock: FakeClock) -> str:
    return ApiKeys(store.intake, PORTAL).create(partner.crm_id, now=fake_clock()).key


def intake(crm: FakeCRM, store: Store, clock: FakeClock, **kw: Any) -> tuple[IntakeApi, Service]:
    service = Service(IntakeService(crm, store, PORTAL))
    return IntakeApi(ApiKeys(store.intake, PORTAL), service, clock, **kw), service  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("error", "answer"),
    [
        (
            CrmRetriableError("429", retry_after=7.9),
            ApiAnswer("unavailable", {"error": "unavailable", "message": "the CRM is busy; retry"}, 7),
        ),
        (
            CrmRetriableError("429", retry_after=0.2),
            ApiAnswer("unavailable", {"error": "unavailable", "message": "the CRM is busy; retry"}, 1),
        ),
        (
            CrmRetriableError("timeout"),
            ApiAnswer("unavailable", {"error": "unavailable", "message": "the CRM is busy; retry"}, 30),
        ),
        (
            CrmError("401 from the CRM"),
            ApiAnswer("unavailable", {"error": "unavailable", "message": "the CRM is not reachable"}, 60),
        ),
        (
            StateError("database is locked"),
            ApiAnswer("unavailable", {"error": "unavailable", "message": "try again later"}, 30),
        ),
    ],
)
def test_a_failure_behind_the_api_answers_unavailable_with_when_to_retry(
    crm: FakeCRM, store: Store, fake_clock: FakeClock, key: str, error: CrmBridgeError, answer: ApiAnswer
) -> None:
    api, service = intake(crm, store, fake_clock)
    service.raises = error

    assert api.submit(key, LEAD, "k1") == answer
    assert api.counters == {"unavailable": 1}


def test_a_lead_the_service_rejects_names_the_reason_on_the_partner_field(
    crm: FakeCRM, store: Store, fake_clock: FakeClock, key: str
) -> None:
    api, service = intake(crm, store, fake_clock)
    service.status, service.error = "rejected", "partner 42 is not an active partner"

    assert api.submit(key, LEAD, "k1") == ApiAnswer(
        "invalid",
        {
            "error": "invalid_request",
            "message": "partner 42 is not an active partner",
            "problems": [{"field": "partner", "message": "partner 42 is not an active partner"}],
        },
    )
    service.status, service.error = "failed", "duplicate by INN"
    assert api.submit(key, LEAD, "k2") == ApiAnswer(
        "refused", {"error": "refused", "message": "CRM refused the lead: duplicate by INN"}
    )


def test_more_leads_a_minute_than_the_keys_limit_are_held_back(
    crm: FakeCRM, store: Store, fake_clock: FakeClock, key: str
) -> None:
    api, _ = intake(crm, store, fake_clock, flood=FloodLimit(store.bucket, 2))

    assert [api.submit(key, LEAD, f"k{i}").kind for i in range(2)] == ["accepted", "accepted"]
    held = api.submit(key, LEAD, "k3")
    assert held == ApiAnswer(
        "rate_limited",
        {"error": "too_many_requests", "message": "more than 2 leads a minute from this key"},
        30,
    )
    bad = api.submit(key, {"customer_name": ""}, "k4")  # a bad body counts against the limit too
    assert bad.kind == "rate_limited"
    fake_clock.advance(29.5)  # half a second short of the next lead: told to wait one whole second
    assert api.submit(key, LEAD, "k5").retry_after == 1
    fake_clock.advance(0.5)
    assert api.submit(key, LEAD, "k6").kind == "accepted"


def test_a_store_that_cannot_count_the_flood_answers_unavailable(
    crm: FakeCRM, store: Store, fake_clock: FakeClock, key: str
) -> None:
    class Broken:
        per_minute = 5

        def take_each(self, key_ids: Sequence[str], now: datetime) -> list[int]:
            raise StateError("database is locked")

    api, _ = intake(crm, store, fake_clock, flood=Broken())
    assert api.submit(key, LEAD, "k1") == ApiAnswer(
        "unavailable", {"error": "unavailable", "message": "try again later"}, 30
    )


def test_failed_key_attempts_are_throttled_per_address_and_counted(
    crm: FakeCRM, store: Store, fake_clock: FakeClock, key: str
) -> None:
    refused: list[str] = []
    throttle = AuthThrottle(
        store.bucket, fake_clock, AuthLimits(per_address=2, per_key=100, window_seconds=60)
    )
    api, _ = intake(crm, store, fake_clock, throttle=throttle, on_auth_refused=refused.append)

    assert [api.submit("cbk_bad", LEAD, None, "10.0.0.9").kind for _ in range(2)] == ["unauthorized"] * 2
    held = api.submit(key, LEAD, "k1", "10.0.0.9")  # even the right key: the address is held back
    assert held == ApiAnswer(
        "throttled",
        {"error": "too_many_attempts", "message": "too many failed API key attempts; retry later"},
        30,
    )
    assert api.status(key, "1", "10.0.0.9").kind == "throttled"
    assert api.submit(key, LEAD, "k1", "10.0.0.7").kind == "accepted"  # another address
    assert refused == ["unauthorized", "unauthorized", "throttled", "throttled"]


def test_a_store_failing_while_the_key_is_checked_or_a_registration_read_answers_unavailable(
    crm: FakeCRM, store: Store, fake_clock: FakeClock, key: str, caplog: pytest.LogCaptureFixture
) -> None:
    class BrokenThrottle:
        def check(self, client: str | None, key_id: str) -> None:
            raise StateError("database is locked")

    caplog.set_level(logging.ERROR, logger="crm_bridge.intake.api")
    api, service = intake(crm, store, fake_clock, throttle=BrokenThrottle())
    unavailable = ApiAnswer("unavailable", {"error": "unavailable", "message": "try again later"}, 30)
    assert api.submit(key, LEAD, "k1") == unavailable
    assert api.status(key, "1") == unavailable
    api, service = intake(crm, store, fake_clock)
    registration = api.submit(key, LEAD, "k1").body["registration_id"]
    service.raises = StateError("database is locked")
    assert api.status(key, str(registration)) == unavailable
    assert [r.getMessage() for r in caplog.records if r.name == "crm_bridge.intake.api"] == [
        "intake: cannot check the API key: database is locked",
        "intake: cannot check the API key: database is locked",
        "intake: cannot read a registration: database is locked",
    ]


def test_a_registration_id_that_is_no_number_or_too_long_is_not_found(
    crm: FakeCRM, store: Store, fake_clock: FakeClock, key: str
) -> None:
    api, _ = intake(crm, store, fake_clock)
    registration = str(api.submit(key, LEAD, "k1").body["registration_id"])
    assert api.status(key, registration).kind == "found"
    for rid in ("abc", "-1", "9" * 19, "1" + "0" * 18):
        assert api.status(key, rid) == ApiAnswer(
            "not_found", {"error": "not_found", "message": f"no lead registration {rid} of yours"}
        )


def test_a_registration_the_crm_refused_reads_failed_with_the_reason_and_a_queued_one_has_no_message(
    crm: FakeCRM, store: Store, fake_clock: FakeClock, key: str
) -> None:
    api, _ = intake(crm, store, fake_clock)
    answers = [api.submit(key, {**LEAD, "customer_name": f"ООО Клиент {n}"}, f"k{n}").body for n in range(3)]
    store.intake.mark_failed(PORTAL, answers[0]["external_id"], "duplicate by INN")
    store.intake.mark_failed(PORTAL, answers[1]["external_id"], "")

    def state(body: dict[str, Any], status: str) -> dict[str, Any]:
        rid = body["registration_id"]
        return {
            "registration_id": rid,
            "external_id": body["external_id"],
            "status": status,
            "lead_id": None,
            "conflict": False,
            "status_url": f"/v1/leads/{rid}",
        }

    refused, silent, queued = (api.status(key, str(b["registration_id"])) for b in answers)
    assert refused == ApiAnswer(
        "found", {**state(answers[0], "failed"), "message": "the CRM refused the lead: duplicate by INN"}
    )
    assert silent == ApiAnswer(
        "found", {**state(answers[1], "failed"), "message": "the CRM refused the lead: no reason given"}
    )
    assert queued == ApiAnswer("found", state(answers[2], "queued"))


def test_wrong_secrets_for_one_key_id_hold_that_key_back_when_its_leads_are_read(
    crm: FakeCRM, store: Store, fake_clock: FakeClock, key: str
) -> None:
    throttle = AuthThrottle(
        store.bucket, fake_clock, AuthLimits(per_address=100, per_key=2, window_seconds=60)
    )
    api, _ = intake(crm, store, fake_clock, throttle=throttle)
    registration = str(api.submit(key, LEAD, "k1", "10.0.0.1").body["registration_id"])
    guess = key[:-43] + "x" * 43  # the key's id with a wrong secret
    assert [api.status(guess, registration, f"10.0.1.{n}").kind for n in range(2)] == ["unauthorized"] * 2
    assert api.status(key, registration, "10.0.2.1").kind == "throttled"  # the key id is held back


def test_reading_a_registration_records_when_the_key_was_last_used(
    crm: FakeCRM, store: Store, fake_clock: FakeClock, key: str
) -> None:
    api, _ = intake(crm, store, fake_clock)
    keys = ApiKeys(store.intake, PORTAL)
    assert [k.last_used_at for k in keys.list()] == [None]
    fake_clock.advance(120)
    assert api.status(key, "1").kind == "not_found"
    assert [k.last_used_at for k in keys.list()] == [fake_clock()]
