"""Keeping deal registrations current: a lead that moved on in the CRM (another stage) restarts its
registration's expiry clock; a registration without progress for ``registration_expiry_days`` lapses,
its customer is free again, and the partner's curator is told."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from crm_bridge.domain.model import Curator, CustomerIdentity, StageKind
from crm_bridge.domain.registration import RegistrationRecord
from crm_bridge.services.intake.service import IntakePolicy, Notify
from crm_bridge.services.notify.message import notice
from crm_bridge.store import Store
from crm_bridge.store.intake import Registration

log = logging.getLogger("crm_bridge.intake")


@dataclass
class RegistrationRefresh:
    progressed: int = 0
    expired: list[Registration] = field(default_factory=list)


def refresh_registrations(
    store: Store,
    portal: str,
    policy: IntakePolicy,
    now: datetime,
    *,
    curators: Iterable[Curator] = (),
    notifier: Notify | None = None,
) -> RegistrationRefresh:
    """Compare live registrations with the replicated leads (run after sync)."""
    repo = store.intake
    result = RegistrationRefresh()
    progress: list[tuple[str, str, datetime]] = []
    lapsed: list[Registration] = []
    for reg in repo.with_leads(portal):
        lead = store.records.lead(portal, reg.lead_crm_id or "")
        if lead is None:
            continue
        progress_at = reg.progress_at
        if reg.lead_stage is None:
            progress.append((reg.external_id, lead.stage, reg.progress_at))  # first look: remember the stage
        elif lead.stage != reg.lead_stage:
            progress_at = lead.modified_at or now
            progress.append((reg.external_id, lead.stage, progress_at))
            result.progressed += 1
        if lead.stage_kind is StageKind.WON:
            continue  # the deal is closed for this partner: its registration did its job
        record = RegistrationRecord(
            reg.partner_id, _identity(reg), reg.registered_at, progress_at, reg.external_id
        )
        if record.expired_for_lack_of_progress(
            policy.protection_window_days, policy.registration_expiry_days, now
        ):
            lapsed.append(reg)
    repo.record_progress(portal, progress)
    repo.expire(portal, (r.external_id for r in lapsed), now)
    result.expired = lapsed
    by_key = {c.key: c for c in curators}
    for reg in lapsed:
        partner = store.records.partner(portal, reg.partner_id)
        curator = by_key.get(partner.curator_key or "") if partner else None
        if notifier is not None and curator is not None:
            text = notice(
                notifier,
                "registration_expired",
                customer=reg.customer_name,
                partner=partner.name if partner else reg.partner_id,
                days=policy.registration_expiry_days,
            )
            notifier.notify(
                "registration_expired", [curator], text, key=f"registration_expired:{reg.external_id}"
            )
    if lapsed:
        log.info("intake: %d registration(s) lapsed", len(lapsed))
    return result


def _identity(reg: Registration) -> CustomerIdentity:
    return CustomerIdentity(email=reg.email, phone=reg.phone, tax_id=reg.tax_id)
