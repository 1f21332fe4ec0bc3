"""A faithful in-test 'adapter' that applies a ProvisionPlan to an ObservedLayout, for convergence tests."""

from __future__ import annotations

import dataclasses
import itertools

from crm_bridge.domain.layout import (
    DesiredField,
    DesiredFunnel,
    DesiredOption,
    DesiredStage,
    ObservedField,
    ObservedFunnel,
    ObservedLayout,
    ObservedOption,
    ObservedStage,
    PlanAction,
    PlanObject,
    ProvisionPlan,
)

_ids = itertools.count(1000)


def apply_plan(plan: ProvisionPlan, observed: ObservedLayout) -> ObservedLayout:
    """Apply creates/updates/deletes in plan order; parent_id None means 'the object just created'."""
    funnels = {f.crm_id: f for f in observed.funnels}
    fields = {f.crm_id: f for f in observed.fields}
    last_funnel = last_field = ""
    for item in plan.items:
        if item.object is PlanObject.FUNNEL:
            if item.action is PlanAction.CREATE:
                assert isinstance(item.desired, DesiredFunnel)
                last_funnel = f"f{next(_ids)}"
                funnels[last_funnel] = ObservedFunnel(last_funnel, item.desired.key, item.desired.name, ())
            else:
                last_funnel = item.observed_id or ""
                if item.action is PlanAction.UPDATE:
                    assert isinstance(item.desired, DesiredFunnel)
                    funnels[last_funnel] = dataclasses.replace(
                        funnels[last_funnel], name=item.desired.name, key=item.desired.key
                    )
        elif item.object is PlanObject.STAGE:
            parent = item.parent_id or last_funnel
            funnel = funnels[parent]
            stages = list(funnel.stages)
            if item.action is PlanAction.CREATE:
                assert isinstance(item.desired, DesiredStage)
                d = item.desired
                stages.append(
                    ObservedStage(f"s{next(_ids)}", d.key.upper(), d.key, d.name, d.kind, d.sort, d.color, 0)
                )
            elif item.action is PlanAction.UPDATE:
                assert isinstance(item.desired, DesiredStage)
                d = item.desired
                stages = [
                    dataclasses.replace(s, key=d.key, name=d.name, sort=d.sort, color=d.color or s.color)
                    if s.crm_id == item.observed_id
                    else s
                    for s in stages
                ]
            elif item.action is PlanAction.DELETE:
                stages = [s for s in stages if s.crm_id != item.observed_id]
            funnels[parent] = dataclasses.replace(funnel, stages=tuple(stages))
        elif item.object is PlanObject.FIELD:
            if item.action is PlanAction.CREATE:
                assert isinstance(item.desired, DesiredField)
                d = item.desired
                last_field = f"uf{next(_ids)}"
                fields[last_field] = ObservedField(
                    last_field, f"UF_{d.key}", d.key, d.entity, d.label, d.type
                )
            else:
                last_field = item.observed_id or ""
                if item.action is PlanAction.UPDATE:
                    assert isinstance(item.desired, DesiredField)
                    fields[last_field] = dataclasses.replace(
                        fields[last_field],
                        key=item.desired.key,
                        label=item.desired.label,
                        type=item.desired.type,
                    )
        elif item.object is PlanObject.OPTION:
            parent = item.parent_id or last_field
            field = fields[parent]
            options = list(field.options)
            if item.action is PlanAction.CREATE:
                assert isinstance(item.desired, DesiredOption)
                options.append(ObservedOption(f"o{next(_ids)}", item.desired.key, item.desired.label))
            elif item.action is PlanAction.UPDATE:
                assert isinstance(item.desired, DesiredOption)
                d = item.desired
                options = [
                    dataclasses.replace(o, key=d.key, label=d.label) if o.crm_id == item.observed_id else o
                    for o in options
                ]
            fields[parent] = dataclasses.replace(field, options=tuple(options))
    return ObservedLayout(tuple(funnels.values()), tuple(fields.values()))
