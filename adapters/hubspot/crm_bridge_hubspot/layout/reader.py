"""Reading the account's layout: deal pipelines with their stages, and crm-bridge's properties on
companies and deals, as an ``ObservedLayout``.

Recognition (the toolkit's rules): a pipeline is ours by the id the state store remembers, else by
carrying the configured funnel's label (a first run on an account that already has it); a stage by its
remembered id, else by label and kind within its funnel, else — for the won and lost ends — by
probability 1.0 / 0.0. A property is ours by the name the mapping gives it; the lead's partner
reference is the partner association label (``associations.partner_label``), observed from the
deal -> company labels. HubSpot stages have no colour: the one configured when the stage was last
written (kept in the state store), else the configured one, is reported. Record counts
of our funnels' stages (``provision --prune`` deletes only an empty stage): one search per pipeline
for its total, and one per stage of a pipeline that holds deals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crm_bridge.domain.layout import (
    DesiredFunnel,
    DesiredLayout,
    FieldEntity,
    FieldType,
    ObservedField,
    ObservedFunnel,
    ObservedLayout,
    ObservedOption,
    ObservedStage,
)
from crm_bridge.domain.model import StageKind
from crm_bridge.toolkit.recognition import funnels_by_name, stage_key_by_name
from crm_bridge_hubspot.layout.state import HubSpotLayout
from crm_bridge_hubspot.mapping import LABEL_FIELD, HubSpotMapping
from crm_bridge_hubspot.transport import HubSpotTransport

PIPELINES = "/crm/v3/pipelines/deals"


@dataclass
class Snapshot:
    pipelines: list[dict[str, Any]]
    properties: dict[str, dict[str, dict[str, Any]]]  # object -> name -> property
    groups: dict[str, set[str]]  # object -> group names
    labels: list[dict[str, Any]] = field(default_factory=list)  # deal -> company association types


LABELS = "/crm/associations/v4/deals/companies/labels"  # the associations schema spec's spelling


def partner_label_type(labels: list[dict[str, Any]], mapping: HubSpotMapping) -> int | None:
    """The type id of the partner association label (USER_DEFINED, the mapping's label), if it exists."""
    wanted = mapping.associations.partner_label.label
    for spec in labels:
        if spec.get("category") == "USER_DEFINED" and spec.get("label") == wanted:
            return int(spec["typeId"])
    return None


def stage_kind(stage: dict[str, Any]) -> StageKind:
    metadata = stage.get("metadata") or {}
    probability = str(metadata.get("probability", ""))
    if str(metadata.get("isClosed", "")).lower() == "true" or probability in ("1.0", "0.0", "1", "0"):
        return StageKind.WON if probability in ("1.0", "1") else StageKind.LOST
    return StageKind.OPEN


class LayoutReader:
    def __init__(
        self,
        transport: HubSpotTransport,
        mapping: HubSpotMapping,
        state: HubSpotLayout,
        desired: DesiredLayout | None,
    ) -> None:
        self.transport = transport
        self.mapping = mapping
        self.state = state
        self.desired = desired

    def objects(self) -> list[str]:
        return sorted(set(self.mapping.objects.values()) - {"contacts"})

    def read(self) -> Snapshot:
        pipelines = self.transport.call("GET", PIPELINES)["results"]
        properties: dict[str, dict[str, dict[str, Any]]] = {}
        groups: dict[str, set[str]] = {}
        for obj in self.objects():
            found = self.transport.call("GET", f"/crm/v3/properties/{obj}")["results"]
            properties[obj] = {p["name"]: p for p in found}
            listed = self.transport.call("GET", f"/crm/v3/properties/{obj}/groups")["results"]
            groups[obj] = {g["name"] for g in listed}
        labels = self.transport.call("GET", LABELS)["results"]
        return Snapshot(pipelines, properties, groups, labels)

    # -- recognition (crm_bridge.toolkit.recognition) -----------------------------------------------
    def _desired_funnel(self, key: str | None) -> DesiredFunnel | None:
        if key is None or self.desired is None:
            return None
        return next((f for f in self.desired.funnels if f.key == key), None)

    def _funnel_keys(self, pipelines: list[dict[str, Any]]) -> dict[str, str]:
        """Pipeline id -> funnel key: remembered ids, else the configured funnel's label."""
        known = {k: v for k, v in self.state.ids.funnels.items() if any(p["id"] == v for p in pipelines)}
        found = funnels_by_name(self.desired, known, [(p["id"], str(p.get("label", ""))) for p in pipelines])
        return {pid: key for key, pid in {**known, **found}.items()}

    def _stage_key(self, funnel_key: str | None, stage: dict[str, Any], used: set[str]) -> str | None:
        if funnel_key is None:
            return None
        known = self.state.ids.stage_key(funnel_key, stage["id"])
        if known is not None:
            return known
        kind = stage_kind(stage)
        by_name = stage_key_by_name(self.desired, funnel_key, used, str(stage.get("label", "")), kind)
        funnel = self._desired_funnel(funnel_key)
        if by_name is None and funnel is not None and kind is not StageKind.OPEN:
            # the won / lost end a pipeline was created with, under another label
            by_name = next((s.key for s in funnel.stages if s.kind is kind and s.key not in used), None)
        return by_name

    def observed(self, snap: Snapshot) -> ObservedLayout:
        funnels: list[ObservedFunnel] = []
        keys = self._funnel_keys(snap.pipelines)
        for pipeline in sorted(snap.pipelines, key=lambda p: (p.get("displayOrder", 0), p["id"])):
            key = keys.get(pipeline["id"])
            desired = self._desired_funnel(key)
            colours = {s.key: s.color for s in desired.stages} if desired else {}
            stages: list[ObservedStage] = []
            used: set[str] = set()
            holding = self.count(pipeline["id"]) if key is not None else 0
            for stage in sorted(pipeline.get("stages", []), key=lambda s: s.get("displayOrder", 0)):
                skey = self._stage_key(key, stage, used)
                if skey is not None:
                    used.add(skey)
                if key is None:
                    count = None
                else:  # a pipeline with no deal has none in any stage
                    count = self.count(pipeline["id"], stage["id"]) if holding else 0
                stages.append(
                    ObservedStage(
                        crm_id=stage["id"],
                        code=stage["id"],
                        key=skey,
                        name=str(stage.get("label", "")),
                        kind=stage_kind(stage),
                        sort=int(stage.get("displayOrder", 0)),
                        color=self.state.colours.get(stage["id"]) or colours.get(skey or "", ""),
                        record_count=count,
                    )
                )
            funnels.append(
                ObservedFunnel(
                    pipeline["id"],
                    key,
                    str(pipeline.get("label", "")),
                    tuple(stages),
                    int(pipeline.get("displayOrder", 0)),
                )
            )
        return ObservedLayout(tuple(funnels), tuple(self._fields(snap)))

    def count(self, pipeline: str, stage: str | None = None) -> int:
        """Deals in ``pipeline`` (or in its ``stage``): the ``total`` of one search (archived deals are
        not counted; HubSpot itself refuses to delete a stage that still holds deals)."""
        filters = [{"propertyName": "pipeline", "operator": "EQ", "value": pipeline}]
        if stage is not None:
            filters.append({"propertyName": "dealstage", "operator": "EQ", "value": stage})
        body = {
            "filterGroups": [{"filters": filters}],
            "sorts": ["hs_object_id"],
            "properties": ["dealstage"],
            "limit": 1,
            "after": "0",
        }
        answer = self.transport.call("POST", "/crm/v3/objects/deals/search", json=body)
        return int(answer.get("total") or 0)

    def _wanted(self) -> list[tuple[FieldEntity, str, FieldType | None]]:
        if self.desired is not None:
            return [(f.entity, f.key, f.type) for f in self.desired.fields]
        named = [(e, k, None) for e, names in self.mapping.properties.items() for k in names]
        return [*named, (*LABEL_FIELD, None)]

    def _fields(self, snap: Snapshot) -> list[ObservedField]:
        out = []
        for entity, key, wanted in self._wanted():
            if (entity, key) == LABEL_FIELD:
                type_id = partner_label_type(snap.labels, self.mapping)
                if type_id is not None:  # the lead's partner reference: the association label
                    label = self.mapping.associations.partner_label.label
                    desired = (
                        next((f for f in self.desired.fields if (f.entity, f.key) == LABEL_FIELD), None)
                        if self.desired
                        else None
                    )
                    out.append(
                        ObservedField(
                            crm_id=f"label:{type_id}",
                            code=str(type_id),
                            key=key,
                            entity=entity,
                            label=self.state.label_field or (desired.label if desired else label),
                            type=wanted or FieldType.INTEGER,
                        )
                    )
                continue
            name = self.mapping.name(entity, key)
            prop = snap.properties.get(self.mapping.object_of(entity), {}).get(name)
            if prop is None:
                continue
            options = tuple(
                ObservedOption(str(o["value"]), str(o["value"]), str(o.get("label", "")))
                for o in prop.get("options") or []
            )
            out.append(
                ObservedField(
                    crm_id=f"{entity.value}:{name}",
                    code=name,
                    key=key,
                    entity=entity,
                    label=str(prop.get("label", "")),
                    type=self.field_type(prop, wanted),
                    options=options if prop.get("referencedObjectType") != "OWNER" else (),
                )
            )
        return out

    def field_type(self, prop: dict[str, Any], wanted: FieldType | None) -> FieldType:
        """The domain type of a property: the wanted one when the property fits it."""
        if prop.get("referencedObjectType") == "OWNER":
            return FieldType.USER
        pair = (str(prop.get("type")), str(prop.get("fieldType")))
        if wanted is not None and tuple(self.mapping.types[wanted]) == pair and wanted is not FieldType.USER:
            return wanted
        for field_type, known in self.mapping.types.items():
            if tuple(known) == pair and field_type is not FieldType.USER:
                return field_type
        return FieldType.STRING
