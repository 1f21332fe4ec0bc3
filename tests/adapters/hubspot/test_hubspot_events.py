"""HubSpot webhooks v3 through the adapter's EventReceiver port (``receive_events``): the v3 signature
over method, URL, raw body and timestamp; a timestamp more than 5 minutes off refused as a replay;
at most 100 events a delivery; events of another account refused; each event mapped to its entity
and de-duplicated by HubSpot's ``eventId``."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hs_support import MemoryKV, config

from crm_bridge.config.funnels import FunnelsConfig
from crm_bridge.config.programme import TiersConfig
from crm_bridge.errors import ConfigError, EventRefused
from crm_bridge.ports import AdapterContext, CrmEvent, Entity, InboundRequest
from crm_bridge.sandbox.server import Sandbox
from crm_bridge_hubspot import HubSpotAdapter, create_adapter

SECRET = "app-client-secret"
PORTAL = 4242
URL = "https://bridge.example.com/events/hubspot?src=hs"
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def _sign(body: bytes, stamp: str, method: str = "POST", url: str = URL, secret: str = SECRET) -> str:
    message = method.encode() + url.encode() + body + stamp.encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def _request(
    events: Any,
    *,
    at: datetime = NOW,
    sent: datetime = NOW,
    signature: str | None = None,
    raw: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> InboundRequest:
    body = raw if raw is not None else json.dumps(events).encode()
    stamp = str(int(sent.timestamp() * 1000))
    given = signature if signature is not None else _sign(body, stamp)
    sent_headers = (
        headers
        if headers is not None
        else {"x-hubspot-signature-v3": given, "x-hubspot-request-timestamp": stamp}
    )
    return InboundRequest("POST", URL, sent_headers, body, at)


def _settings(cfg: Any, **extra: Any) -> Any:
    """The parts of crm-bridge's settings ``create_adapter`` reads (funnels and tiers at their defaults)."""
    crm = SimpleNamespace(kind="hubspot", hubspot=cfg)
    return SimpleNamespace(crm=crm, locale="en", funnels=FunnelsConfig(), tiers=TiersConfig(), **extra)


def _event(
    event_id: int = 1, kind: str = "deal.creation", object_id: int = 77, **extra: Any
) -> dict[str, Any]:
    return {"eventId": event_id, "portalId": PORTAL, "objectId": object_id, "subscriptionType": kind, **extra}


@pytest.fixture
def receiving(sandbox: Sandbox) -> Iterator[HubSpotAdapter]:
    cfg = config(sandbox, webhook_secret=SECRET, portal_id=PORTAL)
    made = create_adapter(_settings(cfg), AdapterContext(kv=MemoryKV()))
    yield made
    made.close()


def _refused(adapter: HubSpotAdapter, request: InboundRequest) -> EventRefused:
    with pytest.raises(EventRefused) as caught:
        adapter.receive_events(request)
    return caught.value


def test_a_signed_delivery_becomes_events_of_their_entities_keyed_by_event_id(
    receiving: HubSpotAdapter,
) -> None:
    events = [
        _event(1, "deal.creation", 77),
        _event(2, "company.propertyChange", 88),
        _event(3, "contact.creation", 99),
        _event(4, "object.creation", 55, objectTypeId="0-3"),
        _event(5, "object.propertyChange", 56, objectTypeId="0-2"),
        _event(6, "object.creation", 57, objectTypeId="0-1"),
        _event(7, "object.creation", 58),
    ]

    got = receiving.receive_events(_request(events))

    assert got == [
        CrmEvent(kind="deal.creation", entity=Entity.LEAD, crm_id="77", dedup_key="hubspot:1"),
        CrmEvent(kind="company.propertyChange", entity=Entity.PARTNER, crm_id="88", dedup_key="hubspot:2"),
        CrmEvent(kind="contact.creation", entity=None, crm_id="99", dedup_key="hubspot:3"),
        CrmEvent(kind="object.creation", entity=Entity.LEAD, crm_id="55", dedup_key="hubspot:4"),
        CrmEvent(kind="object.propertyChange", entity=Entity.PARTNER, crm_id="56", dedup_key="hubspot:5"),
        CrmEvent(kind="object.creation", entity=None, crm_id="57", dedup_key="hubspot:6"),
        CrmEvent(kind="object.creation", entity=None, crm_id="58", dedup_key="hubspot:7"),
    ]


def test_a_delivery_up_to_five_minutes_old_or_early_is_taken_and_one_past_that_is_refused(
    receiving: HubSpotAdapter,
) -> None:
    limit = timedelta(minutes=5)
    assert receiving.receive_events(_request([_event()], sent=NOW - limit))
    assert receiving.receive_events(_request([_event()], sent=NOW + limit))

    late = _refused(receiving, _request([_event()], sent=NOW - limit - timedelta(milliseconds=1)))
    early = _refused(receiving, _request([_event()], sent=NOW + limit + timedelta(milliseconds=1)))

    for refused in (late, early):
        assert (refused.status, refused.reason) == (401, "stale")
        assert str(refused) == "the request timestamp is more than 5 minutes off"


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({"x-hubspot-request-timestamp": "1"}, "X-HubSpot-Signature-v3 or its timestamp is missing"),
        ({"x-hubspot-signature-v3": "c2ln"}, "X-HubSpot-Signature-v3 or its timestamp is missing"),
        (
            {"x-hubspot-signature-v3": "c2ln", "x-hubspot-request-timestamp": "soon"},
            "X-HubSpot-Signature-v3 or its timestamp is missing",
        ),
    ],
)
def test_a_delivery_without_its_signature_or_timestamp_is_refused(
    receiving: HubSpotAdapter, headers: dict[str, str], detail: str
) -> None:
    refused = _refused(receiving, _request([_event()], headers=headers))

    assert (refused.status, refused.reason, str(refused)) == (401, "signature", detail)


