"""HubSpot webhooks: app settings and subscriptions (``/webhooks/v3/{appId}/...`` and the dated
``/app-webhooks/2026-09/{appId}/...``, authorised by the developer ``hapikey``) and delivery of
event batches (a JSON array, at most 100 events per POST) signed with X-HubSpot-Signature-v3 =
base64(HMAC-SHA256(client secret, method + uri + body + timestamp)) and the older v1 signature.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

from crm_bridge.sandbox.delivery import Deliver
from crm_bridge_hubspot.sandbox.store import OBJECT_TYPE_IDS, SINGULAR, iso
from crm_bridge_hubspot.sandbox.wire import HsCall, fail, no_content, ok

EVENT_KINDS = ("creation", "deletion", "propertyChange", "associationChange", "merge", "restore")
MAX_EVENTS_PER_REQUEST = 100
# What the control API subscribes a registered URL to: the changes crm-bridge syncs.
DEFAULT_SUBSCRIPTIONS = [
    *({"eventType": f"{t}.{k}"} for t in ("contact", "company", "deal") for k in ("creation", "deletion")),
    *(
        {"eventType": "deal.propertyChange", "propertyName": p}
        for p in ("dealstage", "pipeline", "amount", "hubspot_owner_id", "dealname")
    ),
    *({"eventType": "company.propertyChange", "propertyName": p} for p in ("name", "hubspot_owner_id")),
    {"eventType": "contact.propertyChange", "propertyName": "email"},
]


@dataclass
class HsWebhooks:
    app_id: int
    settings: dict[str, Any] | None = None
    subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    next_event_id: int = 100
    next_subscription_id: int = 1000

    def dump(self) -> dict[str, Any]:
        return {
            "app_id": self.app_id,
            "settings": self.settings,
            "subscriptions": list(self.subscriptions.values()),
        }


def sign_v3(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    message = method.encode() + uri.encode() + body + timestamp.encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def _app(hooks: HsWebhooks, app_id: str) -> None:
    if app_id != str(hooks.app_id):
        raise fail(404, "OBJECT_NOT_FOUND", f"No app with id {app_id}")


def get_settings(call: HsCall, hooks: HsWebhooks, app_id: str) -> Any:
    _app(hooks, app_id)
    if hooks.settings is None:
        raise fail(404, "OBJECT_NOT_FOUND", f"No webhook settings for app {app_id}")
    return ok(hooks.settings)


def put_settings(call: HsCall, hooks: HsWebhooks, app_id: str) -> Any:
    _app(hooks, app_id)
    data = call.json_body()
    url, throttling = data.get("targetUrl"), data.get("throttling")
    if (
        not isinstance(url, str)
        or not url.startswith(("http://", "https://"))
        or not isinstance(throttling, dict)
    ):
        raise fail(400, "VALIDATION_ERROR", "targetUrl (an http(s) URL) and throttling are required")
    created = hooks.settings["createdAt"] if hooks.settings else iso(call.now)
    hooks.settings = {
        "targetUrl": url,
        "throttling": {"maxConcurrentRequests": int(throttling.get("maxConcurrentRequests", 10))},
        "createdAt": created,
        "updatedAt": iso(call.now),
    }
    return ok(hooks.settings)


def delete_settings(call: HsCall, hooks: HsWebhooks, app_id: str) -> Any:
    _app(hooks, app_id)
    hooks.settings = None
    return no_content()


def list_subscriptions(call: HsCall, hooks: HsWebhooks, app_id: str) -> Any:
    _app(hooks, app_id)
    return ok({"results": list(hooks.subscriptions.values())})


def create_subscription(call: HsCall, hooks: HsWebhooks, app_id: str) -> Any:
    _app(hooks, app_id)
    data = call.json_body()
    event_type = data.get("eventType")
    if not isinstance(event_type, str) or event_type.split(".")[-1] not in EVENT_KINDS + ("privacyDeletion",):
        raise fail(400, "VALIDATION_ERROR", f"Unknown eventType {event_type}")
    if event_type.endswith(".propertyChange") and not data.get("propertyName"):
        raise fail(400, "VALIDATION_ERROR", "propertyChange subscriptions need a propertyName")
    hooks.next_subscription_id += 1
    sub = {
        "id": str(hooks.next_subscription_id),
        "eventType": event_type,
        "active": bool(data.get("active", True)),
        "createdAt": iso(call.now),
        "updatedAt": iso(call.now),
    }
    for key in ("propertyName", "objectTypeId"):
        if data.get(key):
            sub[key] = data[key]
    hooks.subscriptions[str(hooks.next_subscription_id)] = sub
    return ok(sub, status=201)


def _subscription(hooks: HsWebhooks, app_id: str, sid: str) -> dict[str, Any]:
    _app(hooks, app_id)
    if sid not in hooks.subscriptions:
        raise fail(404, "OBJECT_NOT_FOUND", f"No subscription with id {sid}")
    return hooks.subscriptions[sid]


def get_subscription(call: HsCall, hooks: HsWebhooks, app_id: str, sid: str) -> Any:
    return ok(_subscription(hooks, app_id, sid))


def patch_subscription(call: HsCall, hooks: HsWebhooks, app_id: str, sid: str) -> Any:
    sub = _subscription(hooks, app_id, sid)
    if "active" in call.json_body():
        sub["active"] = bool(call.json_body()["active"])
        sub["updatedAt"] = iso(call.now)
    return ok(sub)


def delete_subscription(call: HsCall, hooks: HsWebhooks, app_id: str, sid: str) -> Any:
    _subscription(hooks, app_id, sid)
    del hooks.subscriptions[sid]
    return no_content()


def batch_update_subscriptions(call: HsCall, hooks: HsWebhooks, app_id: str) -> Any:
    _app(hooks, app_id)
    results = []
    for item in call.json_body().get("inputs") or []:
        sub = hooks.subscriptions.get(str(item.get("id")))
        if sub is not None and "active" in item:
            sub["active"] = bool(item["active"])
            sub["updatedAt"] = iso(call.now)
            results.append(sub)
    return ok(
        {"status": "COMPLETE", "results": results, "startedAt": iso(call.now), "completedAt": iso(call.now)}
    )


def deliver_events(
    hooks: HsWebhooks,
    events: list[dict[str, Any]],
    *,
    portal_id: int,
    secret: str,
    now: float,
    deliver: Deliver,
) -> int:
    """Turn a call's changes into HubSpot event batches for the active subscriptions; returns POSTs sent."""
    if hooks.settings is None:
        return 0
    batch = []
    for event in events:
        singular = SINGULAR[event["objectType"]]
        for sub in hooks.subscriptions.values():
            if not sub["active"] or not _matches(sub, singular, event):
                continue
            hooks.next_event_id += 1
            item: dict[str, Any] = {
                "eventId": hooks.next_event_id,
                "subscriptionId": int(sub["id"]),
                "portalId": portal_id,
                "appId": hooks.app_id,
                "occurredAt": int(now * 1000),
                "subscriptionType": sub["eventType"],
                "attemptNumber": 0,
                "objectId": int(event["objectId"]),
                "changeSource": "INTEGRATION",
            }
            if event["kind"] == "propertyChange":
                item.update({"propertyName": event["propertyName"], "propertyValue": event["propertyValue"]})
            if event["kind"] == "associationChange":
                item.update(
                    {
                        "fromObjectId": int(event["objectId"]),
                        "toObjectId": int(event["propertyValue"]),
                        "associationType": f"{singular}_TO_{SINGULAR[event['propertyName']]}".upper(),
                    }
                )
            batch.append(item)
    url = hooks.settings["targetUrl"]
    sent = 0
    for start in range(0, len(batch), MAX_EVENTS_PER_REQUEST):
        body = json.dumps(batch[start : start + MAX_EVENTS_PER_REQUEST]).encode()
        timestamp = str(int(now * 1000))
        headers = {
            "Content-Type": "application/json",
            "X-HubSpot-Request-Timestamp": timestamp,
            "X-HubSpot-Signature-v3": sign_v3(secret, "POST", url, body, timestamp),
            "X-HubSpot-Signature": hashlib.sha256(secret.encode() + body).hexdigest(),
            "X-HubSpot-Signature-Version": "v1",
        }
        deliver(url, body, headers)
        sent += 1
    return sent


def _matches(sub: dict[str, Any], singular: str, event: dict[str, Any]) -> bool:
    kind = event["kind"]
    if sub["eventType"] == f"{singular}.{kind}":
        pass
    elif (
        sub["eventType"] == f"object.{kind}"
        and sub.get("objectTypeId") == OBJECT_TYPE_IDS[event["objectType"]]
    ):
        pass
    else:
        return False
    return kind != "propertyChange" or bool(sub.get("propertyName") == event["propertyName"])
