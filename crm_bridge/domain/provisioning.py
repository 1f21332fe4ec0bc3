"""The provisioning decision, shared by every adapter: ``plan(desired, observed)`` compares the
funnels, stages and custom fields crm-bridge wants with what the CRM has and lists what to create,
update, leave alone, report (orphans) or — with ``prune`` — delete. Pure: no I/O.
"""

from __future__ import annotations

from crm_bridge.domain.layout import (
    DesiredField,
    DesiredFunnel,
    DesiredLayout,
    DesiredStage,
    ObservedField,
    ObservedFunnel,
    ObservedLayout,
    ObservedStage,
    PlanAction,
    PlanItem,
    PlanObject,
    ProvisionPlan,
)
from crm_bridge.domain.model import StageKind


def _match_funnel(
    desired: DesiredFunnel, observed: tuple[ObservedFunnel, ...], taken: set[str]
) -> ObservedFunnel | None:
    for funnel in observed:
        if funnel.crm_id not in taken and funnel.key == desired.key:
            return funnel
    for funnel in observed:
        if (
            funnel.crm_id not in taken
            and funnel.key is None
            and funnel.name.strip().lower() == desired.name.strip().lower()
        ):
            return funnel
    return None


def _match_stages(
    desired: tuple[DesiredStage, ...], observed: tuple[ObservedStage, ...]
) -> dict[str, ObservedStage]:
    """Desired stage key -> observed stage: by key; the won stage to the CRM's won stage and the
    lost stage to its first lost stage when keys differ (CRMs create those themselves)."""
    matched: dict[str, ObservedStage] = {}
    used: set[str] = set()
    for stage in desired:
        hit = next((o for o in observed if o.key == stage.key and o.crm_id not in used), None)
        if hit is not None:
            matched[stage.key] = hit
            used.add(hit.crm_id)
    for stage in desired:
        if stage.key in matched or stage.kind is StageKind.OPEN:
            continue
        hit = next(
            (
                o
                for o in sorted(observed, key=lambda o: o.sort)
                if o.kind is stage.kind
                and o.crm_id not in used
                and (o.key is None or o.key not in {d.key for d in desired})
            ),
            None,
        )
        if hit is not None:
            matched[stage.key] = hit
            used.add(hit.crm_id)
    return matched


def _changes(pairs: dict[str, tuple[object, object]]) -> dict[str, tuple[object, object]]:
    return {k: (old, new) for k, (old, new) in pairs.items() if new not in ("", None) and old != new}


def _plan_funnel(desired: DesiredFunnel, observed: ObservedFunnel | None, prune: bool) -> list[PlanItem]:
    items: list[PlanItem] = []
    if observed is None:
        items.append(
            PlanItem(
                PlanObject.FUNNEL,
                PlanAction.CREATE,
                desired.key,
                f"new funnel {desired.name!r}",
                desired=desired,
            )
        )
        for stage in desired.stages:
            items.append(
                PlanItem(
                    PlanObject.STAGE,
                    PlanAction.CREATE,
                    f"{desired.key}/{stage.key}",
                    f"{stage.kind.value} stage {stage.name!r}",
                    desired=stage,
                )
            )
        return items
    changes = _changes({"name": (observed.name, desired.name)})
    action = PlanAction.UPDATE if changes else PlanAction.UNCHANGED
    items.append(
        PlanItem(
            PlanObject.FUNNEL, action, desired.key, _describe(changes), changes, desired, observed.crm_id
        )
    )
    matched = _match_stages(desired.stages, observed.stages)
    for stage in desired.stages:
        path = f"{desired.key}/{stage.key}"
        hit = matched.get(stage.key)
        if hit is None:
            items.append(
                PlanItem(
                    PlanObject.STAGE,
                    PlanAction.CREATE,
                    path,
                    f"{stage.kind.value} stage {stage.name!r}",
                    desired=stage,
                    parent_id=observed.crm_id,
                )
            )
            continue
        compared: dict[str, tuple[object, object]] = {"name": (hit.name, stage.name)}
        if not hit.fixed:
            compared["sort"] = (hit.sort, stage.sort)
            compared["color"] = (hit.color.upper() if hit.color else hit.color, stage.color.upper())
        changes = _changes(compared)
        if hit.kind is not stage.kind:
            changes["kind"] = (hit.kind.value, stage.kind.value)
        action = PlanAction.UPDATE if changes else PlanAction.UNCHANGED
        items.append(
            PlanItem(
                PlanObject.STAGE,
                action,
                path,
                _describe(changes),
                changes,
                stage,
                hit.crm_id,
                observed.crm_id,
            )
        )
    used = {s.crm_id for s in matched.values()}
    for extra in observed.stages:
        if extra.crm_id in used:
            continue
        path = f"{desired.key}/{extra.key or extra.code}"
        empty = extra.record_count == 0
        if prune and empty and not extra.system:
            items.append(
                PlanItem(
                    PlanObject.STAGE,
                    PlanAction.DELETE,
                    path,
                    f"empty stage {extra.name!r} not in config",
                    observed_id=extra.crm_id,
                    parent_id=observed.crm_id,
                )
            )
        else:
            why = (
                "holds records" if not empty else "system stage" if extra.system else "use --prune to delete"
            )
            items.append(
                PlanItem(
                    PlanObject.STAGE,
                    PlanAction.ORPHAN,
                    path,
                    f"stage {extra.name!r} not in config, kept ({why})",
                    observed_id=extra.crm_id,
                    parent_id=observed.crm_id,
                )
            )
    return items


