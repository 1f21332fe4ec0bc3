"""TaskSink for Bitrix24: ``tasks.task.add`` bound to the CRM card, ``im.notify.system.add`` notices.

Tasks (tasks/tasks-task-add.md): RESPONSIBLE_ID, DEADLINE and UF_CRM_TASK ["D_<deal id>"/"CO_<company
id>"] so the task shows on the card; XML_ID carries our external id. N tasks cost ceil(N/50) requests;
a task push is made exactly-once by the caller's bindings (the state store), as a lookup per push would
double that cost.

Notifications (chats/notifications/im-notify-system-add.md): TAG = our external id — a notification
sent again with the same tag replaces the earlier one, so a retried notice never shows twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crm_bridge.adapters.bitrix24.client import Bitrix24Client, Command
from crm_bridge.adapters.bitrix24.mapping import Bitrix24Mapping
from crm_bridge.adapters.bitrix24.rows import iso
from crm_bridge.domain.layout import FieldEntity
from crm_bridge.errors import CrmValidationError
from crm_bridge.ports import Entity, NotificationDraft, TaskDraft, WriteOutcome

_ENTITY = {Entity.PARTNER: FieldEntity.PARTNER, Entity.LEAD: FieldEntity.LEAD, Entity.DEAL: FieldEntity.DEAL}


class TaskWrites:
    def __init__(self, client: Bitrix24Client, mapping: Bitrix24Mapping) -> None:
        self.client = client
        self.mapping = mapping

    def task_command(self, draft: TaskDraft) -> Command:
        if draft.deadline.tzinfo is None:
            raise CrmValidationError(
                "the task deadline must be timezone-aware", crm="bitrix24", entity="task"
            )
        fields: dict[str, Any] = {
            "TITLE": draft.title,
            "DESCRIPTION": draft.description,
            "RESPONSIBLE_ID": draft.responsible_user_id,
            "DEADLINE": iso(draft.deadline),
            "XML_ID": draft.external_id,
        }
        if draft.bound_to is not None:
            prefix = self.mapping.task_binding_prefix[_ENTITY[draft.bound_to.entity]]
            fields["UF_CRM_TASK"] = [f"{prefix}_{draft.bound_to.crm_id}"]
        return Command("tasks.task.add", {"fields": fields})

    def create_tasks(self, drafts: Sequence[TaskDraft]) -> list[WriteOutcome]:
        commands: list[Command | None] = []
        failed: dict[int, str] = {}
        for index, draft in enumerate(drafts):
            try:
                commands.append(self.task_command(draft))
            except CrmValidationError as exc:
                commands.append(None)
                failed[index] = str(exc)
        answers = iter(self.client.run(c for c in commands if c is not None))
        out: list[WriteOutcome] = []
        for index, (draft, command) in enumerate(zip(drafts, commands, strict=True)):
            if command is None:
                out.append(WriteOutcome(draft.external_id, None, error=failed[index]))
                continue
            outcome = next(answers)
            if outcome.ok and isinstance(outcome.result, dict) and "task" in outcome.result:
                out.append(WriteOutcome(draft.external_id, str(outcome.result["task"]["id"]), created=True))
            else:
                out.append(
                    WriteOutcome(draft.external_id, None, error=str(outcome.error or "no task in answer"))
                )
        return out

    def send_notifications(self, drafts: Sequence[NotificationDraft]) -> list[WriteOutcome]:
        marker = self.mapping.source.auth_connector
        commands = [
            Command(
                "im.notify.system.add",
                {
                    "USER_ID": int(d.user_id) if d.user_id.isdigit() else d.user_id,
                    "MESSAGE": d.message,
                    "TAG": f"{marker}|{d.external_id}",
                    "CLIENT_ID": marker,  # required with TAG when calling through a webhook
                },
            )
            for d in drafts
        ]
        out: list[WriteOutcome] = []
        for draft, outcome in zip(drafts, self.client.run(commands), strict=True):
            if outcome.ok:
                out.append(WriteOutcome(draft.external_id, str(outcome.result), created=True))
            else:
                out.append(WriteOutcome(draft.external_id, None, error=str(outcome.error)))
        return out
