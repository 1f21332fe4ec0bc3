"""HubSpot webhooks v3 into crm-bridge's event queue.

Authentication (developers.hubspot.com "Validating requests from HubSpot", v3): ``X-HubSpot-Signature-v3``
is base64(HMAC-SHA256(app client secret, method + URI + raw body + X-HubSpot-Request-Timestamp)); the
URI is the full URL HubSpot posted to (the registered target URL) with its query string. Requests
whose timestamp is more than 5 minutes old are refused (a replay); the comparison is constant-time.
The body is a JSON array of at most 100 events; each carries ``eventId`` (de-duplication: HubSpot retries
a failed delivery up to 10 times over 24 hours), ``portalId`` (must be the configured account),
``subscriptionType`` (``deal.creation``…) and ``objectId``.

Loop safety: crm-bridge subscribes only to companies, deals and contact e-mails (never tasks), and the
worker's work is idempotent, so our own owner/stage writes cost one re-read at most.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from crm_bridge.errors import EventRefused
from crm_bridge.ports import CrmEvent, Entity, InboundRequest

MAX_AGE_MS = 5 * 60 * 1000  # "reject the request if the timestamp is older than 5 minutes"
MAX_EVENTS = 100
_ENTITY = {"company": Entity.PARTNER, "deal": Entity.LEAD}
_OBJECT_TYPE = {"0-2": "company", "0-3": "deal", "0-1": "contact"}


def signature_v3(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    message = method.encode() + uri.encode() + body + timestamp.encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


@dataclass(frozen=True)
class HubSpotEvents:
    """``secret``: the app's client secret; ``portal_id``: the HubSpot account (Hub ID) we serve."""

    secret: str
    portal_id: int | None

    def receive(self, request: InboundRequest) -> list[CrmEvent]:
        self._verify(request)
        try:
            items = json.loads(request.body)
        except ValueError:
            raise EventRefused(400, "malformed", "the body is not JSON") from None
        if not isinstance(items, list) or len(items) > MAX_EVENTS:
            raise EventRefused(
                400, "malformed", f"the body is not a JSON array of at most {MAX_EVENTS} events"
            )
        events = []
        for item in items:
            events.append(self._event(item))
        return events

    def _verify(self, request: InboundRequest) -> None:
        given = request.headers.get("x-hubspot-signature-v3", "")
        stamp = request.headers.get("x-hubspot-request-timestamp", "")
        if not given or not stamp.isdigit():
            raise EventRefused(401, "signature", "X-HubSpot-Signature-v3 or its timestamp is missing")
        now_ms = int(request.received_at.timestamp() * 1000)
        if abs(now_ms - int(stamp)) > MAX_AGE_MS:
            raise EventRefused(401, "stale", "the request timestamp is more than 5 minutes off")
        expected = signature_v3(self.secret, request.method, request.url, request.body, stamp)
        if not hmac.compare_digest(expected.encode(), given.encode()):
            raise EventRefused(401, "signature", "X-HubSpot-Signature-v3 does not match")

    def _event(self, item: Any) -> CrmEvent:
        if not isinstance(item, dict):
            raise EventRefused(400, "malformed", "an event is not a JSON object")
        try:
            event_id, portal, object_id = int(item["eventId"]), int(item["portalId"]), int(item["objectId"])
            kind = str(item["subscriptionType"])
        except (KeyError, TypeError, ValueError):
            raise EventRefused(
                400, "malformed", "an event lacks eventId, portalId, objectId or subscriptionType"
            ) from None
        if self.portal_id is not None and portal != self.portal_id:
            raise EventRefused(403, "account", f"an event of HubSpot account {portal}, not ours")
        singular = kind.split(".")[0]
        if singular == "object":
            singular = _OBJECT_TYPE.get(str(item.get("objectTypeId", "")), "")
        return CrmEvent(
            kind=kind,
            entity=_ENTITY.get(singular),
            crm_id=str(object_id),
            dedup_key=f"hubspot:{event_id}",
        )
