"""The FakeCRM's record operations, one record at a time: validate strictly (unknown stage, partner,
user, field or option -> ``CrmValidationError``), then write, stamping ``modified_at`` from the clock."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from decimal import Decimal
from typing import Any

from crm_bridge.domain.layout import FieldEntity, FieldType
from crm_bridge.domain.model import QUALIFICATION_CRITERIA, Deal, Lead, Partner, PartnerType, StageKind
from crm_bridge.errors import CrmValidationError, NotFound
from crm_bridge.fake.state import LEAD_FUNNEL, FakeState, Funnel, Notification, Stage, Task
from crm_bridge.ports import (
    DealDraft,
    Entity,
    LeadDraft,
    NotificationDraft,
    PartnerUpdate,
    RecordPage,
    RecordUpdate,
    SyncCursor,
    TaskDraft,
    WriteOutcome,
)

_LEAD_ATTRS = {"title", "amount", "currency", "customer_name", "region", "specialisation", "conflict"}
_LEAD_ATTRS |= {"first_touch_at", "closed_at"}
_DEAL_ATTRS = {"title", "amount", "currency", "closed_at", "repeat"}
_PARTNER_ATTRS = {"name", "region", "training_completed", "partner_since", "curator"}
_FIELD_ENTITY = {
    Entity.LEAD: FieldEntity.LEAD,
    Entity.DEAL: FieldEntity.DEAL,
    Entity.PARTNER: FieldEntity.PARTNER,
}


def _invalid(message: str, entity: Entity | str, external_id: str = "") -> CrmValidationError:
    return CrmValidationError(message, crm="fake", entity=str(entity), external_id=external_id)


def _funnel(state: FakeState, key: str, entity: Entity) -> Funnel:
    funnel = state.funnel(key)
    if funnel is None:
        raise _invalid(f"funnel {key!r} does not exist (provision first)", entity)
    return funnel


def _stage(funnel: Funnel, key: str | None, entity: Entity) -> Stage:
    stage = funnel.first_open() if key is None else funnel.stage(key)
    if stage is None:
        known = ", ".join(s.key for s in funnel.stages if s.key)
        raise _invalid(f"unknown stage {key!r} in funnel {funnel.key!r} (known: {known})", entity)
    return stage


def _user(state: FakeState, user_id: str | None, entity: Entity | str) -> None:
    if user_id is not None and user_id not in state.users:
        raise _invalid(f"unknown user {user_id!r}", entity)


def _partner(state: FakeState, partner_id: str | None, entity: Entity) -> None:
    if partner_id is not None and partner_id not in state.partners:
        raise _invalid(f"unknown partner {partner_id!r}", entity)


def insert_lead(
    state: FakeState, *, partner_id: str | None, title: str, stage: str | None, now: datetime, **attrs: Any
) -> Lead:
    """Validate and store a new lead (``attrs``: other ``Lead`` fields)."""
    found = _stage(_funnel(state, LEAD_FUNNEL, Entity.LEAD), stage, Entity.LEAD)
    _partner(state, partner_id, Entity.LEAD)
    _user(state, attrs.get("manager_user_id"), Entity.LEAD)
    external_id = attrs.get("external_id")
    if external_id is not None and state.by_external_id(Entity.LEAD, external_id) is not None:
        raise _invalid("duplicate external id", Entity.LEAD, external_id)
    lead = Lead(
        crm_id=state.new_id(),
        partner_id=partner_id,
        title=title,
        stage=found.key or "",
        stage_kind=found.kind,
        created_at=now,
        modified_at=now,
        closed_at=now if found.kind is not StageKind.OPEN else None,
        furthest_stage=found.key if found.kind is StageKind.OPEN else None,
        **attrs,
    )
    state.leads[lead.crm_id] = lead
    return lead


def create_lead(state: FakeState, draft: LeadDraft, now: datetime) -> WriteOutcome:
    existing = state.by_external_id(Entity.LEAD, draft.external_id)
    if existing is not None:
        if existing.partner_id != draft.partner_id:
            raise _invalid(
                "external id already used by another partner's lead", Entity.LEAD, draft.external_id
            )
        return WriteOutcome(draft.external_id, existing.crm_id, created=False)
    return send_lead(state, draft, now)


def send_lead(state: FakeState, draft: LeadDraft, now: datetime) -> WriteOutcome:
    """Create without looking up: a repeated external id is refused as a duplicate."""
    lead = insert_lead(
        state,
        partner_id=draft.partner_id,
        title=draft.title,
        stage=draft.stage,
        now=now,
        customer=draft.customer,
        customer_name=draft.customer_name,
        amount=draft.amount,
        currency=draft.currency,
        manager_user_id=draft.manager_user_id,
        external_id=draft.external_id,
        conflict=draft.conflict,
    )
    return WriteOutcome(draft.external_id, lead.crm_id, created=True)


def create_deal(state: FakeState, draft: DealDraft, now: datetime) -> WriteOutcome:
    existing = state.by_external_id(Entity.DEAL, draft.external_id)
    if existing is not None:
        if existing.partner_id != draft.partner_id:
            raise _invalid(
                "external id already used by another partner's deal", Entity.DEAL, draft.external_id
            )
        return WriteOutcome(draft.external_id, existing.crm_id, created=False)
    if draft.funnel == LEAD_FUNNEL:
        raise _invalid("partner leads are created with create_leads", Entity.DEAL, draft.external_id)
    stage = _stage(_funnel(state, draft.funnel, Entity.DEAL), draft.stage, Entity.DEAL)
    _partner(state, draft.partner_id, Entity.DEAL)
    _user(state, draft.responsible_user_id, Entity.DEAL)
    deal = Deal(
        crm_id=state.new_id(),
        partner_id=draft.partner_id,
        title=draft.title,
        funnel=draft.funnel,
        stage=stage.key or "",
        stage_kind=stage.kind,
        amount=draft.amount,
        created_at=now,
        currency=draft.currency,
        repeat=draft.funnel == "repeat",
        external_id=draft.external_id,
        modified_at=now,
        closed_at=now if stage.kind is not StageKind.OPEN else None,
    )
    state.deals[deal.crm_id] = deal
    if draft.responsible_user_id:
        state.responsible[deal.crm_id] = draft.responsible_user_id
    return WriteOutcome(draft.external_id, deal.crm_id, created=True)


def _custom_values(state: FakeState, entity: Entity, key: str, value: Any) -> None:
    target = state.field_for(_FIELD_ENTITY[entity], key)
    if target is None:
        raise _invalid(f"unknown field {key!r}", entity)
    if target.type is FieldType.ENUM and value is not None and str(value) not in target.option_keys():
        options = ", ".join(sorted(target.option_keys()))
        raise _invalid(f"{value!r} is not an option of field {key!r} (options: {options})", entity)


def _further(funnel: Funnel | None, reached: str | None, stage: Stage) -> str | None:
    """The further of the furthest open stage reached so far and ``stage`` (when open)."""
    if stage.kind is not StageKind.OPEN or funnel is None:
        return reached
    before = funnel.stage(reached) if reached else None
    return stage.key if before is None or stage.sort > before.sort else reached


def update_record(state: FakeState, update: RecordUpdate, now: datetime) -> WriteOutcome:
    if update.entity is Entity.PARTNER:
        raise _invalid("partners are changed with update_partners", update.entity)
    record = state.records(update.entity).get(update.crm_id)
    if record is None:
        raise NotFound(f"no {update.entity.value} {update.crm_id}", crm="fake", entity=update.entity.value)
    changes: dict[str, Any] = {}
    funnel_key = update.funnel or (LEAD_FUNNEL if update.entity is Entity.LEAD else record.funnel)
    if update.entity is Entity.LEAD and funnel_key != LEAD_FUNNEL:
        raise _invalid("a partner lead stays in the lead funnel", update.entity)
    if update.stage is not None or update.funnel is not None:
        stage = _stage(_funnel(state, funnel_key, update.entity), update.stage, update.entity)
        changes.update(stage=stage.key, stage_kind=stage.kind)
        changes["closed_at"] = None if stage.kind is StageKind.OPEN else (record.closed_at or now)
        if update.entity is Entity.DEAL:
            changes["funnel"] = funnel_key
        elif stage.key != record.stage:  # a move: the lead's history (first touch, furthest stage)
            changes["first_touch_at"] = record.first_touch_at or now
            changes["furthest_stage"] = _further(state.funnel(LEAD_FUNNEL), record.furthest_stage, stage)
    _user(state, update.responsible_user_id, update.entity)
    allowed = _LEAD_ATTRS if update.entity is Entity.LEAD else _DEAL_ATTRS
    custom: dict[str, Any] = {}
    for key, value in update.fields.items():
        if key in allowed:
            changes[key] = Decimal(str(value)) if key == "amount" else value
        else:
            _custom_values(state, update.entity, key, value)
            custom[key] = value
    if update.responsible_user_id is not None:
        if update.entity is Entity.LEAD:
            changes["manager_user_id"] = update.responsible_user_id
        else:
            state.responsible[record.crm_id] = update.responsible_user_id
    state.custom.setdefault((update.entity, record.crm_id), {}).update(custom)
    state.records(update.entity)[record.crm_id] = dataclasses.replace(record, **changes, modified_at=now)
    return WriteOutcome(update.crm_id, update.crm_id)


def update_partner(state: FakeState, update: PartnerUpdate, now: datetime) -> WriteOutcome:
    partner = state.partners.get(update.crm_id)
    if partner is None:
        raise _invalid(f"unknown partner {update.crm_id!r}", Entity.PARTNER)
    changes: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    for key, value in update.fields.items():
        if key in ("tier", "partner_type"):
            _custom_values(state, Entity.PARTNER, key, value)
            changes[key if key == "tier" else "type"] = PartnerType(value) if key == "partner_type" else value
        elif key == "curator":  # a user field: the CRM user id; the curator key as the adapters read it
            _user(state, None if value in (None, "") else str(value), Entity.PARTNER)
            changes["curator_key"] = state.curator_keys.get(str(value)) if value else None
        elif key in _PARTNER_ATTRS:
            changes[key] = value
        else:
            _custom_values(state, Entity.PARTNER, key, value)
            custom[key] = value
    state.custom.setdefault((Entity.PARTNER, partner.crm_id), {}).update(custom)
    scores = {
        k.removeprefix("score_"): v
        for k, v in custom.items()
        if k.removeprefix("score_") in QUALIFICATION_CRITERIA
    }
    if scores:  # the scorecard's criteria read back as the adapters read them
        qualification = dict(partner.qualification)
        for criterion, value in scores.items():
            if value in (None, ""):
                qualification.pop(criterion, None)
            else:
                qualification[criterion] = int(value)
        changes["qualification"] = qualification
    state.partners[partner.crm_id] = dataclasses.replace(partner, **changes, modified_at=now)
    return WriteOutcome(update.crm_id, update.crm_id)


def create_task(state: FakeState, draft: TaskDraft, now: datetime) -> WriteOutcome:
    existing = next((t for t in state.tasks.values() if t.external_id == draft.external_id), None)
    if existing is not None:
        return WriteOutcome(draft.external_id, existing.crm_id, created=False)
    _user(state, draft.responsible_user_id, "task")
    if draft.deadline.tzinfo is None:
        raise _invalid("the deadline must be timezone-aware", "task", draft.external_id)
    if draft.bound_to is not None and draft.bound_to.crm_id not in state.records(draft.bound_to.entity):
        ref = draft.bound_to
        raise _invalid(f"the task is bound to {ref.entity.value} {ref.crm_id}, which does not exist", "task")
    task = Task(
        state.new_id(),
        draft.external_id,
        draft.title,
        draft.description,
        draft.responsible_user_id,
        draft.deadline,
        draft.bound_to,
        now,
    )
    state.tasks[task.crm_id] = task
    return WriteOutcome(draft.external_id, task.crm_id, created=True)


def send_notification(state: FakeState, draft: NotificationDraft, now: datetime) -> WriteOutcome:
    existing = next((n for n in state.notifications.values() if n.external_id == draft.external_id), None)
    if existing is not None:
        return WriteOutcome(draft.external_id, existing.crm_id, created=False)
    _user(state, draft.user_id, "notification")
    sent = Notification(state.new_id(), draft.external_id, draft.user_id, draft.message, now)
    state.notifications[sent.crm_id] = sent
    return WriteOutcome(draft.external_id, sent.crm_id, created=True)


def _order(record: Partner | Lead | Deal) -> tuple[datetime, int]:
    if record.modified_at is None:
        raise AssertionError("invariant broken: record.modified_at is not None")
    return record.modified_at, int(record.crm_id)


def page_after(
    state: FakeState, entity: Entity, cursor: SyncCursor | None, page_size: int, total: int | None
) -> tuple[RecordPage | None, bool]:
    """The next keyset page in (modified_at, id) order after ``cursor``, read now (records changed
    while paging show up on a later page, as with a real CRM), and whether more may follow.
    ``total`` is carried from the first page (None: count now)."""
    after = (cursor.modified_at, int(cursor.last_id or 0)) if cursor else None
    listed: dict[str, Partner | Lead | Deal] = state.records(entity)
    pending = sorted((r for r in listed.values() if after is None or _order(r) > after), key=_order)
    page = pending[:page_size]
    if not page:
        return None, False
    last = page[-1]
    if last.modified_at is None:
        raise AssertionError("invariant broken: last.modified_at is not None")
    next_cursor = SyncCursor(last.modified_at, last.crm_id)
    return RecordPage(entity, tuple(page), next_cursor, len(pending) if total is None else total), len(
        pending
    ) > page_size
