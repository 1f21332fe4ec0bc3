"""Custom fields of a provisioning plan on amoCRM: new fields with their enums in one ``POST
/api/v4/{entity}/custom_fields`` array per entity (a leads field shared by partner leads and deals made
once), renamed fields and new or renamed options in one PATCH array per entity (an enum list is sent
whole: kept ones by id). Part of ``writer.LayoutWriter``."""

from __future__ import annotations

import functools
import threading
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from crm_bridge.domain.layout import (
    DesiredField,
    FieldEntity,
    FieldType,
    PlanAction,
    PlanObject,
    ProvisionPlan,
)
from crm_bridge.errors import CrmBridgeError, CrmValidationError
from crm_bridge.ports import KeyValueState
from crm_bridge_amocrm.client import AmoClient
from crm_bridge_amocrm.layout.reader import Snapshot
from crm_bridge_amocrm.layout.state import LayoutState
from crm_bridge_amocrm.mapping import AmoMapping

Failures = list[tuple[str, CrmBridgeError]]


def fid(observed_id: str | None) -> int:
    """The field id in an observed id (``"900004"`` or ``"900004@deal"``)."""
    return int(str(observed_id or "0").split("@", 1)[0])


class FieldWriter:
    client: AmoClient
    mapping: AmoMapping
    state: LayoutState
    kv: KeyValueState
    snap: Snapshot
    failures: Failures

    lock: threading.Lock
    stale_fields: set[str]

    def _field_jobs(self, plan: ProvisionPlan) -> list[Callable[[], None]]:
        """One job per amoCRM entity whose fields change: its creates, then its renames and options."""
        entity: str
        creates: dict[str, list[DesiredField]] = defaultdict(list)
        patches: dict[str, dict[int, dict[str, Any]]] = defaultdict(dict)
        for item in plan.items:
            if not item.is_write:
                continue
            if item.object is PlanObject.FIELD and isinstance(item.desired, DesiredField):
                entity = self.mapping.amo_entity(item.desired.entity)
                if item.action is PlanAction.CREATE:
                    creates[entity].append(item.desired)
                elif "type" in item.changes:
                    self.failures.append(
                        (
                            item.path,
                            CrmValidationError("amoCRM cannot change a field's type: rename or delete it"),
                        )
                    )
                else:
                    patches[entity].setdefault(fid(item.observed_id), {})["name"] = item.desired.label
            elif item.object is PlanObject.OPTION and item.parent_id is not None:
                path = item.path.partition("/")[0]
                entity = self.mapping.amo_entity(FieldEntity(path.partition(".")[0]))
                patches[entity].setdefault(fid(item.parent_id), {})

        def job(entity: str) -> None:
            if entity in creates:
                self._create_fields(entity, creates[entity])
            if entity in patches:
                self.stale_fields.add(entity)  # renamed fields and options: read them again
                self._patch_fields(entity, patches[entity], plan)
            with self.lock:
                self.state.save(self.kv)

        return [functools.partial(job, e) for e in sorted({*creates, *patches})]

    def _create_fields(self, entity: str, fields: list[DesiredField]) -> None:
        payload: list[dict[str, Any]] = []
        owners: list[list[DesiredField]] = []
        for f in fields:
            code = self.mapping.code(f.entity, f.key)
            known = next((i for i, p in enumerate(payload) if p["code"] == code), None)
            if known is not None:  # a leads field shared by partner leads and deals
                owners[known].append(f)
                continue
            body: dict[str, Any] = {"name": f.label, "type": self.mapping.amo_type(f.type), "code": code}
            if entity == "leads" and f.key in self.mapping.api_only:
                body["is_api_only"] = True
            if f.type is FieldType.ENUM:
                body["enums"] = [{"value": o.label, "sort": (n + 1) * 10} for n, o in enumerate(f.options)]
            payload.append(body)
            owners.append([f])
        try:
            body = self.client.transport.post(f"api/v4/{entity}/custom_fields", payload)
        except CrmBridgeError as exc:
            self.failures += [(f"{f.entity.value}.{f.key}", exc) for f in fields]
            self.stale_fields.add(entity)
            return
        created = list((body.get("_embedded") or {}).get("custom_fields") or [])
        with self.lock:
            if len(created) == len(payload):
                self.snap.fields.setdefault(entity, []).extend(created)
            else:
                self.stale_fields.add(entity)
            self._record_fields(owners, created)

    def _record_fields(self, owners: list[list[DesiredField]], created: list[dict[str, Any]]) -> None:
        for group, raw in zip(owners, created, strict=False):
            for f in group:
                path = f"{f.entity.value}.{f.key}"
                self.state.fields[path] = int(raw["id"])
                self.state.types[path] = f.type.value
                enums = {str(e["value"]): int(e["id"]) for e in raw.get("enums") or []}
                self.state.options[path] = {o.key: enums[o.label] for o in f.options if o.label in enums}

    def _patch_fields(self, entity: str, by_field: dict[int, dict[str, Any]], plan: ProvisionPlan) -> None:
        payload = []
        for field, change in by_field.items():
            body = {"id": field, **change}
            enums = self._enums(field, plan)
            if enums is not None:
                body["enums"] = enums
            payload.append(body)
        try:
            answer = self.client.transport.patch(f"api/v4/{entity}/custom_fields", payload)
        except CrmBridgeError as exc:
            self.failures += [(f"field #{field}", exc) for field in by_field]
            return
        with self.lock:
            self._record_patched(answer, plan)

    def _record_patched(self, answer: dict[str, Any], plan: ProvisionPlan) -> None:
        for raw in (answer.get("_embedded") or {}).get("custom_fields") or []:
            by_label = {str(e["value"]): int(e["id"]) for e in raw.get("enums") or []}
            for path, known in self.state.fields.items():
                if known != int(raw["id"]):
                    continue
                options = [
                    i.desired
                    for i in plan.items
                    if i.object is PlanObject.OPTION and i.path.startswith(path + "/")
                ]
                for option in options:
                    label = getattr(option, "label", None)
                    if label in by_label:
                        self.state.options.setdefault(path, {})[getattr(option, "key", "")] = by_label[label]

    def _enums(self, field: int, plan: ProvisionPlan) -> list[dict[str, Any]] | None:
        """The field's whole enum list (PATCH replaces it): kept ones by id, renamed, and new ones."""
        raw = next((f for fields in self.snap.fields.values() for f in fields if int(f["id"]) == field), None)
        if raw is None or not raw.get("enums"):
            return None
        items = [i for i in plan.items if i.object is PlanObject.OPTION and fid(i.parent_id) == field]
        if not any(i.is_write for i in items):
            return None
        renamed = {
            int(i.observed_id or 0): getattr(i.desired, "label", "")
            for i in items
            if i.action is PlanAction.UPDATE
        }
        enums: list[dict[str, Any]] = [
            {"id": int(e["id"]), "value": renamed.get(int(e["id"])) or e["value"], "sort": e.get("sort", 0)}
            for e in raw["enums"]
        ]
        top = max((int(e.get("sort") or 0) for e in raw["enums"]), default=0)
        for n, item in enumerate(i for i in items if i.action is PlanAction.CREATE):
            enums.append({"value": getattr(item.desired, "label", ""), "sort": top + (n + 1) * 10})
        return enums
