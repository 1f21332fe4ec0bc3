"""``crm-bridge doctor`` lines for amoCRM: connection and token (``GET /api/v4/account``), the token's
user and rights, an integration block (403 page) said plainly, the pipeline limit, the partner
pipelines and fields against the configured layout, and the rate limit in use."""

from __future__ import annotations

from typing import TYPE_CHECKING

from crm_bridge.errors import CrmBridgeError
from crm_bridge.ports import HealthCheck
from crm_bridge.toolkit.doctor import layout_checks
from crm_bridge_amocrm.layout.writer import MAX_PIPELINES

if TYPE_CHECKING:
    from crm_bridge_amocrm.adapter import AmoCrmAdapter


def run_checks(adapter: AmoCrmAdapter) -> list[HealthCheck]:
    try:
        account = adapter.client.get("api/v4/account") or {}
    except CrmBridgeError as exc:
        return [HealthCheck("connection", False, str(exc))]
    checks = [
        HealthCheck(
            "connection",
            True,
            f"account {account.get('name', '?')!r} ({account.get('subdomain', '?')}, "
            f"id {account.get('id', '?')})",
        )
    ]
    user_id = account.get("current_user_id")
    try:
        user = adapter.client.get(f"api/v4/users/{user_id}") if user_id else None
    except CrmBridgeError as exc:
        checks.append(HealthCheck("rights", False, str(exc)))
        user = None
    if user is not None:
        rights = user.get("rights") or {}
        admin = bool(rights.get("is_admin")) if isinstance(rights, dict) else False
        detail = f"user #{user_id} {user.get('name', '')!r}" + (
            ", administrator"
            if admin
            else ": not an administrator — provisioning pipelines and fields needs one"
        )
        checks.append(HealthCheck("rights", admin, detail))
    elif user_id == 0 or user_id is None:
        checks.append(HealthCheck("rights", True, "long-lived token of the integration"))
    try:
        observed = adapter.observe_layout()
    except CrmBridgeError as exc:
        checks.append(HealthCheck("funnels", False, str(exc)))
        return checks
    snap = adapter.reader_snapshot()
    if snap is not None:
        free = MAX_PIPELINES - snap.all_pipelines
        missing = (
            0
            if adapter.desired is None
            else sum(1 for f in adapter.desired.funnels if f.key not in adapter.state.funnels)
        )
        checks.append(
            HealthCheck(
                "pipeline limit",
                free >= missing,
                f"{snap.all_pipelines} of {MAX_PIPELINES} lead pipelines used"
                + (f"; provisioning needs {missing} more" if missing else ""),
            )
        )
    checks += layout_checks(adapter.desired, observed)
    if adapter.limits_note:
        checks.append(HealthCheck("rate limit", True, adapter.limits_note))
    return checks
