"""Execute the write items of a provisioning plan on a Bitrix24 portal in three batch rounds:
(1) funnel, field and existing-funnel stage changes, (2) read the stages Bitrix24 made for new funnels,
(3) turn those into ours (see ``stages.reuse_plan``). The state store is saved after every round, so a
crash midway leaves a state the next plan finishes without duplicates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from crm_bridge.domain.layout import (
    DesiredField,
    DesiredFunnel,
    DesiredStage,
    FieldEntity,
    PlanAction,
    PlanItem,
    PlanObject,
    ProvisionPlan,
)
from crm_bridge.errors import CrmError
from crm_bridge.ports import KeyValueState
from crm_bridge_bitrix24.catalog import LAYOUT_KEY, LayoutState
from crm_bridge_bitrix24.client import BATCH_LIMIT, Bitrix24Client, Command, Outcome
from crm_bridge_bitrix24.layout.fields import new_field, option_list
from crm_bridge_bitrix24.layout.reader import LayoutReader, Snapshot, uf_id
from crm_bridge_bitrix24.layout.stages import StageOps, reuse_plan
from crm_bridge_bitrix24.mapping import Bitrix24Mapping


@dataclass(frozen=True, slots=True)
class _Step:
    command: Command
    path: str
    on_ok: Any = None  # callable(result) run when the command succeeds


class LayoutWriter:
    def __init__(
        self,
        client: Bitrix24Client,
        mapping: Bitrix24Mapping,
        state: LayoutState,
        reader: LayoutReader,
        kv: KeyValueState,
    ) -> None:
        self.client = client
        self.mapping = mapping
        self.state = state
        self.reader = reader
        self.kv = kv
        self.failures: list[tuple[str, CrmError]] = []

    # -- entry point --------------------------------------------------------------------------------
    def apply(self, plan: ProvisionPlan, snap: Snapshot) -> list[tuple[str, CrmError]]:
        """Run the plan's writes; return (path, error) for every item the portal refused."""
        self.failures = []
        writes = plan.writes
        new_funnels: dict[str, list[DesiredStage]] = {}
        steps: list[_Step] = []
        for item in writes:
            if item.object is PlanObject.FUNNEL and item.action is PlanAction.CREATE:
                funnel = item.desired
                if not isinstance(funnel, DesiredFunnel):
                    raise AssertionError("invariant broken: isinstance(funnel, DesiredFunnel)")
                new_funnels[funnel.key] = list(funnel.stages)
                steps.append(self._funnel_add(funnel, item.path))
            elif item.object is PlanObject.FUNNEL and item.action is PlanAction.UPDATE:
                steps.append(self._funnel_update(item))
        steps += self._field_steps(writes, snap)
        stage_items = [i for i in writes if i.object is PlanObject.STAGE]
        for item in stage_items:  # stages of a funnel created now wait for round 3
            funnel_key = item.path.split("/", 1)[0]
            if funnel_key in new_funnels and item.action is PlanAction.CREATE:
                stage = item.desired
                if not isinstance(stage, DesiredStage):
                    raise AssertionError("invariant broken: isinstance(stage, DesiredStage)")
                if all(s.key != stage.key for s in new_funnels[funnel_key]):
                    new_funnels[funnel_key].append(stage)
        steps += self._existing_funnel_stage_steps(
            [i for i in stage_items if i.path.split("/")[0] not in new_funnels], snap
        )
        self._run(steps)
        self.state.save(self.kv, LAYOUT_KEY)
        created = {k: self.state.funnels[k] for k in new_funnels if k in self.state.funnels}
        if created:
            statuses = self.reader.read_statuses(sorted(created.values()))
            round3: list[_Step] = []
            for key, cid in created.items():
                ops = reuse_plan(
                    cid,
                    statuses.get(cid, []),
                    self.state.stages.get(key, {}),
                    new_funnels[key],
                    created_by_us=True,
                    max_code_length=self.mapping.stage_code_max_length,
                )
                round3 += self._stage_op_steps(key, ops)
            self._run(round3)
            self.state.save(self.kv, LAYOUT_KEY)
        return self.failures

    # -- running ------------------------------------------------------------------------------------
    def _run(self, steps: Sequence[_Step]) -> None:
        """Batches of 50 in order (never in parallel: stage order inside a funnel matters)."""
        for start in range(0, len(steps), BATCH_LIMIT):
            chunk = steps[start : start + BATCH_LIMIT]
            answer = self.client.batch([s.command for s in chunk])
            for step, outcome in zip(chunk, answer.outcomes, strict=True):
                self._settle(step, outcome)

    def _settle(self, step: _Step, outcome: Outcome) -> None:
        if outcome.error is not None:
            self.failures.append((step.path, outcome.error))
        elif step.on_ok is not None:
            step.on_ok(outcome.result)

    # -- funnels ------------------------------------------------------------------------------------
    def _funnel_add(self, funnel: DesiredFunnel, path: str) -> _Step:
        def saved(result: Any) -> None:
            cid = int(result["category"]["id"]) if isinstance(result, dict) else int(result)
            self.state.funnels[funnel.key] = cid
            self.state.created.add(cid)

        fields: dict[str, Any] = {"name": funnel.name}
        if funnel.sort:
            fields["sort"] = funnel.sort
        params = {"entityTypeId": self.mapping.deal_entity_type_id, "fields": fields}
        return _Step(Command("crm.category.add", params), path, saved)

    def _funnel_update(self, item: PlanItem) -> _Step:
        fields: dict[str, Any] = {}
        if isinstance(item.desired, DesiredFunnel):
            fields = {"name": item.desired.name, "sort": item.desired.sort}
        for attr, (_old, new) in item.changes.items():
            if attr in ("name", "sort"):
                fields[attr] = new
        params = {
            "entityTypeId": self.mapping.deal_entity_type_id,
            "id": int(item.observed_id or 0),
            "fields": fields,
        }
        return _Step(Command("crm.category.update", params), item.path)

    # -- stages -------------------------------------------------------------------------------------
    def _existing_funnel_stage_steps(self, items: Sequence[PlanItem], snap: Snapshot) -> list[_Step]:
        steps: list[_Step] = []
        creates: dict[str, list[DesiredStage]] = {}
        for item in items:
            funnel_key = item.path.split("/", 1)[0]
            if item.action is PlanAction.CREATE and isinstance(item.desired, DesiredStage):
                creates.setdefault(funnel_key, []).append(item.desired)
            elif item.action is PlanAction.UPDATE and item.observed_id:
                fields = _stage_fields(item)
                steps.append(
                    _Step(
                        Command("crm.status.update", {"id": int(item.observed_id), "fields": fields}),
                        item.path,
                    )
                )
            elif item.action is PlanAction.DELETE and item.observed_id:
                steps.append(_Step(Command("crm.status.delete", {"id": int(item.observed_id)}), item.path))
        for funnel_key, wanted in creates.items():
            cid = self.state.funnels.get(funnel_key)
            if cid is None:
                self.failures.append((funnel_key, CrmError("funnel not found on the portal", crm="bitrix24")))
                continue
            ops = reuse_plan(
                cid,
                snap.statuses.get(cid, []),
                self.state.stages.get(funnel_key, {}),
                wanted,
                created_by_us=cid in self.state.created,
                max_code_length=self.mapping.stage_code_max_length,
            )
            steps = self._stage_op_steps(funnel_key, ops) + steps
        return steps

    def _stage_op_steps(self, funnel_key: str, ops: StageOps) -> list[_Step]:
        by_code = {code: key for key, code in ops.codes.items()}

        def remember(code: str) -> Any:
            def done(_result: Any) -> None:
                self.state.stages.setdefault(funnel_key, {})[by_code[code]] = code

            return done

        steps = [
            _Step(
                Command("crm.status.update", {"id": sid, "fields": fields}),
                f"{funnel_key}/{by_code[code]}",
                remember(code),
            )
            for sid, fields, code in ops.updates
        ]
        steps += [
            _Step(
                Command("crm.status.add", {"fields": fields}), f"{funnel_key}/{by_code[code]}", remember(code)
            )
            for fields, code in ops.adds
        ]
        steps += [
            _Step(
                Command("crm.status.delete", {"id": sid, "params": {"FORCED": "Y"}}), f"{funnel_key}/#{sid}"
            )
            for sid in ops.deletes
        ]
        return steps

    # -- user fields --------------------------------------------------------------------------------
    def _field_steps(self, writes: Sequence[PlanItem], snap: Snapshot) -> list[_Step]:
        steps: list[_Step] = []
        made: set[tuple[str, str]] = set()
        options: dict[str, list[PlanItem]] = {}
        for item in writes:
            if item.object is PlanObject.FIELD and item.action is PlanAction.CREATE:
                desired = item.desired
                if not isinstance(desired, DesiredField):
                    raise AssertionError("invariant broken: isinstance(desired, DesiredField)")
                family = self.mapping.userfield_entity(desired.entity)
                code = self.mapping.code(desired.entity, desired.key)
                if (family, code) in made:
                    continue  # a lead field and a deal field share one deal user field
                made.add((family, code))
                steps.append(
                    _Step(
                        Command(
                            f"crm.{family}.userfield.add", {"fields": new_field(self.mapping, desired, code)}
                        ),
                        item.path,
                    )
                )
            elif item.object is PlanObject.FIELD and item.action is PlanAction.UPDATE and item.observed_id:
                family = self._family_of(item.path)
                label = (
                    item.desired.label
                    if isinstance(item.desired, DesiredField)
                    else str(item.changes.get("label", ("", ""))[1])
                )
                fields = {"EDIT_FORM_LABEL": label, "LIST_COLUMN_LABEL": label, "LIST_FILTER_LABEL": label}
                steps.append(
                    _Step(
                        Command(
                            f"crm.{family}.userfield.update",
                            {"id": uf_id(item.observed_id), "fields": fields},
                        ),
                        item.path,
                    )
                )
            elif item.object is PlanObject.OPTION and item.parent_id:
                options.setdefault(str(uf_id(item.parent_id)), []).append(item)
        for field_id, items in options.items():
            family = self._family_of(items[0].path)
            uf = next((u for u in snap.userfields.get(family, []) if str(u.id) == field_id), None)
            params = {"id": int(field_id), "fields": {"LIST": option_list(uf, items)}}
            command = Command(f"crm.{family}.userfield.update", params)
            steps.append(_Step(command, items[0].path.split("/")[0]))
        return steps

    def _family_of(self, path: str) -> str:
        return self.mapping.userfield_entity(FieldEntity(path.split(".", 1)[0]))


def _stage_fields(item: PlanItem) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if isinstance(item.desired, DesiredStage):
        fields = {"NAME": item.desired.name, "SORT": item.desired.sort}
        if item.desired.color:
            fields["COLOR"] = item.desired.color
    names = {"name": "NAME", "sort": "SORT", "color": "COLOR"}
    for attr, (_old, new) in item.changes.items():
        if attr in names:
            fields[names[attr]] = new
    return fields
