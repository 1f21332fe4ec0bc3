"""TaskSink for HubSpot: CRM tasks (``hs_task_subject``, ``hs_task_body``, due ``hs_timestamp`` = the
SLA deadline, ``hubspot_owner_id``) associated to the deal or company, 100 per ``batch/create``.

Exactly once (``crm_bridge.toolkit.exactly_once``): tasks have no unique property, so each task's
external id is recorded in the state store as pending before its batch and with the task id after it;
a repeated push is answered from the store, and only tasks left pending by a crash are looked up (one
search by owner, subject and due time each) before re-creating. N new tasks cost ceil(N/100) requests.

Notifications to CRM users: HubSpot has no notification API for integrations, so a notification is a
task for that owner, due now, with the message as its body (Telegram / e-mail go as before).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from crm_bridge.errors import CrmValidationError
from crm_bridge.ports import Entity, KeyValueState, NotificationDraft, TaskDraft, WriteOutcome
from crm_bridge.toolkit.exactly_once import ExactlyOnce, Sent
from crm_bridge_hubspot.batch import BatchWriter
from crm_bridge_hubspot.mapping import HubSpotMapping
from crm_bridge_hubspot.rows import millis
from crm_bridge_hubspot.transport import HubSpotTransport

KV_PREFIX = "hubspot.task:"
TASKS = "/crm/v3/objects/tasks"


class TaskWrites:
    def __init__(
        self, transport: HubSpotTransport, mapping: HubSpotMapping, kv: KeyValueState, clock: Any
    ) -> None:
        self.transport = transport
        self.batch = BatchWriter(transport)
        self.mapping = mapping
        self.once: ExactlyOnce[TaskDraft, tuple[str, dict[str, Any]]] = ExactlyOnce(kv, KV_PREFIX)
        self.clock = clock

    def _input(self, draft: TaskDraft) -> dict[str, Any]:
        props = {
            "hs_task_subject": draft.title,
            "hs_task_body": draft.description,
            "hs_timestamp": millis(draft.deadline),
            "hubspot_owner_id": draft.responsible_user_id,
            "hs_task_status": "NOT_STARTED",
            "hs_task_type": "TODO",
        }
        links = []
        if draft.bound_to is not None:
            to_company = draft.bound_to.entity is Entity.PARTNER
            assoc = self.mapping.associations
            type_id = assoc.task_to_company if to_company else assoc.task_to_deal
            links.append(
                {
                    "to": {"id": draft.bound_to.crm_id},
                    "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}],
                }
            )
        return {"properties": props, "associations": links, "objectWriteTraceId": draft.external_id}

    def _recover(self, draft: TaskDraft) -> str | None:
        filters = [
            {"propertyName": "hubspot_owner_id", "operator": "EQ", "value": draft.responsible_user_id},
            {"propertyName": "hs_timestamp", "operator": "EQ", "value": millis(draft.deadline)},
            {"propertyName": "hs_task_subject", "operator": "EQ", "value": draft.title},
        ]
        body = {
            "filterGroups": [{"filters": filters}],
            "sorts": ["hs_createdate"],
            "properties": ["hs_task_subject"],
            "limit": 1,
            "after": "0",
        }
        found = self.transport.call("POST", f"{TASKS}/search", json=body).get("results") or []
        return str(found[0]["id"]) if found else None

    def create_tasks(self, drafts: Sequence[TaskDraft]) -> list[WriteOutcome]:
        return self.once.create(
            drafts,
            key=lambda d: d.external_id,
            prepare=self._prepare,
            recover=lambda pending: {
                d.external_id: found for d in pending if (found := self._recover(d)) is not None
            },
            send=self._send,
        )

    def _prepare(self, draft: TaskDraft) -> tuple[str, dict[str, Any]]:
        if draft.deadline.tzinfo is None:
            raise CrmValidationError("the task deadline must be timezone-aware", crm="hubspot", entity="task")
        return draft.external_id, self._input(draft)

    def _send(self, items: Sequence[tuple[str, dict[str, Any]]]) -> list[Sent]:
        answers = self.batch.run(f"{TASKS}/batch/create", items, by="trace")
        out = []
        for key, _ in items:
            answer = answers[key]
            out.append(Sent(answer.crm_id) if answer.crm_id is not None else Sent(None, answer.error))
        return out

    def send_notifications(self, drafts: Sequence[NotificationDraft]) -> list[WriteOutcome]:
        now = datetime.fromtimestamp(self.clock(), UTC).replace(microsecond=0)
        tasks = [
            TaskDraft(
                external_id=f"notify:{d.external_id}",
                title=(d.message.strip().splitlines() or ["crm-bridge"])[0][:200],
                description=d.message,
                responsible_user_id=d.user_id,
                deadline=now,
            )
            for d in drafts
        ]
        done = self.create_tasks(tasks)
        return [
            WriteOutcome(d.external_id, o.crm_id, created=o.created, error=o.error)
            for d, o in zip(drafts, done, strict=True)
        ]
