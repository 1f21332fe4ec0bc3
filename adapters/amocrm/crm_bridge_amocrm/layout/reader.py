"""Read the account's layout: the lead pipelines with their statuses (one request), and the custom
fields of companies and leads (one request each per 50 fields).

Recognition: pipelines, statuses, fields and enums through the state store, else pipelines and statuses
by the configured names, fields by their ``code`` (mappings/amocrm.yaml) or configured label, enums by
their label. The account's own pipelines are not reported: they are never touched. Statuses 142 (won)
and 143 (lost) are amoCRM's own, in every pipeline: only their names can change (``fixed``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from crm_bridge.domain.layout import (
    DesiredField,
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
from crm_bridge_amocrm.client import AmoClient
from crm_bridge_amocrm.layout.state import LayoutState
from crm_bridge_amocrm.mapping import AmoMapping

WON, LOST = 142, 143
UNSORTED_TYPE = 1
FIELD_PAGE = 50  # custom_fields lists: at most 50 per page


def kind_of(status: dict[str, Any]) -> StageKind:
    sid = int(status["id"])
    return StageKind.WON if sid == WON else StageKind.LOST if sid == LOST else StageKind.OPEN


@dataclass
class Snapshot:
    pipelines: dict[int, dict[str, Any]] = field(default_factory=dict)  # ours only, by id
    all_pipelines: int = 0  # pipelines on the account (its limit is 50)
    fields: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # amo entity -> fields
    counts: dict[tuple[int, int], int] = field(default_factory=dict)  # (pipeline, status) -> 0 / 1+


class LayoutReader:
    def __init__(
        self, client: AmoClient, mapping: AmoMapping, state: LayoutState, desired: DesiredLayout | None
    ) -> None:
        self.client = client
        self.mapping = mapping
        self.state = state
        self.desired = desired

    def read(self) -> Snapshot:
        """The pipelines and the custom fields of each entity: independent reads, sent together."""
        snap = Snapshot()
        self.refresh(snap, pipelines=True, entities=sorted(set(self.mapping.entities.values())))
        return snap

    def refresh(self, snap: Snapshot, *, pipelines: bool, entities: list[str]) -> None:
        """Read again the pipelines (when ``pipelines``) and the custom fields of ``entities`` into
        ``snap``: one request each (a field list of more than 50 pages on), up to ``concurrency`` at
        once within the shared rate limit."""
        jobs: list[tuple[str, str]] = [("pipelines", "")] if pipelines else []
        jobs += [("fields", entity) for entity in entities]

        def one(job: tuple[str, str]) -> Any:
            kind, entity = job
            if kind == "pipelines":
                return self.client.get("api/v4/leads/pipelines") or {}
            return self.client.fetch_all(
                f"api/v4/{entity}/custom_fields", "custom_fields", {}, limit=FIELD_PAGE
            )

        for (kind, entity), answer in zip(jobs, self.client.map_chunks(one, jobs), strict=True):
            if kind == "fields":
                snap.fields[entity] = answer
            else:
                self.take_pipelines(snap, list((answer.get("_embedded") or {}).get("pipelines") or []))

    def take_pipelines(self, snap: Snapshot, pipelines: list[dict[str, Any]], *, added: bool = False) -> None:
        """Keep ours of ``pipelines`` (the whole list, or ``added`` ones just created) in ``snap``."""
        if added:
            snap.all_pipelines += len(pipelines)
        else:
            snap.all_pipelines = len(pipelines)
            snap.pipelines.clear()
        wanted = {f.name.strip().lower(): f.key for f in (self.desired.funnels if self.desired else ())}
        for pipeline in pipelines:
            pid = int(pipeline["id"])
            key = self.state.funnel_key(pid)
            if key is None:
                key = wanted.get(str(pipeline.get("name", "")).strip().lower())
                if key is None or key in self.state.funnels:
                    continue
                self.state.funnels[key] = pid  # a first run: the pipeline carrying our name is ours
            snap.pipelines[pid] = pipeline

    # -- translation to the domain's observed layout ------------------------------------------------
    def observed(self, snap: Snapshot) -> ObservedLayout:
        funnels = []
        for pid, pipeline in sorted(snap.pipelines.items()):
            key = self.state.funnel_key(pid)
            statuses = (pipeline.get("_embedded") or {}).get("statuses") or []
            stages = tuple(
                self._counted(snap, key, pid, self._stage(key, pid, s))
                for s in sorted(statuses, key=lambda s: (s["sort"], s["id"]))
            )
            funnels.append(
                ObservedFunnel(str(pid), key, str(pipeline["name"]), stages, int(pipeline["sort"]))
            )
        return ObservedLayout(tuple(funnels), tuple(self._fields(snap)))

    def _stage(self, funnel: str | None, pid: int, status: dict[str, Any]) -> ObservedStage:
        sid = int(status["id"])
        kind = kind_of(status)
        key = self.state.stage_key(funnel, sid) if funnel else None
        if key is None and funnel:
            key = (
                self._stage_by_desired(funnel, status)
                if kind is StageKind.OPEN
                else self._fixed_by_desired(funnel, kind, sid)
            )
        system = kind is not StageKind.OPEN or int(status.get("type") or 0) == UNSORTED_TYPE
        return ObservedStage(
            crm_id=str(sid),
            code=f"{pid}:{sid}",  # 142/143 are in every pipeline: the pair names the stage
            key=key,
            name=str(status["name"]),
            kind=kind,
            sort=int(status["sort"]),
            color=str(status.get("color") or ""),
            record_count=None,
            system=system,
            fixed=kind is not StageKind.OPEN,
        )

    def _counted(self, snap: Snapshot, funnel: str | None, pid: int, stage: ObservedStage) -> ObservedStage:
        """``stage`` with its record count when ``provision --prune`` may delete it: an open stage of our
        pipelines that the configured layout does not name (every open one without a configured
        layout). amoCRM gives no totals: one lead list of one row tells 0 or "at least 1"."""
        if stage.system or stage.kind is not StageKind.OPEN or funnel is None:
            return stage
        desired = self._desired_funnel(funnel)
        if desired is not None and stage.key in {s.key for s in desired.stages}:
            return stage
        sid = int(stage.crm_id)
        if (pid, sid) not in snap.counts:
            body = self.client.get(
                "api/v4/leads",
                {
                    "filter[statuses][0][pipeline_id]": pid,
                    "filter[statuses][0][status_id]": sid,
                    "limit": 1,
                },
            )
            snap.counts[(pid, sid)] = len((body or {}).get("_embedded", {}).get("leads") or [])
        return dataclasses.replace(stage, record_count=snap.counts[(pid, sid)])

    def _desired_funnel(self, funnel: str) -> DesiredFunnel | None:
        """The configured funnel of that key (None without a configured layout)."""
        return next((f for f in (self.desired.funnels if self.desired else ()) if f.key == funnel), None)

    def _fixed_by_desired(self, funnel: str, kind: StageKind, sid: int) -> str | None:
        """A won (142) or lost (143) status not remembered yet (a first run on a provisioned account, a
        new state store): the configured funnel's first stage of that kind, as the writer records it."""
        desired = self._desired_funnel(funnel)
        stage = next((s for s in desired.stages if s.kind is kind), None) if desired is not None else None
        if stage is None or stage.key in self.state.stages.get(funnel, {}):
            return None
        self.state.stages.setdefault(funnel, {})[stage.key] = sid
        return stage.key

    def _stage_by_desired(self, funnel: str, status: dict[str, Any]) -> str | None:
        desired = self._desired_funnel(funnel)
        if desired is None:
            return None
        taken = set(self.state.stages.get(funnel, {}))
        for stage in desired.stages:
            if stage.key not in taken and stage.kind is StageKind.OPEN and stage.name == status["name"]:
                self.state.stages.setdefault(funnel, {})[stage.key] = int(status["id"])
                return stage.key
        return None

    def _fields(self, snap: Snapshot) -> list[ObservedField]:
        out: list[ObservedField] = []
        reported: set[int] = set()
        for entity in FieldEntity:
            amo = self.mapping.amo_entity(entity)
            for raw in snap.fields.get(amo, []):
                fid = int(raw["id"])
                key = self._field_key(entity, raw)
                if key is None:
                    continue
                path = f"{entity.value}.{key}"
                self.state.fields[path] = fid
                field_type = self._type(entity, key, str(raw.get("type")))
                options = tuple(
                    ObservedOption(str(e["id"]), self._option_key(path, e), str(e["value"]))
                    for e in raw.get("enums") or []
                )
                # one leads field serves partner leads and deals alike: the second report gets its own id
                crm_id = str(fid) if fid not in reported else f"{fid}@{entity.value}"
                reported.add(fid)
                out.append(
                    ObservedField(crm_id, str(fid), key, entity, str(raw["name"]), field_type, options)
                )
        return out

    def _desired(self, entity: FieldEntity, key: str) -> DesiredField | None:
        fields = self.desired.fields if self.desired else ()
        return next((f for f in fields if f.entity is entity and f.key == key), None)

    def _field_key(self, entity: FieldEntity, raw: dict[str, Any]) -> str | None:
        key = self.state.field_key(entity.value, int(raw["id"])) or self.mapping.key_for_code(
            entity, raw.get("code")
        )
        if key is None and self.desired is not None:
            label = str(raw.get("name", "")).strip().lower()
            key = next(
                (
                    f.key
                    for f in self.desired.fields
                    if f.entity is entity and f.label.strip().lower() == label
                ),
                None,
            )
        if key is None:
            return None
        if self.desired is not None and self._desired(entity, key) is None:
            return None  # one of ours, but not in this config (a deal-only field seen on leads…)
        if (
            self.desired is None
            and entity is FieldEntity.DEAL
            and key not in self.mapping.fields.get(entity, {})
        ):
            return None
        return key

    def _type(self, entity: FieldEntity, key: str, amo_type: str) -> FieldType:
        wanted = self._desired(entity, key)
        if wanted is not None and self.mapping.amo_type(wanted.type) == amo_type:
            return FieldType(wanted.type)
        known = self.state.types.get(f"{entity.value}.{key}")
        if known and self.mapping.amo_type(FieldType(known)) == amo_type:
            return FieldType(known)
        return next((t for t, a in self.mapping.field_types.items() if a == amo_type), FieldType.STRING)

    def _option_key(self, path: str, enum: dict[str, Any]) -> str | None:
        key = self.state.option_key(path, int(enum["id"]))
        if key is not None:
            return key
        entity, _, fkey = path.partition(".")
        wanted = self._desired(FieldEntity(entity), fkey)
        label = str(enum.get("value", "")).strip().lower()
        for option in wanted.options if wanted is not None else ():
            if option.label.strip().lower() == label:
                self.state.options.setdefault(path, {})[option.key] = int(enum["id"])
                return option.key
        return None
