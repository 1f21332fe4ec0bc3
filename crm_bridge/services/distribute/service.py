"""Lead distribution: each new partner lead without a manager gets one by the configured strategy
(``crm_bridge.domain.distribution``), becomes that manager's responsibility in the CRM and gets a CRM
task whose deadline is the SLA in working hours of the manager's time zone; the task says why this
manager. A lead still untouched when its SLA runs out escalates once (``escalate``): a task for the
partner's curator (or the head) and a notification.

Every decision is recorded (``engine_lead_assignments``) before the CRM is written, so a rerun after
a crash completes the same assignment instead of deciding again; CRM writes are idempotent by the
task's external id.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from crm_bridge.domain.distribution import DistributionState, assign
from crm_bridge.domain.model import Lead, Manager, Partner, StageKind
from crm_bridge.ports import (
    Entity,
    RecordRef,
    RecordUpdate,
    RecordWriter,
    TaskDraft,
    TaskSink,
    capabilities_of,
)
from crm_bridge.services.distribute.result import DistributeResult
from crm_bridge.services.distribute.settings import DistributionSettings, Team
from crm_bridge.services.sla import add_working_time, zone
from crm_bridge.store import Store
from crm_bridge.store.assignments import AssignmentRecord, AssignmentRepository
from crm_bridge.texts import words

log = logging.getLogger("crm_bridge.distribute")

STATE_NAME = "distribution"


class Notify(Protocol):
    def notify(self, event: str, recipients: Sequence[Any], text: str, *, key: str) -> None: ...


class Crm(RecordWriter, TaskSink, Protocol):
    """What distribution writes: responsible user on the lead, tasks."""


# A lead is "without a manager" when its responsible user is none of the configured managers: CRMs
# like Bitrix24 always set a responsible (the user who created the record, e.g. the integration).


class Distributor:
    """Distributes and escalates the partner leads of one CRM instance (``portal``)."""

    def __init__(
        self,
        adapter: Crm,
        store: Store,
        portal: str,
        team: Team,
        settings: DistributionSettings = DistributionSettings(),
        *,
        notifier: Notify | None = None,
        checkpoint: Callable[[str], None] = lambda step: None,
    ) -> None:
        self._crm = adapter
        self._store = store
        self._portal = portal
        self._team = team
        self._s = settings
        self._notifier = notifier
        self._repo = AssignmentRepository(store.engine)
        self._checkpoint = checkpoint

    def distribute(self, now: datetime) -> DistributeResult:
        """Decide for every new partner lead, then write the CRM (responsible user, task). Raises the
        CRM's retriable errors; decisions already recorded are completed by the next run."""
        result = DistributeResult()
        partners = {p.crm_id: p for p in self._store.partners(self._portal)}
        self._decide(now, partners, result)
        self._checkpoint("decided")
        pending = self._repo.all(self._portal, status="pending")
        size = capabilities_of(self._crm).write_batch
        for start in range(0, len(pending), size):
            self._write(pending[start : start + size], partners, now, result)
        log.info(
            "distribute: %d assigned, %d without a manager, %d refused by the CRM",
            len(result.assigned),
            len(result.unassigned),
            len(result.failed),
        )
        return result

    def _decide(self, now: datetime, partners: dict[str, Partner], result: DistributeResult) -> None:
        by_user = {m.crm_user_id: m.key for m in self._team.managers}
        loads: Counter[str] = Counter()
        candidates: list[Lead] = []
        # a lead the CRM refused to assign ("failed") is decided again: the cause may be fixed by now.
        # The CRM may have taken the responsible user and refused only the task (Bitrix24 keeps any
        # ASSIGNED_BY_ID, tasks.task.add refuses an unknown RESPONSIBLE_ID): that lead is still ours.
        settled = self._repo.lead_ids(self._portal, ("pending", "done", "skipped"))
        refused = {r.lead_crm_id: r.manager_user_id for r in self._repo.all(self._portal, status="failed")}
        oldest = now - self._s.max_age
        for lead in self._store.leads(self._portal):
            if lead.stage_kind is not StageKind.OPEN:
                continue
            retry = lead.crm_id in refused and lead.manager_user_id in (None, "", refused[lead.crm_id])
            if lead.manager_user_id in by_user and not retry:
                loads[by_user[lead.manager_user_id or ""]] += 1
            elif lead.partner_id and lead.created_at >= oldest and lead.crm_id not in settled:
                candidates.append(lead)  # no manager, or a CRM user who is not a sales manager
        for rec in self._repo.all(self._portal, status="pending"):
            loads[rec.manager_key or ""] += 1
        state = DistributionState.from_dict(self._store.get_state(self._portal, STATE_NAME))
        for lead in sorted(
            candidates, key=lambda x: (x.created_at, int(x.crm_id) if x.crm_id.isdigit() else 0)
        ):
            partner = partners.get(lead.partner_id or "")
            if lead.conflict:
                reason = "channel conflict: left for the curators' review, not distributed"
                self._repo.save(self._portal, self._record(lead, None, "", reason, "skipped", now))
                continue
            lead = replace(lead, region=lead.region or (partner.region if partner else ""))
            ptype = partner.type.value if partner and partner.type else None
            decision, state = assign(
                lead, self._team.managers, state, loads, policy=self._s.policy, partner_type=ptype
            )
            manager = next((m for m in self._team.managers if m.key == decision.manager_key), None)
            if manager is None:
                rec = self._record(lead, None, decision.strategy, decision.reason, "unassigned", now)
                self._repo.save(self._portal, rec)
                result.unassigned.append(rec)
                continue
            deadline = add_working_time(
                now, self._s.sla, self._team.calendar(manager.key), zone(manager.timezone)
            )
            details = {
                "rule": decision.rule,
                "capacity_left": decision.capacity_left,
                "skipped": [[s.manager_key, s.why] for s in decision.skipped],
            }
            rec = self._record(
                lead, manager, decision.strategy, decision.reason, "pending", now, deadline, details
            )
            self._repo.save(self._portal, rec)
            self._store.set_state(self._portal, STATE_NAME, state.to_dict())
            loads[manager.key] += 1

    @staticmethod
    def _record(
        lead: Lead,
        manager: Manager | None,
        strategy: str,
        reason: str,
        status: str,
        now: datetime,
        deadline: datetime | None = None,
        details: dict[str, Any] | None = None,
    ) -> AssignmentRecord:
        return AssignmentRecord(
            lead_crm_id=lead.crm_id,
            partner_id=lead.partner_id,
            manager_key=manager.key if manager else None,
            manager_user_id=manager.crm_user_id if manager else None,
            strategy=strategy,
            reason=reason,
            stage=lead.stage,
            status=status,
            assigned_at=now,
            deadline=deadline,
            task_external_id=f"lead-task:{lead.crm_id}" if manager else None,
            details=details or {},
        )

    def _write(
        self,
        batch: list[AssignmentRecord],
        partners: dict[str, Partner],
        now: datetime,
        result: DistributeResult,
    ) -> None:
        leads = {r.lead_crm_id: self._store.records.lead(self._portal, r.lead_crm_id) for r in batch}
        updates = [
            RecordUpdate(Entity.LEAD, r.lead_crm_id, responsible_user_id=r.manager_user_id) for r in batch
        ]
        tasks = [self._task(r, leads[r.lead_crm_id], partners.get(r.partner_id or "")) for r in batch]
        updated = self._crm.update_records(updates)
        self._checkpoint("responsible")
        created = self._crm.create_tasks(tasks)
        for rec, up, task in zip(batch, updated, created, strict=True):
            if not (up.ok and task.ok):
                error = up.error or task.error or "refused"
                log.error(
                    "distribute: the CRM refused to assign lead %s to %s (user %s): %s",
                    rec.lead_crm_id,
                    rec.manager_key,
                    rec.manager_user_id,
                    error,
                )
                self._repo.mark(self._portal, rec.lead_crm_id, status="failed", error=error)
                result.failed.append(replace(rec, status="failed", error=error))
                continue
            self._repo.mark(self._portal, rec.lead_crm_id, status="done", task_crm_id=task.crm_id)
            result.assigned.append(replace(rec, status="done", task_crm_id=task.crm_id))
            manager = next((m for m in self._team.managers if m.key == rec.manager_key), None)
            if self._notifier is not None and manager is not None:
                said = words("notify", self._s.locale)["lead_assigned"]
                text = said.format(title=tasks[batch.index(rec)].title, reason=rec.reason)
                self._notifier.notify(
                    "lead_assigned", [manager], text, key=f"lead_assigned:{rec.lead_crm_id}"
                )

    def _task(self, rec: AssignmentRecord, lead: Lead | None, partner: Partner | None) -> TaskDraft:
        manager = next(m for m in self._team.managers if m.key == rec.manager_key)
        t = words("notify", self._s.locale)
        title_lead = lead.title if lead else t["lead_task_fallback_title"].format(id=rec.lead_crm_id)
        customer = lead.customer_name if lead else ""
        partner_name = partner.name if partner else (rec.partner_id or "")
        title = self._s.task_title.format(partner=partner_name, lead=title_lead, customer=customer)
        if rec.deadline is None:
            raise AssertionError("invariant broken: rec.deadline is not None")
        local = rec.deadline.astimezone(zone(manager.timezone))
        description = t["lead_task"].format(
            partner=partner_name,
            lead=title_lead,
            due=f"{local:%Y-%m-%d %H:%M}",
            zone=manager.timezone,
            hours=f"{self._s.sla.total_seconds() / 3600:g}",
            reason=rec.reason,
        )
        return TaskDraft(
            rec.task_external_id or f"lead-task:{rec.lead_crm_id}",
            title[:255],
            description,
            manager.crm_user_id,
            rec.deadline,
            RecordRef(Entity.LEAD, rec.lead_crm_id),
        )
