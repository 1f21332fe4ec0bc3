"""Executing a provisioning plan on HubSpot: deal pipelines created with all their stages in one call
(won 1.0 / lost 0.0 probability, display order = the configured sort), stages added, renamed, moved
or deleted one by one, crm-bridge's property group, properties created in one batch per object and
enumeration options written with the whole option list.

Before anything is written, the account's deal-pipeline allowance (by tier, ``crm.hubspot.tier`` or
``max_pipelines``) is checked against the pipelines the plan would add.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from crm_bridge.domain.layout import (
    DesiredField,
    DesiredFunnel,
    DesiredOption,
    DesiredStage,
    FieldEntity,
    FieldType,
    PlanAction,
    PlanItem,
    PlanObject,
    ProvisionPlan,
)
from crm_bridge.domain.model import StageKind
from crm_bridge.errors import ConfigError, CrmError
from crm_bridge_hubspot.layout.reader import LABELS, PIPELINES, Snapshot, partner_label_type
from crm_bridge_hubspot.layout.state import HubSpotLayout
from crm_bridge_hubspot.mapping import LABEL_FIELD, HubSpotMapping
from crm_bridge_hubspot.transport import HubSpotTransport

Failure = tuple[str, Exception]


def probability(stage: DesiredStage, position: int, count: int) -> str:
    """1.0 for won, 0.0 for lost; open stages rise from 0.1 to 0.9 along the funnel."""
    if stage.kind is StageKind.WON:
        return "1.0"
    if stage.kind is StageKind.LOST:
        return "0.0"
    return f"{min(0.9, max(0.1, round((position + 1) / (count + 1), 1))):.1f}"


def stage_input(stage: DesiredStage, stages: tuple[DesiredStage, ...]) -> dict[str, Any]:
    open_stages = [s for s in stages if s.kind is StageKind.OPEN]
    position = open_stages.index(stage) if stage in open_stages else 0
    return {
        "label": stage.name,
        "displayOrder": stage.sort,
        "metadata": {"probability": probability(stage, position, len(open_stages))},
    }


def option_inputs(options: list[tuple[str, str]]) -> list[dict[str, Any]]:
    return [
        {"label": label, "value": value, "displayOrder": i, "hidden": False}
        for i, (value, label) in enumerate(options)
    ]


class LayoutWriter:
    def __init__(
        self,
        transport: HubSpotTransport,
        mapping: HubSpotMapping,
        state: HubSpotLayout,
        save_state: Callable[[], None],
        max_pipelines: int,
        tier: str,
    ) -> None:
        self.transport = transport
        self.mapping = mapping
        self.state = state
        self.save_state = save_state
        self.max_pipelines = max_pipelines
        self.tier = tier
        self.funnels: dict[str, DesiredFunnel] = {}

    def check_allowance(self, plan: ProvisionPlan, snap: Snapshot) -> None:
        new = [i.path for i in plan.writes if i.object is PlanObject.FUNNEL and i.action is PlanAction.CREATE]
        have = len(snap.pipelines)
        if new and have + len(new) > self.max_pipelines:
            raise ConfigError(
                f"crm.hubspot.tier: this HubSpot account ({self.tier}) allows {self.max_pipelines} deal "
                f"pipeline(s); it has {have} and provisioning needs {len(new)} more ({', '.join(new)}). "
                "Nothing was written. Options: upgrade Sales Hub (Professional allows 15), free pipelines "
                "in HubSpot, or disable funnels in the config; set crm.hubspot.tier (or max_pipelines) "
                "if the account's plan is higher than configured"
            )

    def apply(self, plan: ProvisionPlan, snap: Snapshot) -> list[Failure]:
        self.check_allowance(plan, snap)
        self.funnels = {
            i.path: i.desired
            for i in plan.items
            if i.object is PlanObject.FUNNEL and isinstance(i.desired, DesiredFunnel)
        }
        failures: list[Failure] = []
        new_funnels = {
            i.path: i for i in plan.writes if i.object is PlanObject.FUNNEL and i.action is PlanAction.CREATE
        }
        for item in plan.writes:
            try:
                if item.object is PlanObject.FUNNEL:
                    self._funnel(item)
                elif item.object is PlanObject.STAGE and item.path.split("/")[0] not in new_funnels:
                    self._stage(item)
            except CrmError as exc:
                failures.append((item.path, exc))
            finally:
                self.save_state()
        failures += self._fields(plan, snap)
        return failures

    # -- pipelines and stages -----------------------------------------------------------------------
    def _funnel(self, item: PlanItem) -> None:
        funnel = item.desired
        if not isinstance(funnel, DesiredFunnel):
            raise TypeError(f"{item.path}: a funnel step without its funnel")
        if item.action is PlanAction.UPDATE and item.observed_id:
            self.transport.call("PATCH", f"{PIPELINES}/{item.observed_id}", json={"label": funnel.name})
            return
        if item.action is not PlanAction.CREATE:
            return
        body = {
            "label": funnel.name,
            "displayOrder": funnel.sort,
            "stages": [stage_input(s, funnel.stages) for s in funnel.stages],
        }
        created = self.transport.call("POST", PIPELINES, json=body)
        pid = str(created["id"])
        self.state.ids.funnels[funnel.key] = pid
        self.state.ids.created.add(pid)
        by_label = {s.name.strip().lower(): s.key for s in funnel.stages}
        self.state.ids.stages[funnel.key] = {
            by_label[str(s["label"]).strip().lower()]: str(s["id"])
            for s in created.get("stages", [])
            if str(s.get("label", "")).strip().lower() in by_label
        }
        colours = {s.key: s.color for s in funnel.stages}
        self.state.colours.update(
            {sid: colours[key] for key, sid in self.state.ids.stages[funnel.key].items() if colours.get(key)}
        )

    def _stage(self, item: PlanItem) -> None:
        funnel_key = item.path.split("/")[0]
        pid = item.parent_id or self.state.ids.funnels.get(funnel_key)
        if pid is None:
            raise ConfigError(f"funnel {funnel_key} has no pipeline yet; run crm-bridge provision again")
        base = f"{PIPELINES}/{pid}/stages"
        if item.action is PlanAction.DELETE and item.observed_id:
            self.transport.call("DELETE", f"{base}/{item.observed_id}")
            stages = self.state.ids.stages.get(funnel_key, {})
            for key in [k for k, code in stages.items() if code == item.observed_id]:
                del stages[key]
            return
        stage = item.desired
        if not isinstance(stage, DesiredStage):
            raise TypeError(f"{item.path}: a stage step without its stage")
        siblings = self._siblings(funnel_key, stage)
        body = stage_input(stage, siblings)
        if item.action is PlanAction.CREATE:
            created = self.transport.call("POST", base, json=body)
            sid = str(created["id"])
        elif item.action is PlanAction.UPDATE and item.observed_id:
            sid = item.observed_id
            if set(item.changes) - {"color"}:  # HubSpot has no stage colour: nothing to send for it
                self.transport.call("PATCH", f"{base}/{sid}", json=body)
        else:
            return
        self.state.ids.stages.setdefault(funnel_key, {})[stage.key] = sid
        if stage.color:
            self.state.colours[sid] = stage.color

    def _siblings(self, funnel_key: str, stage: DesiredStage) -> tuple[DesiredStage, ...]:
        desired = self.funnels.get(funnel_key)
        return desired.stages if desired is not None else (stage,)

    # -- properties ---------------------------------------------------------------------------------
    def _fields(self, plan: ProvisionPlan, snap: Snapshot) -> list[Failure]:
        failures: list[Failure] = []
        creates: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)  # object -> name -> input
        options: dict[str, list[PlanItem]] = defaultdict(list)  # field path -> option items
        for item in plan.writes:
            if item.object is PlanObject.OPTION:
                options[item.path.split("/")[0]].append(item)
        for item in plan.writes:
            if item.object is not PlanObject.FIELD:
                continue
            field = item.desired
            if not isinstance(field, DesiredField):
                raise TypeError(f"{item.path}: a field step without its field")
            if (field.entity, field.key) == LABEL_FIELD:
                failures += self._partner_label(item, snap)
                continue
            obj = self.mapping.object_of(field.entity)
            name = self.mapping.name(field.entity, field.key)
            try:
                if item.action is PlanAction.CREATE and name not in snap.properties.get(obj, {}):
                    creates[obj].setdefault(name, self._property_input(field, name))
                elif item.action is PlanAction.UPDATE:
                    self.transport.call(
                        "PATCH", f"/crm/v3/properties/{obj}/{name}", json={"label": field.label}
                    )
            except CrmError as exc:
                failures.append((item.path, exc))
        for obj, inputs in creates.items():
            try:
                if self.mapping.group.name not in snap.groups.get(obj, set()):
                    group = {
                        "name": self.mapping.group.name,
                        "label": self.mapping.group.label,
                        "displayOrder": -1,
                    }
                    self.transport.call("POST", f"/crm/v3/properties/{obj}/groups", json=group)
                    snap.groups.setdefault(obj, set()).add(self.mapping.group.name)
                self.transport.call(
                    "POST", f"/crm/v3/properties/{obj}/batch/create", json={"inputs": list(inputs.values())}
                )
            except CrmError as exc:
                failures += [(f"{obj}.{name}", exc) for name in inputs]
        for path, items in options.items():
            if any(
                i.path == path and i.object is PlanObject.FIELD and i.action is PlanAction.CREATE
                for i in plan.writes
            ):
                continue  # created with its options above
            try:
                self._options(path, items, snap)
            except CrmError as exc:
                failures.append((path, exc))
        return failures

    def _partner_label(self, item: PlanItem, snap: Snapshot) -> list[Failure]:
        """The lead's partner reference: the deal -> company association label (and its inverse). Its
        text is the mapping's; the field label the config gives is remembered (an update writes
        nothing to HubSpot)."""
        if isinstance(item.desired, DesiredField):
            self.state.label_field = item.desired.label
            self.save_state()
        if item.action is not PlanAction.CREATE or partner_label_type(snap.labels, self.mapping) is not None:
            return []
        spec = self.mapping.associations.partner_label
        body = {"name": spec.name, "label": spec.label, "inverseLabel": spec.inverse_label}
        try:
            answer = self.transport.call("POST", LABELS, json=body)
        except CrmError as exc:
            return [(item.path, exc)]
        snap.labels.extend(answer.get("results") or [])
        return []

    def _property_input(self, field: DesiredField, name: str) -> dict[str, Any]:
        kind, field_type = self.mapping.types[field.type]
        body: dict[str, Any] = {
            "name": name,
            "label": field.label,
            "groupName": self.mapping.group.name,
            "type": kind,
            "fieldType": field_type,
        }
        if field.type is FieldType.USER:
            body.update({"referencedObjectType": "OWNER", "externalOptions": True})
        elif field.options:
            body["options"] = option_inputs([(o.key, o.label) for o in field.options])
        if field.key in self.mapping.unique and field.entity is not FieldEntity.PARTNER:
            body["hasUniqueValue"] = True
        return body

    def _options(self, path: str, items: list[PlanItem], snap: Snapshot) -> None:
        entity_value, key = path.split(".", 1)
        entity = FieldEntity(entity_value)
        obj = self.mapping.object_of(entity)
        name = self.mapping.name(entity, key)
        current = snap.properties.get(obj, {}).get(name, {})
        merged = {str(o["value"]): str(o.get("label", "")) for o in current.get("options") or []}
        for item in items:
            option = item.desired
            if not isinstance(option, DesiredOption):
                raise TypeError(f"{item.path}: an option step without its option")
            if item.observed_id and item.observed_id != option.key:
                merged.pop(item.observed_id, None)
            merged[option.key] = option.label
        body = {"options": option_inputs(list(merged.items()))}
        self.transport.call("PATCH", f"/crm/v3/properties/{obj}/{name}", json=body)
