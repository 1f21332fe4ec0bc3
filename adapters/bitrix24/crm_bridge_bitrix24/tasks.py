"""TaskSink for Bitrix24: ``tasks.task.add`` bound to the CRM card (notifications: ``notify``).

Tasks (tasks/tasks-task-add.md): RESPONSIBLE_ID, DEADLINE and UF_CRM_TASK ["D_<deal id>"/"CO_<company
id>"] so the task shows on the card; XML_ID carries our external id. N tasks cost ceil(N/50) requests;
a repeated push is answered from the state store: each task's external id is recorded as pending before
the batch and with its id after it, so only tasks left pending by a crash are looked up
(``tasks.task.list`` by responsible, title and CRM binding; XML_ID is not filterable) before re-creating.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crm_bridge.domain.layout import FieldEntity
from crm_bridge.errors import CrmValidationError
from crm_bridge.ports import Entity, KeyValueState, TaskDraft, WriteOutcome
from crm_bridge.toolkit.exactly_once import ExactlyOnce, Sent
from crm_bridge_bitrix24.client import Bitrix24Client, Command
from crm_bridge_bitrix24.mapping import Bitrix24Mapping
from crm_bridge_bitrix24.rows import iso, parse_datetime

KV_PREFIX = "bitrix24.task:"

_ENTITY = {Entity.PARTNER: FieldEntity.PARTNER, Entity.LEAD: FieldEntity.LEAD, Entity.DEAL: FieldEntity.DEAL}


class TaskWrites:
    def __init__(self, client: Bitrix24Client, mapping: Bitrix24Mapping, kv: KeyValueState) -> None:
        self.client = client
        self.mapping = mapping
        self.kv = kv
        self.once: ExactlyOnce[TaskDraft, Command] = ExactlyOnce(kv, KV_PREFIX)

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
        binding = self._binding(draft)
        if binding:
            fields["UF_CRM_TASK"] = [binding]
        return Command("tasks.task.add", {"fields": fields})

    def _binding(self, draft: TaskDraft) -> str | None:
        if draft.bound_to is None:
            return None
        prefix = self.mapping.task_binding_prefix[_ENTITY[draft.bound_to.entity]]
        return f"{prefix}_{draft.bound_to.crm_id}"

    def _recover(self, drafts: Sequence[TaskDraft]) -> dict[str, str]:
        """Tasks a crashed push may have created: find them by responsible + title (+ binding)."""
        commands = []
        for draft in drafts:
            flt: dict[str, Any] = {"RESPONSIBLE_ID": draft.responsible_user_id, "TITLE": draft.title}
            binding = self._binding(draft)
            if binding:
                flt["UF_CRM_TASK"] = binding
            select = ["ID", "XML_ID", "TITLE", "DEADLINE"]
            commands.append(Command("tasks.task.list", {"filter": flt, "select": select}))
        found: dict[str, str] = {}
        for draft, outcome in zip(drafts, self.client.run(commands), strict=True):
            rows = outcome.result.get("tasks", []) if outcome.ok and isinstance(outcome.result, dict) else []
            for row in rows:
                if self._same_task(draft, row):
                    found[draft.external_id] = str(row.get("id") or row.get("ID"))
                    break
        return found

    @staticmethod
    def _same_task(draft: TaskDraft, row: dict[str, Any]) -> bool:
        """Our XML_ID when the portal returns it; else the same title, responsible and deadline."""
        xml_id = row.get("xmlId") or row.get("XML_ID")
        if xml_id:
            return str(xml_id) == draft.external_id
        deadline = parse_datetime(row.get("deadline") or row.get("DEADLINE"))
        return str(
            row.get("title") or row.get("TITLE") or ""
        ) == draft.title and deadline == draft.deadline.replace(microsecond=0)

    def create_tasks(self, drafts: Sequence[TaskDraft]) -> list[WriteOutcome]:
        return self.once.create(
            drafts,
            key=lambda d: d.external_id,
            prepare=self.task_command,
            recover=self._recover,
            send=self._send,
        )

    def _send(self, commands: Sequence[Command]) -> list[Sent]:
        out: list[Sent] = []
        for outcome in self.client.run(commands):
            if outcome.ok and isinstance(outcome.result, dict) and "task" in outcome.result:
                out.append(Sent(str(outcome.result["task"]["id"])))
            else:
                out.append(Sent(None, str(outcome.error or "no task in the answer")))
        return out
