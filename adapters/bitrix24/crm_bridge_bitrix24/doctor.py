"""``crm-bridge doctor`` lines for Bitrix24: connection and credentials, scopes (method ``scope``),
the partner funnels and fields on the portal versus the configured layout, and the rate limits in use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crm_bridge.errors import CrmBridgeError
from crm_bridge.ports import HealthCheck
from crm_bridge.texts import in_locale
from crm_bridge.toolkit.doctor import layout_checks
from crm_bridge_bitrix24.events import EVENTS
from crm_bridge_bitrix24.texts import TEXT as EVENT_TEXT

if TYPE_CHECKING:
    from crm_bridge_bitrix24.adapter import Bitrix24Adapter


def run_checks(adapter: Bitrix24Adapter) -> list[HealthCheck]:
    checks: list[HealthCheck] = []
    try:
        scopes = adapter.client.call("scope").result or []
    except CrmBridgeError as exc:
        return [HealthCheck("connection", False, str(exc))]
    checks.append(HealthCheck("connection", True, "the portal answers with these credentials"))
    missing = [s for s in adapter.mapping.required_scopes if s not in scopes]
    detail = f"missing: {', '.join(missing)} (add them to the webhook / application)" if missing else ""
    checks.append(HealthCheck("scopes", not missing, detail or "crm, task, user, im granted"))
    try:
        observed = adapter.observe_layout()
    except CrmBridgeError as exc:
        checks.append(HealthCheck("funnels", False, str(exc)))
        return checks
    checks += layout_checks(adapter.desired, observed)
    if adapter.limits_note:
        checks.append(HealthCheck("rate limit", True, adapter.limits_note))
    checks.append(events_check(adapter))
    return checks


def events_check(adapter: Bitrix24Adapter) -> HealthCheck:
    """How CRM events reach crm-bridge on this connection, or that polling stays the path (in the
    config's locale: the ``events`` section of ``crm_bridge.texts``)."""
    t = in_locale(EVENT_TEXT, adapter.language)
    mode = adapter.event_mode
    if mode == "offline":
        try:
            rows = adapter.client.call("event.get").result or []
        except CrmBridgeError as exc:
            return HealthCheck("events", False, t["check_failed"].format(error=exc))
        bound = {str(r.get("event", "")).upper() for r in rows if int(r.get("offline", 0) or 0) == 1}
        missing = [e for e in EVENTS if e not in bound]
        if missing:
            unbound = t["check_unbound"].format(events=", ".join(missing))
            return HealthCheck("events", False, unbound, provisionable=True)
        return HealthCheck("events", True, t["check_offline"])
    if mode == "outgoing_webhook":
        return HealthCheck("events", True, t["check_outgoing"])
    if adapter.events_enabled:
        return HealthCheck("events", True, t["check_polling"], warning=True)
    return HealthCheck("events", True, t["check_off"])
