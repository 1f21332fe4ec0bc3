"""SLA escalation of partner leads: a lead still untouched when its SLA (plus the configured extra
working time) has run out gets, once, a task for the partner's curator — or the head of partner
sales — and a notification. "Touched" means a first touch was recorded, the stage moved, the lead was
closed or handed to someone else; the local replica (kept fresh by sync) is what is looked at."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from crm_bridge.domain.model import Curator, Lead, StageKind
from crm_bridge.ports import Entity, RecordRef, TaskDraft, TaskSink, capabilities_of
from crm_bridge.services.distribute.service import Notify
from crm_bridge.services.distribute.settings import DistributionSettings, Team
from crm_bridge.services.sla import add_working_time, is_overdue, zone
from crm_bridge.store import Store
from crm_bridge.store.assignments import AssignmentRecord, AssignmentRepository
from crm_bridge.texts import words

log = logging.getLogger("crm_bridge.escalate")


@dataclass
class EscalationResult:
    escalated: list[tuple[AssignmentRecord, Curator]] = field(default_factory=list)
    touched: int = 0
    no_one_to_tell: list[str] = field(default_factory=list)  # lead ids without a curator or head


def touched(lead: Lead, rec: AssignmentRecord) -> bool:
    return (
        lead.first_touch_at is not None
        or lead.stage != rec.stage
        or lead.stage_kind is not StageKind.OPEN
        or (lead.manager_user_id is not None and lead.manager_user_id != rec.manager_user_id)
    )


class Escalator:
    def __init__(
        self,
        adapter: TaskSink,
        store: Store,
        portal: str,
        team: Team,
        settings: DistributionSettings = DistributionSettings(),
        *,
        notifier: Notify | None = None,
    ) -> None:
        self._crm = adapter
        self._store = store
        self._portal = portal
        self._team = team
        self._s = settings
        self._notifier = notifier
        self._repo = AssignmentRepository(store.engine)

    def escalate(self, now: datetime) -> EscalationResult:
        """Escalate every overdue untouched lead once. Raises the CRM's retriable errors (the next run
        retries: the task's external id keeps it single)."""
        result = EscalationResult()
        if not self._s.escalation:
            return result
        due_items: list[tuple[AssignmentRecord, Lead, Curator, str]] = []
        for rec in self._repo.escalation_due(self._portal, now):
            lead = self._store.records.lead(self._portal, rec.lead_crm_id)
            if lead is None:
                continue
            if touched(lead, rec):
                self._repo.mark(self._portal, rec.lead_crm_id, touched_at=now)
                result.touched += 1
                continue
            if rec.deadline is None:
                raise AssertionError("invariant broken: rec.deadline is not None")
            manager = next((m for m in self._team.managers if m.key == rec.manager_key), None)
            tz = zone(manager.timezone if manager else self._team.timezone)
            calendar = self._team.calendar(rec.manager_key)
            if not is_overdue(rec.deadline, now, self._s.escalate_after, calendar, tz):
                continue
            target = self._target(rec)
            if target is None:
                result.no_one_to_tell.append(rec.lead_crm_id)
                continue
            due_items.append((rec, lead, target, manager.name if manager else rec.manager_key or "?"))
        size = capabilities_of(self._crm).write_batch
        for start in range(0, len(due_items), size):
            batch = due_items[start : start + size]
            drafts = [self._task(rec, lead, target, who, now) for rec, lead, target, who in batch]
            for (rec, lead, target, who), out in zip(batch, self._crm.create_tasks(drafts), strict=True):
                if not out.ok:
                    log.warning("escalation task for lead %s refused: %s", rec.lead_crm_id, out.error)
                    continue
                self._repo.mark(
                    self._portal, rec.lead_crm_id, escalated_at=now, escalated_to=target.crm_user_id
                )
                result.escalated.append((rec, target))
                if self._notifier is not None:
                    said = words("notify", self._s.locale)["escalated"]
                    text = said.format(lead=lead.title, manager=who, due=self._due(rec))
                    key = f"lead_escalated:{rec.lead_crm_id}"
                    self._notifier.notify("lead_escalated", [target], text, key=key)
        log.info("escalate: %d lead(s) escalated", len(result.escalated))
        return result

    def _target(self, rec: AssignmentRecord) -> Curator | None:
        if self._s.escalate_to == "head":
            return self._team.head
        partner = self._store.records.partner(self._portal, rec.partner_id or "")
        curator = next((c for c in self._team.curators if partner and c.key == partner.curator_key), None)
        return curator or self._team.head

    def _due(self, rec: AssignmentRecord) -> str:
        if rec.deadline is None:
            raise AssertionError("invariant broken: rec.deadline is not None")
        return f"{rec.deadline.astimezone(zone(self._team.timezone)):%Y-%m-%d %H:%M} ({self._team.timezone})"

    def _task(
        self, rec: AssignmentRecord, lead: Lead, target: Curator, manager: str, now: datetime
    ) -> TaskDraft:
        deadline = add_working_time(now, self._s.sla, self._team.default_calendar, zone(self._team.timezone))
        t = words("notify", self._s.locale)
        description = t["escalation_task"].format(
            lead=lead.title, manager=manager, due=self._due(rec), reason=rec.reason
        )
        return TaskDraft(
            f"escalation:{rec.lead_crm_id}",
            t["escalation_task_title"].format(lead=lead.title)[:255],
            description,
            target.crm_user_id,
            deadline,
            RecordRef(Entity.LEAD, rec.lead_crm_id),
        )
