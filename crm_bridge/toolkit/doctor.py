"""The doctor's layout lines, the same for every CRM: each configured funnel (present, with all its
stages), and the custom fields, read from the adapter's ``ObservedLayout``. Every line here is one
that ``crm-bridge provision`` fixes, so it is marked ``provisionable``."""

from __future__ import annotations

from crm_bridge.domain.layout import DesiredLayout, ObservedLayout
from crm_bridge.ports import HealthCheck


def layout_checks(desired: DesiredLayout | None, observed: ObservedLayout) -> list[HealthCheck]:
    """One line per configured funnel and one for the custom fields. Without a configured layout
    (``desired`` None): one line listing the partner funnels found."""
    by_key = {f.key: f for f in observed.funnels if f.key}
    if desired is None:
        names = ", ".join(f"{k} (#{f.crm_id})" for k, f in sorted(by_key.items())) or "none yet"
        return [
            HealthCheck("funnels", bool(by_key), f"partner funnels in the CRM: {names}", provisionable=True)
        ]
    out: list[HealthCheck] = []
    for funnel in desired.funnels:
        found = by_key.get(funnel.key)
        if found is None:
            out.append(
                HealthCheck(
                    f"funnel {funnel.key}", False, "missing: run crm-bridge provision", provisionable=True
                )
            )
            continue
        have = {s.key for s in found.stages if s.key}
        lacking = [s.key for s in funnel.stages if s.key not in have]
        detail = f"#{found.crm_id} {found.name!r}, {len(found.stages)} stages" + (
            f"; stages missing: {', '.join(lacking)}" if lacking else ""
        )
        out.append(HealthCheck(f"funnel {funnel.key}", not lacking, detail, provisionable=True))
    fields = {(f.entity, f.key) for f in observed.fields if f.key}
    lacking_fields = [f"{f.entity.value}.{f.key}" for f in desired.fields if (f.entity, f.key) not in fields]
    detail = (
        f"missing: {', '.join(lacking_fields)}; run crm-bridge provision" if lacking_fields else "all present"
    )
    out.append(HealthCheck("custom fields", not lacking_fields, detail, provisionable=True))
    return out
