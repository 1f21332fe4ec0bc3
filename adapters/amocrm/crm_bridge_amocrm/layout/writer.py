"""Execute a provisioning plan on amoCRM in as few requests as the API allows:

* new pipelines with all their statuses: one ``POST /api/v4/leads/pipelines`` (an array; the won and
  lost statuses 142/143 named in the same request);
* new statuses of existing pipelines: one ``POST .../pipelines/{id}/statuses`` array per pipeline;
* renamed pipelines and changed statuses: one PATCH each (amoCRM has no array form for them);
* new custom fields with their enums: one ``POST /api/v4/{entity}/custom_fields`` array per entity;
  renamed fields and new or renamed options: one PATCH array per entity.

The pipelines and each entity's fields are independent: their requests go together, within the shared
rate limit. From scratch that is 1 + E writes after 1 + E reads (E entities with fields: companies and
leads), and nothing is read afterwards: the layout is rebuilt from amoCRM's answers to the creates; what
was renamed, deleted or refused is read again.

The account's limits (50 pipelines, 100 statuses per pipeline) are checked before anything is written.
Every id is saved in the state store after each step, so a run broken midway is resumed, not repeated.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from crm_bridge.domain.layout import (
    DesiredField,
    DesiredFunnel,
    DesiredStage,
    PlanAction,
    PlanItem,
    PlanObject,
    ProvisionPlan,
)
from crm_bridge.domain.model import StageKind
from crm_bridge.errors import CrmBridgeError, CrmValidationError
from crm_bridge.ports import KeyValueState
from crm_bridge_amocrm.client import AmoClient
from crm_bridge_amocrm.config import CAPABILITIES
from crm_bridge_amocrm.layout.fields import Failures, FieldWriter, fid
from crm_bridge_amocrm.layout.reader import LOST, WON, LayoutReader, Snapshot
from crm_bridge_amocrm.layout.state import LayoutState
from crm_bridge_amocrm.mapping import AmoMapping

MAX_PIPELINES = 50
MAX_STATUSES = 100


def _status_body(stage: DesiredStage, *, fixed: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"name": stage.name}
    if not fixed:
        body["sort"] = stage.sort
        colour = CAPABILITIES.fit_colour(stage.color)  # the core fits them already; amoCRM refuses others
        if colour:
            body["color"] = colour.lower()
    return body


class LayoutWriter(FieldWriter):
    def __init__(
        self,
        client: AmoClient,
        mapping: AmoMapping,
        state: LayoutState,
        kv: KeyValueState,
        snap: Snapshot,
        reader: LayoutReader,
    ) -> None:
        self.client = client
        self.reader = reader
        self.mapping = mapping
        self.state = state
        self.kv = kv
        self.snap = snap
        self.failures: Failures = []
        self.lock = threading.Lock()  # the state and the snapshot, written by concurrent jobs
        self.stale_pipelines = False
        self.stale_fields: set[str] = set()  # amoCRM entities whose fields must be read again

    def apply(self, plan: ProvisionPlan) -> Failures:
        """Write ``plan``: the pipelines and each entity's fields are independent, so their requests go
        together (up to ``concurrency`` at once, within the shared rate limit). What amoCRM answers
        for the objects it created goes into the snapshot; ``stale`` names what was changed in a way
        whose answer is not kept (renames, deletions, refusals) and must be read again."""
        self._remember(plan)
        self.check_limits(plan)
        jobs: list[Callable[[], None]] = [lambda: self._pipelines(plan), *self._field_jobs(plan)]
        self.client.map_chunks(lambda job: job(), jobs)
        with self.lock:
            self.state.save(self.kv)
        return self.failures

    def check_limits(self, plan: ProvisionPlan) -> None:
        """Raise before any write when the plan would pass the account's pipeline or status limits."""
        new = [i for i in plan.items if i.object is PlanObject.FUNNEL and i.action is PlanAction.CREATE]
        if self.snap.all_pipelines + len(new) > MAX_PIPELINES:
            raise CrmValidationError(
                f"amoCRM allows {MAX_PIPELINES} lead pipelines per account; it has {self.snap.all_pipelines} "
                f"and provisioning needs {len(new)} more: archive or delete unused pipelines first",
                crm="amocrm",
            )
        added: dict[str, int] = defaultdict(int)
        for item in plan.items:
            if item.object is PlanObject.STAGE and item.action is PlanAction.CREATE and item.parent_id:
                added[item.parent_id] += 1
        for pid, count in added.items():
            have = len((self.snap.pipelines.get(int(pid), {}).get("_embedded") or {}).get("statuses") or [])
            if have + count > MAX_STATUSES:
                raise CrmValidationError(
                    f"amoCRM allows {MAX_STATUSES} statuses per pipeline; pipeline #{pid} has {have} and "
                    f"provisioning needs {count} more",
                    crm="amocrm",
                )

    def _remember(self, plan: ProvisionPlan) -> None:
        """Ids of objects the plan matched (by key or by name) are ours from now on."""
        for item in plan.items:
            if item.observed_id is None or item.action is PlanAction.ORPHAN:
                continue
            if item.object is PlanObject.FUNNEL:
                self.state.funnels[item.path] = int(item.observed_id)
            elif item.object is PlanObject.STAGE:
                funnel, _, key = item.path.partition("/")
                self.state.stages.setdefault(funnel, {})[key] = int(item.observed_id)
            elif item.object is PlanObject.FIELD:
                self.state.fields[item.path] = fid(item.observed_id)
                if isinstance(item.desired, DesiredField):
                    self.state.types[item.path] = item.desired.type.value
            elif item.object is PlanObject.OPTION:
                path, _, key = item.path.partition("/")
                self.state.options.setdefault(path, {})[key] = int(item.observed_id)

    # -- pipelines and statuses ---------------------------------------------------------------------
    def _pipelines(self, plan: ProvisionPlan) -> None:
        self._new_pipelines(plan)
        self._pipeline_changes(plan)

    def _new_pipelines(self, plan: ProvisionPlan) -> None:
        funnels = [
            i.desired
            for i in plan.items
            if i.object is PlanObject.FUNNEL
            and i.action is PlanAction.CREATE
            and isinstance(i.desired, DesiredFunnel)
        ]
        if not funnels:
            return
        payload = []
        for funnel in funnels:
            statuses = [_status_body(s) for s in funnel.stages if s.kind is StageKind.OPEN]
            won = [s for s in funnel.stages if s.kind is StageKind.WON]
            lost = [s for s in funnel.stages if s.kind is StageKind.LOST]
            for extra in won[1:] + lost[1:]:
                self.failures.append(
                    (
                        f"{funnel.key}/{extra.key}",
                        CrmValidationError("amoCRM has one won and one lost status"),
                    )
                )
            statuses += [{"id": WON, "name": s.name} for s in won[:1]]
            statuses += [{"id": LOST, "name": s.name} for s in lost[:1]]
            payload.append(
                {
                    "name": funnel.name,
                    "sort": funnel.sort,
                    "is_main": False,
                    "is_unsorted_on": False,
                    "_embedded": {"statuses": statuses},
                }
            )
        try:
            body = self.client.transport.post("api/v4/leads/pipelines", payload)
        except CrmBridgeError as exc:
            self.failures += [(f.key, exc) for f in funnels]
            self.stale_pipelines = True
            return
        created = (body.get("_embedded") or {}).get("pipelines") or []
        if len(created) != len(funnels):
            self.stale_pipelines = True
        with self.lock:
            self._record_pipelines(funnels, created)
            self.state.save(self.kv)

    def _record_pipelines(self, funnels: list[DesiredFunnel], created: list[dict[str, Any]]) -> None:
        for funnel, pipeline in zip(funnels, created, strict=False):
            self.state.funnels[funnel.key] = int(pipeline["id"])
            by_name = {
                str(s["name"]): int(s["id"]) for s in (pipeline.get("_embedded") or {}).get("statuses") or []
            }
            stages = self.state.stages.setdefault(funnel.key, {})
            for stage in funnel.stages:
                if stage.kind is StageKind.OPEN and stage.name in by_name:
                    stages[stage.key] = by_name[stage.name]
            for kind, sid in ((StageKind.WON, WON), (StageKind.LOST, LOST)):
                first = next((s for s in funnel.stages if s.kind is kind), None)
                if first is not None:
                    stages[first.key] = sid
        self.reader.take_pipelines(self.snap, created, added=True)

    def _pipeline_changes(self, plan: ProvisionPlan) -> None:
        new_in: dict[str, list[DesiredStage]] = defaultdict(list)
        for item in plan.items:
            if not item.is_write:
                continue
            if item.object in (PlanObject.FUNNEL, PlanObject.STAGE) and item.action is not PlanAction.CREATE:
                self.stale_pipelines = True  # a rename or a deletion: read the pipelines again
            try:
                if item.object is PlanObject.FUNNEL and item.action is PlanAction.UPDATE:
                    if not isinstance(item.desired, DesiredFunnel):
                        raise AssertionError("invariant broken: isinstance(item.desired, DesiredFunnel)")
                    self.client.transport.patch(
                        f"api/v4/leads/pipelines/{item.observed_id}", {"name": item.desired.name}
                    )
                elif (
                    item.object is PlanObject.STAGE
                    and item.parent_id
                    and isinstance(item.desired, DesiredStage)
                ):
                    if item.action is PlanAction.CREATE:
                        if item.desired.kind is not StageKind.OPEN:
                            raise CrmValidationError(
                                f"amoCRM has one {item.desired.kind.value} status (fixed)"
                            )
                        new_in[item.parent_id].append(item.desired)
                    elif item.action is PlanAction.UPDATE:
                        self._update_status(item)
                elif item.object is PlanObject.STAGE and item.action is PlanAction.DELETE:
                    self.client.transport.delete(
                        f"api/v4/leads/pipelines/{item.parent_id}/statuses/{item.observed_id}"
                    )
            except CrmBridgeError as exc:
                self.failures.append((item.path, exc))
        for pid, stages in new_in.items():
            self._add_statuses(pid, stages)

    def _update_status(self, item: PlanItem) -> None:
        if not isinstance(item.desired, DesiredStage):
            raise AssertionError("invariant broken: isinstance(item.desired, DesiredStage)")
        fixed = int(item.observed_id or 0) in (WON, LOST)
        if "kind" in item.changes:
            raise CrmValidationError(
                f"amoCRM cannot turn a status into a {item.desired.kind.value} one (won/lost are 142/143)"
            )
        self.client.transport.patch(
            f"api/v4/leads/pipelines/{item.parent_id}/statuses/{item.observed_id}",
            _status_body(item.desired, fixed=fixed),
        )

    def _add_statuses(self, pid: str, stages: list[DesiredStage]) -> None:
        funnel = self.state.funnel_key(int(pid))
        try:
            body = self.client.transport.post(
                f"api/v4/leads/pipelines/{pid}/statuses", [_status_body(s) for s in stages]
            )
        except CrmBridgeError as exc:
            self.failures += [(f"{funnel}/{s.key}", exc) for s in stages]
            self.stale_pipelines = True
            return
        created = (body.get("_embedded") or {}).get("statuses") or []
        with self.lock:
            if funnel is not None:
                for stage, status in zip(stages, created, strict=False):
                    self.state.stages.setdefault(funnel, {})[stage.key] = int(status["id"])
            pipeline = self.snap.pipelines.get(int(pid))
            if pipeline is not None and len(created) == len(stages):
                pipeline.setdefault("_embedded", {}).setdefault("statuses", []).extend(created)
            else:
                self.stale_pipelines = True
            self.state.save(self.kv)
