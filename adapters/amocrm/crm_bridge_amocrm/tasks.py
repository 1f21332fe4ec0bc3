"""TaskSink for amoCRM: ``POST /api/v4/tasks`` in arrays of 250, bound to the lead (or company), with
``complete_till`` = the deadline (Unix time: the same instant in the manager's time zone), the
responsible user and the follow-up task type.

Exactly once (``crm_bridge.toolkit.exactly_once``): a task has no field for our external id, so each
one is recorded in the state store as pending before the array is sent and with its id after; only
tasks left pending by a crash are looked up again (``GET /api/v4/tasks`` by responsible user and
record, matched on text and deadline) before re-creating. N tasks cost ceil(N/250) requests.

Notifications: amoCRM offers integrations no call to ring a user's bell; a task assigned to the user
is what amoCRM itself announces to them (bell and push), so a notification is a task due in an hour,
with the same exactly-once bookkeeping.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from crm_bridge.errors import CrmValidationError
from crm_bridge.ports import Entity, KeyValueState, NotificationDraft, TaskDraft, WriteOutcome
from crm_bridge.toolkit.exactly_once import ExactlyOnce, Sent
from crm_bridge_amocrm.client import AmoClient
from crm_bridge_amocrm.mapping import AmoMapping
from crm_bridge_amocrm.rows import to_unix

KV_PREFIX = "amocrm.task:"
NOTICE_DUE = 3600
_ENTITY = {Entity.LEAD: "leads", Entity.DEAL: "leads", Entity.PARTNER: "companies"}


def _id(value: str) -> int | str:
    return int(value) if value.isdigit() else value


class TaskWrites:
    def __init__(
        self, client: AmoClient, mapping: AmoMapping, kv: KeyValueState, clock: Callable[[], float]
    ) -> None:
        self.client = client
        self.mapping = mapping
        self.kv = kv
        self.clock = clock
        self.writes: ExactlyOnce[TaskDraft, dict[str, Any]] = ExactlyOnce(kv, KV_PREFIX)

    def _body(self, draft: TaskDraft) -> dict[str, Any]:
        if draft.deadline.tzinfo is None:
            raise CrmValidationError("the task deadline must be timezone-aware", crm="amocrm", entity="task")
        text = draft.title if not draft.description else f"{draft.title}\n{draft.description}"
        body: dict[str, Any] = {
            "text": text,
            "complete_till": to_unix(draft.deadline),
            "task_type_id": self.mapping.task_type_id,
        }
        if draft.responsible_user_id:
            body["responsible_user_id"] = _id(draft.responsible_user_id)
        if draft.bound_to is not None:
            body["entity_type"] = _ENTITY[draft.bound_to.entity]
            body["entity_id"] = _id(draft.bound_to.crm_id)
        return body

    def create_tasks(self, drafts: Sequence[TaskDraft]) -> list[WriteOutcome]:
        return self.writes.create(
            drafts,
            key=lambda d: d.external_id,
            prepare=self._body,
            recover=self._recover,
            send=self._send,
        )

    def _send(self, bodies: Sequence[dict[str, Any]]) -> list[Sent]:
        answers = self.client.write("POST", "api/v4/tasks", "tasks", bodies)
        return [Sent(a.crm_id, None if a.crm_id else f"amoCRM refused the task: {a.error}") for a in answers]

    def _recover(self, drafts: Sequence[TaskDraft]) -> dict[str, str]:
        """Tasks a crashed push may have created: same responsible, record, text and deadline."""
        found: dict[str, str] = {}
        for draft in drafts:
            body = self._body(draft)
            params: dict[str, Any] = {"filter[is_completed]": 0}
            if "responsible_user_id" in body:
                params["filter[responsible_user_id][]"] = [body["responsible_user_id"]]
            if "entity_type" in body:
                params["filter[entity_type]"] = body["entity_type"]
                params["filter[entity_id][]"] = [body["entity_id"]]
            for row in self.client.fetch_all("api/v4/tasks", "tasks", params):
                if (
                    row.get("text") == body["text"]
                    and int(row.get("complete_till") or 0) == body["complete_till"]
                ):
                    found[draft.external_id] = str(row["id"])
                    break
        return found

    def send_notifications(self, drafts: Sequence[NotificationDraft]) -> list[WriteOutcome]:
        from datetime import UTC, datetime

        due = datetime.fromtimestamp(int(self.clock()) + NOTICE_DUE, UTC)
        tasks = [
            TaskDraft(
                external_id=f"notice:{d.external_id}",
                title=d.message.split("\n", 1)[0][:255],
                description=d.message.split("\n", 1)[1] if "\n" in d.message else "",
                responsible_user_id=d.user_id,
                deadline=due,
            )
            for d in drafts
        ]
        return [
            WriteOutcome(d.external_id, o.crm_id, created=o.created, error=o.error)
            for d, o in zip(drafts, self.create_tasks(tasks), strict=True)
        ]
