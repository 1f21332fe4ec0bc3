"""The FakeCRM's funnels, stages and custom fields: observing them and applying provisioning plans
the way a CRM would (a new funnel comes with the CRM's own won/lost stages, which the plan's won
and lost stages then take over; a stage holding records cannot be deleted)."""

from __future__ import annotations

from typing import TypeVar

from crm_bridge.domain.layout import (
    DesiredField,
    DesiredFunnel,
    DesiredOption,
    DesiredStage,
    FieldEntity,
    ObservedField,
    ObservedFunnel,
    ObservedLayout,
    ObservedOption,
    ObservedStage,
    PlanAction,
    PlanItem,
    PlanObject,
    ProvisionPlan,
)
from crm_bridge.domain.model import StageKind
from crm_bridge.errors import CrmValidationError
from crm_bridge.fake.state import CustomField, FakeState, Funnel, Option, Stage

T = TypeVar("T")

_SYSTEM_STAGES = (("WON", "Won", StageKind.WON, 1000), ("LOSE", "Lost", StageKind.LOST, 1010))


def _invalid(message: str) -> CrmValidationError:
    return CrmValidationError(message, crm="fake", entity="layout")


def observe(state: FakeState) -> ObservedLayout:
    funnels = tuple(
        ObservedFunnel(
            crm_id=f.crm_id,
            key=f.key,
            name=f.name,
            sort=f.sort,
            stages=tuple(
                ObservedStage(
                    crm_id=s.crm_id,
                    code=s.code,
                    key=s.key,
                    name=s.name,
                    kind=s.kind,
                    sort=s.sort,
                    color=s.color,
                    record_count=state.record_count(f, s),
                    system=s.system,
                )
                for s in sorted(f.stages, key=lambda s: s.sort)
            ),
        )
        for f in state.funnels.values()
    )
    fields = tuple(
        ObservedField(
            crm_id=c.crm_id,
            code=c.code,
            key=c.key,
            entity=c.entity,
            label=c.label,
            type=c.type,
            options=tuple(ObservedOption(crm_id=o.crm_id, key=o.key, label=o.label) for o in c.options),
        )
        for c in state.fields.values()
    )
    return ObservedLayout(funnels=funnels, fields=fields)


def create_funnel(state: FakeState, key: str | None, name: str, sort: int = 0) -> Funnel:
    """A new funnel with the CRM's own won and lost stages (not yet ours: ``key`` None)."""
    crm_id = state.new_id()
    funnel = Funnel(crm_id=crm_id, key=key, name=name, sort=sort)
    for code, label, kind, position in _SYSTEM_STAGES:
        funnel.stages.append(
            Stage(state.new_id(), f"C{crm_id}:{code}", None, label, kind, position, system=True)
        )
    state.funnels[crm_id] = funnel
    return funnel


def apply(state: FakeState, plan: ProvisionPlan) -> None:
    """Execute the write items of ``plan`` in order. Raises CrmValidationError for an item the CRM
    would refuse (unknown parent, a second won stage, deleting a stage that holds records…)."""
    for item in plan.writes:
        handler = _HANDLERS.get((item.object, item.action))
        if handler is None:
            raise _invalid(f"{item.path}: cannot {item.action.value} a {item.object.value}")
        handler(state, item)


def _desired(item: PlanItem, kind: type[T]) -> T:
    if not isinstance(item.desired, kind):
        raise _invalid(f"{item.path}: plan item carries no {kind.__name__}")
    return item.desired


def _create_funnel(state: FakeState, item: PlanItem) -> None:
    desired = _desired(item, DesiredFunnel)
    if state.funnel(desired.key) is not None:
        raise _invalid(f"{item.path}: funnel already exists")
    create_funnel(state, desired.key, desired.name, desired.sort)


def _update_funnel(state: FakeState, item: PlanItem) -> None:
    desired = _desired(item, DesiredFunnel)
    funnel = state.funnels.get(item.observed_id or "")
    if funnel is None:
        raise _invalid(f"{item.path}: no funnel with id {item.observed_id}")
    funnel.key, funnel.name, funnel.sort = desired.key, desired.name, desired.sort


def _parent_funnel(state: FakeState, item: PlanItem) -> Funnel:
    funnel = state.funnels.get(item.parent_id or "") or state.funnel(item.path.split("/", 1)[0])
    if funnel is None:
        raise _invalid(f"{item.path}: the funnel does not exist")
    return funnel


def _find_stage(state: FakeState, crm_id: str | None) -> tuple[Funnel, Stage]:
    for funnel in state.funnels.values():
        for stage in funnel.stages:
            if stage.crm_id == crm_id:
                return funnel, stage
    raise _invalid(f"no stage with id {crm_id}")


