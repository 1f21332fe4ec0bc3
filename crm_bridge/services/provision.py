"""Provisioning: the funnels, stages and custom fields the config asks for, created or updated in the
CRM idempotently — observe, plan (pure, ``crm_bridge.domain.provisioning.plan``), then apply.

A second run plans nothing to write and makes no write call. A stage removed from the config is
reported (orphan) and only deleted with ``prune=True`` when it is empty and not a CRM system stage.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from crm_bridge.domain.layout import DesiredLayout, ObservedLayout, PlanAction, PlanItem, ProvisionPlan
from crm_bridge.domain.provisioning import plan
from crm_bridge.errors import CrmValidationError
from crm_bridge.ports import Capability, FunnelAdmin, port_capabilities_of

log = logging.getLogger("crm_bridge.provision")


@dataclass(frozen=True, slots=True)
class ProvisionResult:
    """What ``provision`` did. ``plan`` is the plan computed before writing; ``remaining`` is the
    plan against the layout after applying (empty of writes when the CRM converged)."""

    plan: ProvisionPlan
    applied: bool
    remaining: ProvisionPlan | None = None

    @property
    def changed(self) -> tuple[PlanItem, ...]:
        return self.plan.writes if self.applied else ()

    def summary(self) -> dict[str, int]:
        return {a.value: self.plan.count(a) for a in PlanAction if self.plan.count(a)}


def plan_provisioning(adapter: FunnelAdmin, desired: DesiredLayout, *, prune: bool = False) -> ProvisionPlan:
    """Observe the CRM (reads only) and plan what would make it match ``desired``."""
    return plan(desired, adapter.observe_layout(), prune=prune)


def provision(
    adapter: FunnelAdmin, desired: DesiredLayout, *, prune: bool = False, dry_run: bool = False
) -> ProvisionResult:
    """Plan and, unless ``dry_run``, apply. Raises the adapter's CrmError; a failure midway leaves
    what was done in place and the next run plans only what is still missing. Raises
    CrmValidationError when the CRM still differs from ``desired`` after applying."""
    if prune and Capability.STAGE_RECORD_COUNTS not in port_capabilities_of(adapter):
        log.warning(
            "provision --prune: this CRM's adapter cannot count a stage's records; nothing is deleted"
        )
    computed = plan_provisioning(adapter, desired, prune=prune)
    if dry_run or computed.is_noop:
        log.info("provision: %s", "dry run" if dry_run else "nothing to change")
        return ProvisionResult(plan=computed, applied=False)
    after: ObservedLayout = adapter.apply_plan(computed)
    remaining = plan(desired, after, prune=prune)
    result = ProvisionResult(plan=computed, applied=True, remaining=remaining)
    log.info("provision applied %d change(s)", len(computed.writes))
    if not remaining.is_noop:
        left = ", ".join(f"{i.action.value} {i.path}" for i in remaining.writes[:5])
        raise CrmValidationError(f"the CRM did not take every change; still to do: {left}", entity="layout")
    return result
