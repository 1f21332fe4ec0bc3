"""``crm-bridge doctor`` on HubSpot: the connection and token, each scope crm-bridge needs (probed by
one read of an endpoint that needs it: HubSpot answers 403 MISSING_SCOPES otherwise), the account's
limits as its headers tell them, then the layout lines shared by every CRM (``toolkit.doctor``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from crm_bridge.errors import AuthError, CrmError, PermissionDenied
from crm_bridge.ports import HealthCheck
from crm_bridge.toolkit.doctor import layout_checks

if TYPE_CHECKING:
    from crm_bridge_hubspot.adapter import HubSpotAdapter


def run_checks(adapter: HubSpotAdapter) -> list[HealthCheck]:
    transport = adapter.transport
    try:
        response = transport.http.get("/crm/v3/owners", params={"limit": 1})
    except AuthError as exc:
        return [HealthCheck("connection", False, f"the token was refused: {exc}")]
    except CrmError as exc:
        return [HealthCheck("connection", False, str(exc))]
    transport.daily.observe(response)
    checks = [HealthCheck("connection", True, f"{transport.http.policy.base_url} answers; token accepted")]
    lacking = []
    for scope, path in adapter.mapping.required_scopes.items():
        try:
            transport.call("GET", path, params={"limit": 1} if "/objects/" in path else None)
        except PermissionDenied:
            lacking.append(scope)
    checks.append(
        HealthCheck(
            "scopes",
            not lacking,
            f"missing: {', '.join(lacking)}" if lacking else ", ".join(adapter.mapping.required_scopes),
        )
    )
    budgets = transport.budgets
    window = response.headers.get("X-HubSpot-RateLimit-Max")
    told = f"; the account reports {window} per 10 s" if window else ""
    daily = transport.daily.remaining
    detail = (
        f"{transport.config.tier}: {budgets.per_ten_seconds} requests per 10 s{told}, "
        f"{budgets.search_per_second} searches/s, daily {budgets.daily}"
        + (f" ({daily} left today)" if daily is not None else "")
        + f", {budgets.pipelines} deal pipelines"
    )
    too_high = window is not None and window.isdigit() and int(window) < budgets.per_ten_seconds
    if too_high:
        detail += "; the configured budget is above the account's: lower crm.hubspot.per_ten_seconds or tier"
    checks.append(HealthCheck("limits", not too_high, detail))
    try:
        observed = adapter.observe_layout()
    except CrmError as exc:
        return [*checks, HealthCheck("layout", False, str(exc))]
    return checks + layout_checks(adapter.desired, observed)