def _create_stage(state: FakeState, item: PlanItem) -> None:
    desired = _desired(item, DesiredStage)
    funnel = _parent_funnel(state, item)
    if funnel.stage(desired.key) is not None:
        raise _invalid(f"{item.path}: stage already exists")
    if desired.kind is not StageKind.OPEN:
        same_kind = [s for s in funnel.stages if s.kind is desired.kind]
        unclaimed = [s for s in same_kind if s.key is None and s.system]
        if unclaimed:  # take over the CRM's own terminal stage, as an adapter must
            stage = unclaimed[0]
            stage.key, stage.name, stage.sort, stage.color = (
                desired.key,
                desired.name,
                desired.sort,
                desired.color,
            )
            return
        if desired.kind is StageKind.WON and same_kind:
            raise _invalid(f"{item.path}: the funnel already has a won stage")
    code = f"C{funnel.crm_id}:{desired.key.upper()}"
    funnel.stages.append(
        Stage(state.new_id(), code, desired.key, desired.name, desired.kind, desired.sort, desired.color)
    )


def _update_stage(state: FakeState, item: PlanItem) -> None:
    desired = _desired(item, DesiredStage)
    _, stage = _find_stage(state, item.observed_id)
    if stage.kind is not desired.kind:
        raise _invalid(f"{item.path}: cannot change a stage's kind from {stage.kind} to {desired.kind}")
    stage.key, stage.name, stage.sort, stage.color = desired.key, desired.name, desired.sort, desired.color


def _delete_stage(state: FakeState, item: PlanItem) -> None:
    funnel, stage = _find_stage(state, item.observed_id)
    if stage.system:
        raise _invalid(f"{item.path}: a system stage cannot be deleted")
    if state.record_count(funnel, stage):
        raise _invalid(f"{item.path}: the stage holds records and cannot be deleted")
    funnel.stages.remove(stage)


def _field_code(desired: DesiredField) -> str:
    return f"UF_{desired.entity.value.upper()}_{desired.key.upper()}"


def _create_field(state: FakeState, item: PlanItem) -> None:
    desired = _desired(item, DesiredField)
    code = _field_code(desired)
    if any(f.code == code for f in state.fields.values()):
        raise _invalid(f"{item.path}: a field with code {code} already exists")
    created = CustomField(state.new_id(), code, desired.key, desired.entity, desired.label, desired.type)
    created.options = [Option(state.new_id(), o.key, o.label) for o in desired.options]
    state.fields[created.crm_id] = created


def _update_field(state: FakeState, item: PlanItem) -> None:
    desired = _desired(item, DesiredField)
    current = state.fields.get(item.observed_id or "")
    if current is None:
        raise _invalid(f"{item.path}: no field with id {item.observed_id}")
    if current.type is not desired.type:
        raise _invalid(f"{item.path}: cannot change a field's type from {current.type} to {desired.type}")
    current.key, current.label = desired.key, desired.label


def _option_field(state: FakeState, item: PlanItem) -> CustomField:
    found = state.fields.get(item.parent_id or "")
    if found is None:
        entity, _, key = item.path.split("/", 1)[0].partition(".")
        found = state.field_for(FieldEntity(entity), key)
    if found is None:
        raise _invalid(f"{item.path}: the field does not exist")
    return found


def _create_option(state: FakeState, item: PlanItem) -> None:
    desired = _desired(item, DesiredOption)
    owner = _option_field(state, item)
    if desired.key not in owner.option_keys():  # created together with its new field
        owner.options.append(Option(state.new_id(), desired.key, desired.label))


def _update_option(state: FakeState, item: PlanItem) -> None:
    desired = _desired(item, DesiredOption)
    owner = _option_field(state, item)
    option = next((o for o in owner.options if o.crm_id == item.observed_id), None)
    if option is None:
        raise _invalid(f"{item.path}: no option with id {item.observed_id}")
    option.key, option.label = desired.key, desired.label


_HANDLERS = {
    (PlanObject.FUNNEL, PlanAction.CREATE): _create_funnel,
    (PlanObject.FUNNEL, PlanAction.UPDATE): _update_funnel,
    (PlanObject.STAGE, PlanAction.CREATE): _create_stage,
    (PlanObject.STAGE, PlanAction.UPDATE): _update_stage,
    (PlanObject.STAGE, PlanAction.DELETE): _delete_stage,
    (PlanObject.FIELD, PlanAction.CREATE): _create_field,
    (PlanObject.FIELD, PlanAction.UPDATE): _update_field,
    (PlanObject.OPTION, PlanAction.CREATE): _create_option,
    (PlanObject.OPTION, PlanAction.UPDATE): _update_option,
}
