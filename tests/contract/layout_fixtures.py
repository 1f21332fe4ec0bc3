"""The desired layout the contract suite provisions (the domain's defaults), and small helpers."""

from __future__ import annotations

import dataclasses

from crm_bridge.config.funnels import fit_colours
from crm_bridge.domain.funnels import default_funnels
from crm_bridge.domain.funnels import desired_layout as build_layout
from crm_bridge.domain.layout import DesiredLayout, ProvisionPlan
from crm_bridge.domain.model import PartnerType, StageKind
from crm_bridge.domain.provisioning import plan
from crm_bridge.ports import FunnelAdmin

TIERS = ["bronze", "silver", "gold", "platinum"]


def desired_layout(locale: str = "en") -> DesiredLayout:
    return build_layout(default_funnels(), locale, TIERS, list(PartnerType))


def desired_for(adapter: object, locale: str = "en") -> DesiredLayout:
    """``desired_layout`` with the stage colours the target's CRM can show (as the CLI asks for them)."""
    return fit_colours(desired_layout(locale), str(getattr(adapter, "name", "")))


def provision(adapter: FunnelAdmin, desired: DesiredLayout) -> ProvisionPlan:
    """Plan against what the CRM has now and apply it; returns the plan that was applied."""
    desired = fit_colours(desired, str(getattr(adapter, "name", "")))  # colours the CRM can show
    computed = plan(desired, adapter.observe_layout())
    if not computed.is_noop:
        adapter.apply_plan(computed)
    return computed


def rename_stage(desired: DesiredLayout, funnel_key: str, stage_key: str, name: str) -> DesiredLayout:
    funnels = tuple(
        dataclasses.replace(
            f,
            stages=tuple(dataclasses.replace(s, name=name) if s.key == stage_key else s for s in f.stages),
        )
        if f.key == funnel_key
        else f
        for f in desired.funnels
    )
    return dataclasses.replace(desired, funnels=funnels)


def _lead_stages() -> list[str]:
    leads = next(f for f in desired_layout().funnels if f.key == "leads")
    return [s.key for s in sorted(leads.stages, key=lambda s: s.sort) if s.kind is StageKind.OPEN]


LEAD_STAGES = _lead_stages()


def drop_stages(desired: DesiredLayout, funnel_key: str, stage_keys: set[str]) -> DesiredLayout:
    """``desired`` without the given stages of one funnel (as if removed from the config)."""
    funnels = tuple(
        dataclasses.replace(f, stages=tuple(s for s in f.stages if s.key not in stage_keys))
        if f.key == funnel_key
        else f
        for f in desired.funnels
    )
    return dataclasses.replace(desired, funnels=funnels)