@pytest.mark.parametrize(
    "signature",
    [
        _sign(b"[]", "1"),  # signed for another body and time
        _sign(json.dumps([_event()]).encode(), str(int(NOW.timestamp() * 1000)), secret="another"),
        _sign(json.dumps([_event()]).encode(), str(int(NOW.timestamp() * 1000)), method="GET"),
        _sign(json.dumps([_event()]).encode(), str(int(NOW.timestamp() * 1000)), url=URL.split("?")[0]),
    ],
)
def test_a_delivery_whose_signature_does_not_match_is_refused(
    receiving: HubSpotAdapter, signature: str
) -> None:
    refused = _refused(receiving, _request([_event()], signature=signature))

    assert (refused.status, refused.reason) == (401, "signature")
    assert str(refused) == "X-HubSpot-Signature-v3 does not match"


def test_a_hundred_events_are_taken_and_a_hundred_and_one_refused(receiving: HubSpotAdapter) -> None:
    assert len(receiving.receive_events(_request([_event(i) for i in range(100)]))) == 100

    refused = _refused(receiving, _request([_event(i) for i in range(101)]))

    assert (refused.status, refused.reason) == (400, "malformed")
    assert str(refused) == "the body is not a JSON array of at most 100 events"


@pytest.mark.parametrize(
    ("raw", "detail"),
    [
        (b"{not json", "the body is not JSON"),
        (b'{"eventId": 1}', "the body is not a JSON array of at most 100 events"),
        (b"[1]", "an event is not a JSON object"),
        (
            b'[{"eventId": 1, "portalId": 4242, "objectId": 7}]',
            "an event lacks eventId, portalId, objectId or subscriptionType",
        ),
        (
            b'[{"eventId": "x", "portalId": 4242, "objectId": 7, "subscriptionType": "deal.creation"}]',
            "an event lacks eventId, portalId, objectId or subscriptionType",
        ),
        (
            b'[{"eventId": 1, "portalId": null, "objectId": 7, "subscriptionType": "deal.creation"}]',
            "an event lacks eventId, portalId, objectId or subscriptionType",
        ),
    ],
)
def test_a_malformed_body_is_refused_saying_what_is_wrong(
    receiving: HubSpotAdapter, raw: bytes, detail: str
) -> None:
    refused = _refused(receiving, _request(None, raw=raw))

    assert (refused.status, refused.reason, str(refused)) == (400, "malformed", detail)


def test_an_event_of_another_account_is_refused(receiving: HubSpotAdapter) -> None:
    other = {**_event(), "portalId": 999}

    refused = _refused(receiving, _request([_event(1), other]))

    assert (refused.status, refused.reason) == (403, "account")
    assert str(refused) == "an event of HubSpot account 999, not ours"


def test_without_a_portal_id_events_of_any_account_are_taken(sandbox: Sandbox) -> None:
    cfg = config(sandbox, webhook_secret=SECRET)
    made = create_adapter(_settings(cfg), AdapterContext(kv=MemoryKV()))
    try:
        got = made.receive_events(_request([{**_event(3), "portalId": 999}]))
    finally:
        made.close()

    assert [e.dedup_key for e in got] == ["hubspot:3"]


def test_without_a_webhook_secret_events_are_disabled(adapter: HubSpotAdapter) -> None:
    refused = _refused(adapter, _request([_event()]))

    assert (refused.status, refused.reason) == (404, "disabled")
    assert str(refused) == "HubSpot events need crm.hubspot.webhook_secret (the app's client secret)"


def test_the_oauth_client_secret_signs_deliveries_when_no_webhook_secret_is_set(sandbox: Sandbox) -> None:
    oauth = {"client_id": "id", "client_secret": SECRET, "refresh_token": "r"}
    cfg = config(sandbox, oauth=oauth)
    made = create_adapter(_settings(cfg), AdapterContext(kv=MemoryKV()))
    try:
        got = made.receive_events(_request([_event(9)]))
    finally:
        made.close()

    assert [e.dedup_key for e in got] == ["hubspot:9"]


def test_create_adapter_refuses_settings_without_the_hubspot_section() -> None:
    with pytest.raises(
        ConfigError, match=r"^crm\.hubspot: the section is missing \(access_token or oauth\)$"
    ):
        create_adapter(_settings(None), AdapterContext(kv=MemoryKV()))


def test_a_relative_mapping_override_is_read_next_to_the_config_file(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    (tmp_path / "hs-mapping.yaml").write_text("lead_funnel: repeat\n", encoding="utf-8")
    cfg = config(sandbox, mapping=Path("hs-mapping.yaml"))
    curators = [SimpleNamespace(key="anna", crm_user_id="101")]
    settings = _settings(cfg, source=tmp_path / "config.yaml", curators=curators)
    made = create_adapter(settings, AdapterContext(kv=MemoryKV()))
    made.close()

    assert made.mapping.lead_funnel == "repeat" and made.events is None
    assert made.desired is not None and made.desired.funnels[0].name == "Partner acquisition"
    assert made.writes.owners == {"anna": "101"} and made.lister.curators == {"101": "anna"}
