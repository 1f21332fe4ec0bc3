"""Conversions between domain records (Partner, Lead, Deal) and rows of the replicated tables."""

from __future__ import annotations

from typing import Any

from crm_bridge.domain.model import CustomerIdentity, Deal, Lead, Partner, PartnerType, StageKind


def partner_row(portal: str, p: Partner) -> dict[str, Any]:
    return {
        "portal": portal,
        "crm_id": p.crm_id,
        "name": p.name,
        "type": p.type.value if p.type is not None else None,
        "tier": p.tier,
        "curator_key": p.curator_key,
        "acquisition_stage": p.acquisition_stage,
        "region": p.region,
        "competencies": sorted(p.competencies),
        "qualification": dict(p.qualification),
        "partner_since": p.partner_since,
        "training_completed": p.training_completed,
        "modified_at": p.modified_at,
    }


def partner_from(row: Any) -> Partner:
    return Partner(
        crm_id=row.crm_id,
        name=row.name,
        type=PartnerType(row.type) if row.type is not None else None,
        tier=row.tier,
        curator_key=row.curator_key,
        acquisition_stage=row.acquisition_stage,
        region=row.region,
        competencies=frozenset(row.competencies),
        qualification={str(k): int(v) for k, v in row.qualification.items()},
        partner_since=row.partner_since,
        training_completed=bool(row.training_completed),
        modified_at=row.modified_at,
    )


def lead_row(portal: str, lead: Lead) -> dict[str, Any]:
    return {
        "portal": portal,
        "crm_id": lead.crm_id,
        "partner_id": lead.partner_id,
        "title": lead.title,
        "stage": lead.stage,
        "stage_kind": lead.stage_kind.value,
        "created_at": lead.created_at,
        "email": lead.customer.email,
        "phone": lead.customer.phone,
        "tax_id": lead.customer.tax_id,
        "customer_name": lead.customer_name,
        "amount": lead.amount,
        "currency": lead.currency,
        "manager_user_id": lead.manager_user_id,
        "external_id": lead.external_id,
        "region": lead.region,
        "specialisation": lead.specialisation,
        "first_touch_at": lead.first_touch_at,
        "closed_at": lead.closed_at,
        "modified_at": lead.modified_at,
        "conflict": lead.conflict,
    }


def lead_from(row: Any) -> Lead:
    return Lead(
        crm_id=row.crm_id,
        partner_id=row.partner_id,
        title=row.title,
        stage=row.stage,
        stage_kind=StageKind(row.stage_kind),
        created_at=row.created_at,
        customer=CustomerIdentity(email=row.email, phone=row.phone, tax_id=row.tax_id),
        customer_name=row.customer_name,
        amount=row.amount,
        currency=row.currency,
        manager_user_id=row.manager_user_id,
        external_id=row.external_id,
        region=row.region,
        specialisation=row.specialisation,
        first_touch_at=row.first_touch_at,
        closed_at=row.closed_at,
        modified_at=row.modified_at,
        conflict=bool(row.conflict),
    )


def deal_row(portal: str, deal: Deal) -> dict[str, Any]:
    return {
        "portal": portal,
        "crm_id": deal.crm_id,
        "partner_id": deal.partner_id,
        "title": deal.title,
        "funnel": deal.funnel,
        "stage": deal.stage,
        "stage_kind": deal.stage_kind.value,
        "amount": deal.amount,
        "created_at": deal.created_at,
        "currency": deal.currency,
        "closed_at": deal.closed_at,
        "repeat": deal.repeat,
        "external_id": deal.external_id,
        "modified_at": deal.modified_at,
    }


def deal_from(row: Any) -> Deal:
    return Deal(
        crm_id=row.crm_id,
        partner_id=row.partner_id,
        title=row.title,
        funnel=row.funnel,
        stage=row.stage,
        stage_kind=StageKind(row.stage_kind),
        amount=row.amount,
        created_at=row.created_at,
        currency=row.currency,
        closed_at=row.closed_at,
        repeat=bool(row.repeat),
        external_id=row.external_id,
        modified_at=row.modified_at,
    )
