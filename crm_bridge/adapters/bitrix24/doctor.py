"""``crm-bridge doctor`` lines for Bitrix24: connection and credentials, scopes (method ``scope``),
the partner funnels and fields on the portal versus the configured layout, and the rate limits in use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crm_bridge.domain.layout import ObservedLayout
from crm_bridge.errors import CrmBridgeError
from crm_bridge.ports import HealthCheck

if TYPE_CHECKING:
    from crm_bridge.adapters.bitrix24.adapter import Bitrix24Adapter


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
    checks += _layout_checks(adapter, observed)
    if adapter.limits_note:
        checks.append(HealthCheck("rate limit", True, adapter.limits_note))
    return checks


def _layout_checks(adapter: Bitrix24Adapter, observed: ObservedLayout) -> list[HealthCheck]:
    desired = adapter.desired
    by_key = {f.key: f for f in observed.funnels if f.key}
    if desired is None:
        names = ", ".join(f"{k} (#{f.crm_id})" for k, f in sorted(by_key.items())) or "none yet"
        return [HealthCheck("funnels", bool(by_key), f"partner funnels on the portal: {names}")]
    out: list[HealthCheck] = []
    for funnel in desired.funnels:
        found = by_key.get(funnel.key)
        if found is None:
            out.append(HealthCheck(f"funnel {funnel.key}", False, "missing: run crm-bridge provision"))
            continue
        have = {s.key for s in found.stages if s.key}
        lacking = [s.key for s in funnel.stages if s.key not in have]
        detail = f"deal funnel #{found.crm_id}" + (
            f"; stages missing: {', '.join(lacking)}" if lacking else ""
        )
        out.append(HealthCheck(f"funnel {funnel.key}", not lacking, detail))
    fields = {(f.entity, f.key) for f in observed.fields if f.key}
    lacking_fields = [f"{f.entity.value}.{f.key}" for f in desired.fields if (f.entity, f.key) not in fields]
    detail = (
        f"missing: {', '.join(lacking_fields)}; run crm-bridge provision" if lacking_fields else "all present"
    )
    out.append(HealthCheck("custom fields", not lacking_fields, detail))
    return out
