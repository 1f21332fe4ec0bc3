"""Bitrix24 events both ways a portal connects (events.py): the portal's outgoing-webhook POSTs (what is
refused, with which status, metric reason and text; what an accepted one becomes) and offline events
of an OAuth install (bound once, pulled, stored, then cleared), and the lines shown to the admin."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import responses
from b24_wire_support import HOOK, OAUTH, REST, TIME, _adapter, _sent

from crm_bridge.errors import EventRefused
from crm_bridge.ports import CrmEvent, Entity, InboundRequest
from crm_bridge_bitrix24 import Bitrix24Adapter
from crm_bridge_bitrix24.config import Bitrix24Config
from crm_bridge_bitrix24.events import OutgoingWebhook

FORM = "application/x-www-form-urlencoded"
GOOD = (
    "event=ONCRMDEALUPDATE&data%5BFIELDS%5D%5BID%5D=42&ts=1700000000&event_handler_id=7"
    "&auth%5Bapplication_token%5D=t0k3n&auth%5Bdomain%5D=example.bitrix24.ru"
)


def _receiving(language: str = "en") -> Bitrix24Adapter:
    adapter = _adapter(application_token="t0k3n")
    adapter.language = language
    adapter.configure_events(Bitrix24Config(webhook_url=HOOK, application_token="t0k3n"), True)
    return adapter


def _request(body: str | bytes, content_type: str = FORM) -> InboundRequest:
    raw = body.encode() if isinstance(body, str) else body
    return InboundRequest(
        "POST", "https://bridge/v1/events/x", {"content-type": content_type}, raw, datetime.now(UTC)
    )


def test_an_outgoing_webhook_event_becomes_one_event_keyed_by_its_digest() -> None:
    adapter = _receiving()
    assert adapter.event_mode == "outgoing_webhook" and adapter.events_enabled and not adapter.pulls_events

    events = adapter.receive_events(_request(GOOD, FORM + "; charset=UTF-8"))

    assert events == [
        CrmEvent("ONCRMDEALUPDATE", Entity.LEAD, "42", "bitrix24:5c495b5b2c7a24867ab9863b36248a2340063559")
    ]


def test_a_company_event_in_lower_case_with_the_id_after_the_change_is_read() -> None:
    body = (
        "event=oncrmcompanyadd&data%5BFIELDS_AFTER%5D%5BID%5D=9"
        "&auth%5Bapplication_token%5D=t0k3n&auth%5Bdomain%5D=EXAMPLE.bitrix24.ru"
    )
    [event] = _receiving().receive_events(_request(body, "Application/X-WWW-Form-Urlencoded"))
    assert event == CrmEvent(
        "ONCRMCOMPANYADD", Entity.PARTNER, "9", "bitrix24:0a9b177aad2edcdb07e3132258b1ff02709481c6"
    )


@pytest.mark.parametrize(
    ("event", "entity"),
    [
        ("ONCRMLEADADD", None),
        ("ONCRMCONTACTUPDATE", None),
        ("ONTASKADD", None),
        ("ONCRMDEALDELETE", Entity.LEAD),
    ],
)
def test_only_deal_and_company_events_name_an_entity_we_sync(event: str, entity: Entity | None) -> None:
    body = GOOD.replace("ONCRMDEALUPDATE", event)
    [received] = _receiving().receive_events(_request(body))
    assert (received.kind, received.entity) == (event, entity)


@pytest.mark.parametrize(
    ("body", "content_type", "status", "reason", "text"),
    [
        (GOOD, "application/json", 400, "malformed", "Bitrix24 events are form-encoded"),
        (GOOD, "", 400, "malformed", "Bitrix24 events are form-encoded"),
        (b"\xff\xfe=1", FORM, 400, "malformed", "the body is not a form"),
        ("just-text", FORM, 400, "malformed", "the body is not a form"),
        (GOOD.replace("t0k3n", "wrong"), FORM, 401, "token", "auth[application_token] does not match"),
        (
            GOOD.replace("&auth%5Bapplication_token%5D=t0k3n", ""),
            FORM,
            401,
            "token",
            "auth[application_token] does not match",
        ),
        (
            GOOD.replace("example.bitrix24.ru", "other.bitrix24.ru"),
            FORM,
            403,
            "account",
            "an event of another Bitrix24 portal",
        ),
        (
            GOOD.replace("&auth%5Bdomain%5D=example.bitrix24.ru", ""),
            FORM,
            403,
            "account",
            "an event of another Bitrix24 portal",
        ),
        (
            GOOD.replace("event=ONCRMDEALUPDATE", "event=CRMDEALUPDATE"),
            FORM,
            400,
            "malformed",
            "the event names no event or record id",
        ),
        (GOOD.replace("=42", "=4x"), FORM, 400, "malformed", "the event names no event or record id"),
        (
            GOOD.replace("data%5BFIELDS%5D%5BID%5D=42", "data%5BFIELDS%5D%5BNAME%5D=42"),
            FORM,
            400,
            "malformed",
            "the event names no event or record id",
        ),
    ],
)
def test_a_post_that_is_not_our_portals_event_is_refused_with_its_reason(
    body: str | bytes, content_type: str, status: int, reason: str, text: str
) -> None:
    with pytest.raises(EventRefused) as info:
        _receiving().receive_events(_request(body, content_type))
    assert (info.value.status, info.value.reason, str(info.value)) == (status, reason, text)


def test_without_an_application_token_the_receiver_is_off() -> None:
    adapter = _adapter()
    adapter.configure_events(Bitrix24Config(webhook_url=HOOK), True)
    assert adapter.event_mode == "polling" and adapter.events_enabled
    with pytest.raises(EventRefused) as info:
        adapter.receive_events(_request(GOOD))
    assert (info.value.status, info.value.reason, str(info.value)) == (
        404,
        "disabled",
        "Bitrix24 outgoing webhooks need crm.bitrix24.application_token",
    )


def test_events_off_keep_polling_whatever_the_install() -> None:
    adapter = _adapter()
    adapter.configure_events(Bitrix24Config(oauth=OAUTH), False)
    assert adapter.event_mode == "polling" and not adapter.events_enabled and not adapter.pulls_events


def test_what_subscribing_says_for_a_webhook_install_in_each_language() -> None:
    adapter = _receiving()
    assert adapter.subscribe_events(None) == (
        "Bitrix24 outgoing webhook: set it up in the portal (Developer resources > Other > Outgoing "
        "webhook) for ONCRMDEALADD, ONCRMDEALUPDATE, ONCRMDEALDELETE, ONCRMCOMPANYADD, ONCRMCOMPANYUPDATE "
        "to the receiver URL, and its token as application_token"
    )
    polling = _adapter()
    polling.configure_events(Bitrix24Config(webhook_url=HOOK), True)
    assert polling.subscribe_events("https://bridge/") == (
        "Bitrix24: polling stays the path (an inbound-webhook install without application_token)"
    )
    polling.language = "ru"
    assert polling.subscribe_events(None) == (
        "Битрикс24: остаётся опрос по расписанию (входящий вебхук без application_token)"
    )


def _oauth_events(language: str = "en") -> Bitrix24Adapter:
    adapter = _adapter(oauth=OAUTH)
    adapter.language = language
    adapter.configure_events(Bitrix24Config(oauth=OAUTH), True)
    return adapter


def _answer(result: Any) -> dict[str, Any]:
    return {"result": result, "time": TIME}


@responses.activate
def test_offline_events_are_bound_once_for_each_type_not_yet_bound_offline() -> None:
    responses.post(
        REST + "event.get",
        json=_answer(
            [
                {"event": "onCrmDealAdd", "handler": "", "offline": 1},
                {"event": "ONCRMDEALUPDATE", "handler": "https://x", "offline": 0},
                {"event": "ONCRMCOMPANYADD", "offline": "1"},
                {"event": "ONCRMDEALDELETE", "offline": None},
                {"event": "ONCRMCOMPANYUPDATE", "handler": "https://x"},  # an online handler: no "offline"
            ]
        ),
    )
    responses.post(REST + "event.bind", json=_answer(True))
    adapter = _oauth_events()
    assert adapter.event_mode == "offline" and adapter.pulls_events

    line = adapter.subscribe_events(None)

    assert line == "Bitrix24 offline events (5 event types; fetched by the event worker)"
    binds = [_sent(c) for c in responses.calls if "event.bind" in c.request.url]
    assert binds == [
        {"event": "ONCRMDEALUPDATE", "event_type": "offline"},
        {"event": "ONCRMDEALDELETE", "event_type": "offline"},
        {"event": "ONCRMCOMPANYUPDATE", "event_type": "offline"},
    ]
    assert _sent(responses.calls[0]) == {}


@responses.activate
def test_subscribing_says_so_in_russian_too() -> None:
    responses.post(REST + "event.get", json=_answer(None))
    responses.post(REST + "event.bind", json=_answer(True))
    assert _oauth_events("ru").subscribe_events(None) == (
        "офлайн-события Битрикс24 (типов событий: 5; их забирает обработчик событий)"
    )
    assert len([c for c in responses.calls if "event.bind" in c.request.url]) == 5


@responses.activate
def test_pulled_offline_events_are_stored_before_the_portal_is_told_to_forget_them() -> None:
    rows = [
        {
            "ID": "11",
            "MESSAGE_ID": "m-1",
            "TIMESTAMP_X": "2024-08-29T10:34:19+03:00",
            "EVENT_NAME": "onCrmDealUpdate",
            "EVENT_DATA": {"FIELDS": {"ID": 42}},
        },
        {"ID": "12", "EVENT_NAME": "ONCRMCOMPANYUPDATE", "EVENT_DATA": {"FIELDS_AFTER": {"ID": "9"}}},
        {"ID": "13", "MESSAGE_ID": "", "EVENT_NAME": "ONCRMDEALADD", "EVENT_DATA": ["odd"]},
    ]
    responses.post(REST + "event.offline.get", json=_answer({"process_id": "p-77", "events": rows}))
    responses.post(REST + "event.offline.clear", json=_answer(True))
    stored: list[list[CrmEvent]] = []

    def store(events: list[CrmEvent]) -> None:
        assert not any("event.offline.clear" in c.request.url for c in responses.calls)
        stored.append(events)

    count = _oauth_events().pull_events(store, limit=20)

    assert count == 3
    assert stored == [
        [
            CrmEvent(
                "ONCRMDEALUPDATE",
                Entity.LEAD,
                "42",
                "bitrix24:offline:m-1:2024-08-29T10:34:19+03:00",
                source="offline",
            ),
            CrmEvent("ONCRMCOMPANYUPDATE", Entity.PARTNER, "9", "bitrix24:offline:12:", source="offline"),
            CrmEvent("ONCRMDEALADD", Entity.LEAD, "", "bitrix24:offline:13:", source="offline"),
        ]
    ]
    assert _sent(responses.calls[0]) == {"clear": 0, "limit": 20}
    assert _sent(responses.calls[1]) == {"process_id": "p-77"}
    assert len(responses.calls) == 2


@responses.activate
@pytest.mark.parametrize(
    "answer",
    [
        {"process_id": "p-1", "events": []},
        {"events": [{"ID": "1", "EVENT_NAME": "ONCRMDEALADD"}]},
        None,
    ],
)
def test_nothing_pulled_stores_and_clears_nothing(answer: Any) -> None:
    responses.post(REST + "event.offline.get", json=_answer(answer))
    stored: list[list[CrmEvent]] = []

    assert _oauth_events().pull_events(stored.append) == 0

    assert stored == [] and len(responses.calls) == 1
    assert _sent(responses.calls[0]) == {"clear": 0, "limit": 50}


def test_a_post_without_a_content_type_is_refused_as_not_a_form() -> None:
    request = InboundRequest("POST", "https://bridge/v1/events/x", {}, GOOD.encode(), datetime.now(UTC))
    with pytest.raises(EventRefused) as info:
        _receiving().receive_events(request)
    assert (info.value.status, info.value.reason, str(info.value)) == (
        400,
        "malformed",
        "Bitrix24 events are form-encoded",
    )


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        # a field given twice counts by its last value, a blank one too
        (GOOD + "&data%5BFIELDS%5D%5BID%5D=", 400, "malformed"),
        (GOOD.replace("event=ONCRMDEALUPDATE&", ""), 400, "malformed"),
        (GOOD.replace("&auth%5Bapplication_token%5D=t0k3n", ""), 401, "token"),
        (GOOD.replace("&auth%5Bdomain%5D=example.bitrix24.ru", ""), 403, "account"),
    ],
    ids=["blank repeated id", "no event", "no token", "no domain"],
)
@pytest.mark.parametrize("secret", ["t0k3n", "XXXX"])
@pytest.mark.parametrize("domain", ["example.bitrix24.ru", "xxxx"])
def test_a_missing_or_blanked_field_is_refused_whatever_the_configured_token_and_domain(
    body: str, status: int, reason: str, secret: str, domain: str
) -> None:
    receiver = OutgoingWebhook(secret, domain)
    body = body.replace("t0k3n", secret).replace("example.bitrix24.ru", domain)
    with pytest.raises(EventRefused) as info:
        receiver.receive(_request(body))
    assert (info.value.status, info.value.reason) == (status, reason)


@responses.activate
def test_an_offline_event_without_a_name_is_stored_with_an_empty_name() -> None:
    rows = [{"ID": "5", "EVENT_DATA": {"FIELDS": {"ID": 3}}}]
    responses.post(REST + "event.offline.get", json=_answer({"process_id": "p-2", "events": rows}))
    responses.post(REST + "event.offline.clear", json=_answer(True))
    stored: list[list[CrmEvent]] = []

    assert _oauth_events().pull_events(stored.append) == 1

    assert stored == [[CrmEvent("", None, "3", "bitrix24:offline:5:", source="offline")]]