def _match_field(
    desired: DesiredField, observed: tuple[ObservedField, ...], taken: set[str]
) -> ObservedField | None:
    candidates = [f for f in observed if f.entity is desired.entity and f.crm_id not in taken]
    return next((f for f in candidates if f.key == desired.key), None) or next(
        (f for f in candidates if f.key is None and f.label.strip().lower() == desired.label.strip().lower()),
        None,
    )


def _plan_field(desired: DesiredField, observed: ObservedField | None) -> list[PlanItem]:
    path = f"{desired.entity.value}.{desired.key}"
    if observed is None:
        items = [
            PlanItem(
                PlanObject.FIELD,
                PlanAction.CREATE,
                path,
                f"{desired.type.value} field {desired.label!r}",
                desired=desired,
            )
        ]
        items += [
            PlanItem(
                PlanObject.OPTION, PlanAction.CREATE, f"{path}/{o.key}", f"option {o.label!r}", desired=o
            )
            for o in desired.options
        ]
        return items
    changes = _changes({"label": (observed.label, desired.label)})
    if observed.type is not desired.type:
        changes["type"] = (observed.type.value, desired.type.value)
    action = PlanAction.UPDATE if changes else PlanAction.UNCHANGED
    items = [PlanItem(PlanObject.FIELD, action, path, _describe(changes), changes, desired, observed.crm_id)]
    by_key = {o.key: o for o in observed.options if o.key}
    by_label = {o.label.strip().lower(): o for o in observed.options}
    for option in desired.options:
        hit = by_key.get(option.key) or by_label.get(option.label.strip().lower())
        opath = f"{path}/{option.key}"
        if hit is None:
            items.append(
                PlanItem(
                    PlanObject.OPTION,
                    PlanAction.CREATE,
                    opath,
                    f"option {option.label!r}",
                    desired=option,
                    parent_id=observed.crm_id,
                )
            )
            continue
        changes = _changes({"label": (hit.label, option.label)})
        if hit.key != option.key:
            changes["key"] = (hit.key, option.key)
        action = PlanAction.UPDATE if changes else PlanAction.UNCHANGED
        items.append(
            PlanItem(
                PlanObject.OPTION,
                action,
                opath,
                _describe(changes),
                changes,
                option,
                hit.crm_id,
                observed.crm_id,
            )
        )
    return items


def _describe(changes: dict[str, tuple[object, object]]) -> str:
    return ", ".join(f"{k}: {old!r} -> {new!r}" for k, (old, new) in changes.items())


def plan(desired: DesiredLayout, observed: ObservedLayout, *, prune: bool = False) -> ProvisionPlan:
    """Items in apply order: each funnel then its stages, then each field then its options. The
    company's other funnels and fields are not part of the plan at all."""
    items: list[PlanItem] = []
    taken: set[str] = set()
    for funnel in desired.funnels:
        hit = _match_funnel(funnel, observed.funnels, taken)
        if hit is not None:
            taken.add(hit.crm_id)
        items += _plan_funnel(funnel, hit, prune)
    taken_fields: set[str] = set()
    for field in desired.fields:
        found = _match_field(field, observed.fields, taken_fields)
        if found is not None:
            taken_fields.add(found.crm_id)
        items += _plan_field(field, found)
    return ProvisionPlan(tuple(items))
