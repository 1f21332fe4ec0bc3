"""amoCRM webhooks: ``/api/v4/webhooks`` subscriptions and the form-encoded POSTs the CRM sends.

Payloads use amoCRM's old v2 field names (``leads[status][0][old_status_id]``, ``date_create``,
``last_modified``, ``custom_fields``), companies travel as ``contacts[...][type]=company``, the
User-Agent is ``amoCRM-WebHook-client/1.0`` and there is no signature — as in hooks captured from
a real account (Bolid1/zapier_build app/tests/*_catch_hook.js).
"""

from __future__ import annotations

from typing import Any

from crm_bridge.sandbox.core import SandboxResponse
from crm_bridge.sandbox.delivery import Deliver, WebhookSender
from crm_bridge_amocrm.sandbox.store import AmoState, Call
from crm_bridge_amocrm.sandbox.wire import AmoError, field_error, form_encode, no_content, self_link
from crm_bridge_amocrm.sandbox.wire import validation_failed as _failed

__all__ = ["Deliver", "WebhookSender", "deliver_events"]

SETTINGS = tuple(
    f"{action}_{entity}"
    for entity in ("lead", "contact", "company", "customer", "task")
    for action in ("add", "update", "delete", "restore", "responsible")
) + ("status_lead", "note_lead", "note_contact", "note_company", "note_customer")
_SINGULAR = {"leads": "lead", "contacts": "contact", "companies": "company", "tasks": "task"}
USER_AGENT = "amoCRM-WebHook-client/1.0"


def _render(call: Call, hook: dict[str, Any]) -> dict[str, Any]:
    return {**hook, "_links": self_link(f"{call.base}/api/v4/webhooks")}


def list_webhooks(call: Call) -> SandboxResponse:
    hooks = sorted(call.state.webhooks.values(), key=lambda h: (h["sort"], h["id"]))
    if not hooks:
        return no_content()
    body = {
        "_total_items": len(hooks),
        "_links": self_link(f"{call.base}/api/v4/webhooks"),
        "_embedded": {"webhooks": [_render(call, h) for h in hooks]},
    }
    return SandboxResponse(body=body, records=len(hooks))


def add_webhook(call: Call) -> SandboxResponse:
    item = call.body if isinstance(call.body, dict) else {}
    problems = []
    if not isinstance(item.get("destination"), str) or not item["destination"].startswith(
        ("http://", "https://")
    ):
        problems.append(field_error("InvalidUrl", "destination", "This value is not a valid URL."))
    settings = item.get("settings")
    if not isinstance(settings, list) or not settings or any(s not in SETTINGS for s in settings):
        problems.append(
            field_error("NotSupportedChoice", "settings", "The value you selected is not a valid choice.")
        )
    if problems:
        raise _failed([{"request_id": "0", "errors": problems}])
    existing = next(
        (h for h in call.state.webhooks.values() if h["destination"] == item["destination"]), None
    )
    hook = existing or {
        "id": call.state.next_id("webhook"),
        "created_at": call.now,
        "created_by": call.user_id,
    }
    hook.update(
        {
            "destination": item["destination"],
            "updated_at": call.now,
            "account_id": call.state.account_id,
            "sort": int(item.get("sort", 1)),
            "disabled": False,
            "settings": list(dict.fromkeys(settings or [])),
        }
    )
    call.state.webhooks[hook["id"]] = hook
    return SandboxResponse(status=200, body=_render(call, hook), records=1)


def delete_webhook(call: Call) -> SandboxResponse:
    destination = call.body.get("destination") if isinstance(call.body, dict) else None
    hook = next((h for h in call.state.webhooks.values() if h["destination"] == destination), None)
    if hook is None:
        raise AmoError(SandboxResponse(status=404, body=None))
    del call.state.webhooks[hook["id"]]
    return no_content()


def deliver_events(state: AmoState, events: list[tuple[str, str, dict[str, Any]]], deliver: Deliver) -> int:
    """Send one form POST per subscribed destination carrying every event of the call; returns sends."""
    sent = 0
    for hook in list(state.webhooks.values()):
        if hook["disabled"]:
            continue
        payload: dict[str, Any] = {}
        for entity, action, record in events:
            setting = (
                "status_lead" if (entity, action) == ("leads", "status") else f"{action}_{_SINGULAR[entity]}"
            )
            if setting not in hook["settings"] or entity == "tasks":
                continue
            group = "contacts" if entity == "companies" else entity
            payload.setdefault(group, {}).setdefault(action, []).append(_v2(state, entity, action, record))
        if not payload:
            continue
        payload["account"] = {"subdomain": state.subdomain, "id": state.account_id}
        headers = {"Content-Type": "application/x-www-form-urlencoded", "User-Agent": USER_AGENT}
        deliver(hook["destination"], form_encode(payload), headers)
        sent += 1
    return sent


def _v2(state: AmoState, entity: str, action: str, record: dict[str, Any]) -> dict[str, Any]:
    """A record in the webhook's v2 vocabulary."""
    item: dict[str, Any] = {"id": record["id"], "name": record["name"]}
    if entity == "leads":
        item["status_id"] = record["status_id"]
        item["price"] = record["price"]
    item.update(
        {
            "responsible_user_id": record["responsible_user_id"],
            "last_modified": record["updated_at"],
            "modified_user_id": record["updated_by"],
            "created_user_id": record["created_by"],
            "date_create": record["created_at"],
        }
    )
    if entity == "leads":
        item["pipeline_id"] = record["pipeline_id"]
        if action == "status":
            item["old_status_id"] = record.get("_old_status_id")
            item["old_pipeline_id"] = record.get("_old_pipeline_id")
    if action == "responsible":
        item["old_responsible_user_id"] = record.get("_old_responsible_user_id")
    item["account_id"] = state.account_id
    if entity != "leads":
        item["type"] = "company" if entity == "companies" else "contact"
    fields = []
    for value in record.get("custom_fields_values") or []:
        values = [
            {"value": v.get("value"), **({"enum": v["enum_id"]} if v.get("enum_id") else {})}
            for v in value["values"]
        ]
        entry: dict[str, Any] = {"id": value["field_id"], "name": value["field_name"], "values": values}
        if value.get("field_code"):
            entry["code"] = value["field_code"]
        fields.append(entry)
    if fields:
        item["custom_fields"] = fields
    if record.get("_tags"):
        item["tags"] = [{"id": t["id"], "name": t["name"]} for t in record["_tags"]]
    return item
