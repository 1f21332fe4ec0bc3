"""TaskSink for amoCRM: ``POST /api/v4/tasks`` in arrays of 250, bound to the lead (or company), with
``complete_till`` = the deadline (Unix time: the same instant in the manager's time zone), the
responsible user and the follow-up task type.

Exactly once: a task has no field for our external id, so each one is recorded in the state store as
pending before the array is sent and with its id after; only tasks left pending by a crash are looked
up again (``GET /api/v4/tasks`` by responsible user and record, matched on text and deadline) before
re-creating. N tasks cost ceil(N/250) requests.

Notifications: amoCRM offers integrations no call to ring a user's bell; a task assigned to the user
is what amoCRM itself announces to them (bell and push), so a notification is a task due in an hour,
with the same exactly-once bookkeeping.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from crm_bridge.ports import Entity, KeyValueState, NotificationDraft, TaskDraft, WriteOutcome
from crm_bridge_amocrm.client import AmoClient
from crm_bridge_amocrm.mapping import AmoMapping
from crm_bridge_amocrm.rows import to_unix

KV_PREFIX = "amocrm.task:"
NOTICE_DUE = 3600
_ENTITY = {Entity.LEAD: "leads", Entity.DEAL: "leads", Entity.PARTNER: "companies"}


class TaskWrites:
    def __init__(
        self, client: AmoClient, mapping: AmoMapping, kv: KeyValueState, clock: Callable[[], float]
    ) -> None:
        self.client = client
        self.mapping = mapping
        self.kv = kv
        self.clock = clock

    def _body(self, draft: TaskDraft) -> dict[str, Any]:
        if draft.deadline.tzinfo is None:
            raise ValueError("the task deadline must be timezone-aware")
        text = draft.title if not draft.description else f"{draft.title}\n{draft.description}"
        body: dict[str, Any] = {
            "text": text,
            "complete_till": to_unix(draft.deadline),
            "task_type_id": self.mapping.task_type_id,
        }
        if draft.responsible_user_id:
            body["responsible_user_id"] = (
                int(draft.responsible_user_id)
                if draft.responsible_user_id.isdigit()
                else draft.responsible_user_id
            )
        if draft.bound_to is not None:
            body["entity_type"] = _ENTITY[draft.bound_to.entity]
            body["entity_id"] = (
                int(draft.bound_to.crm_id) if draft.bound_to.crm_id.isdigit() else draft.bound_to.crm_id
            )
        return body

    def create_tasks(self, drafts: Sequence[TaskDraft]) -> list[WriteOutcome]:
        results: dict[str, WriteOutcome] = {}
        pending: list[tuple[TaskDraft, dict[str, Any]]] = []
        to_send: list[tuple[TaskDraft, dict[str, Any]]] = []
        for draft in drafts:
            ext = draft.external_id
            if ext in results or any(d.external_id == ext for d, _ in to_send + pending):
                continue
            state = self.kv.get(KV_PREFIX + ext)
            if isinstance(state, dict) and state.get("id"):
                results[ext] = WriteOutcome(ext, str(state["id"]), created=False)
                continue
            try:
                body = self._body(draft)
            except ValueError as exc:
                results[ext] = WriteOutcome(ext, None, error=str(exc))
                continue
            (pending if isinstance(state, dict) and state.get("pending") else to_send).append((draft, body))
        for (draft, body), found in zip(pending, self._recover([b for _, b in pending]), strict=True):
            if found is not None:
                self.kv.set(KV_PREFIX + draft.external_id, {"id": found})
                results[draft.external_id] = WriteOutcome(draft.external_id, found, created=False)
            else:
                to_send.append((draft, body))
        for draft, _ in to_send:
            self.kv.set(KV_PREFIX + draft.external_id, {"pending": True})
        answers = self.client.write("POST", "api/v4/tasks", "tasks", [b for _, b in to_send])
        for (draft, _), answer in zip(to_send, answers, strict=True):
            ext = draft.external_id
            if answer.crm_id:
                self.kv.set(KV_PREFIX + ext, {"id": answer.crm_id})
                results[ext] = WriteOutcome(ext, answer.crm_id, created=True)
            else:
                self.kv.set(KV_PREFIX + ext, None)  # refused: nothing was created
                results[ext] = WriteOutcome(ext, None, error=f"amoCRM refused the task: {answer.error}")
        return [results[d.external_id] for d in drafts]

    def _recover(self, bodies: list[dict[str, Any]]) -> list[str | None]:
        """Tasks a crashed push may have created: same responsible, record, text and deadline."""
        out: list[str | None] = []
        for body in bodies:
            params: dict[str, Any] = {"filter[is_completed]": 0}
            if "responsible_user_id" in body:
                params["filter[responsible_user_id][]"] = [body["responsible_user_id"]]
            if "entity_type" in body:
                params["filter[entity_type]"] = body["entity_type"]
                params["filter[entity_id][]"] = [body["entity_id"]]
            rows = self.client.fetch_all("api/v4/tasks", "tasks", params)
            match = next(
                (
                    str(r["id"])
                    for r in rows
                    if r.get("text") == body["text"]
                    and int(r.get("complete_till") or 0) == body["complete_till"]
                ),
                None,
            )
            out.append(match)
        return out

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
