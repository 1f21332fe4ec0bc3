"""Partner-lead intake, shared by the HTTP endpoint and the CSV import: deal registration (channel
conflict) and exactly-once creation of each lead in the CRM's lead funnel.

Per lead, in this order — each step safe to repeat after a crash at any point:
1. the registration row (with the conflict decision) is written once, keyed by the lead's external
   id; a rerun finds it and reuses the decision;
2. a pending binding (portal, lead, external id) is reserved in the store;
3. ``adapter.create_leads`` creates it, idempotent by external id in the CRM (a retried create finds
   the half-done record instead of making another);
4. the binding is bound to the CRM id and the registration marked created; curators are notified of
   a conflict through the outbox (idempotency key per lead).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from crm_bridge.domain.model import Curator, CustomerIdentity, Partner
from crm_bridge.domain.registration import RegistrationRecord, check_registration, normalise_identity
from crm_bridge.ports import LeadDraft, RecordWriter, capabilities_of
from crm_bridge.services.intake_fields import AmountRule, LeadFields
from crm_bridge.services.notify_message import notice
from crm_bridge.store import Store
from crm_bridge.store.engine_intake import Registration

log = logging.getLogger("crm_bridge.intake")


class Notify(Protocol):
    """``crm_bridge.services.notify.Notifier``: enqueue, never raise."""

    def notify(self, event: str, recipients: Sequence[Any], text: str, *, key: str) -> None: ...


@dataclass(frozen=True, slots=True)
class IntakePolicy:
    protection_window_days: int = 90
    registration_expiry_days: int = 60
    default_phone_country_code: str = "+7"
    currency: str = ""
    amount_rule: AmountRule = AmountRule()
    locale: str = "en"  # the language of the registration reasons (lead comment, notifications)

    @classmethod
    def from_settings(cls, settings: Any) -> IntakePolicy:
        from crm_bridge.plugin import installed_specs

        intake = settings.intake
        spec = installed_specs().get(settings.crm.kind)
        places = spec.capabilities.money_places if spec is not None else AmountRule().places
        return cls(
            protection_window_days=intake.protection_window_days,
            registration_expiry_days=intake.registration_expiry_days,
            default_phone_country_code=intake.default_phone_country_code,
            currency=settings.rewards.currency,
            amount_rule=AmountRule(places=places, maximum=intake.max_amount),
            locale=str(settings.locale),
        )


@dataclass(frozen=True, slots=True)
class LeadSubmission:
    """One lead handed over by a partner. ``external_id`` is its idempotency key; ``source`` says
    where it came from for humans (``leads.csv row 7``, ``api``)."""

    external_id: str
    partner_id: str
    fields: LeadFields
    source: str = ""


@dataclass(frozen=True, slots=True)
class IntakeOutcome:
    """``status``: created (now), existing (created by an earlier run or request), rejected (bad
    input: ``error`` says why, nothing written), failed (the CRM refused it: ``error``)."""

    submission: LeadSubmission
    status: str
    lead_crm_id: str | None = None
    conflict: bool = False
    owner_partner_id: str | None = None
    reason: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status in ("created", "existing")


def content_key(*parts: object) -> str:
    """A stable hash of a lead's content (the idempotency key when the partner gives none)."""
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()[:32]


def _record(reg: Registration) -> RegistrationRecord:
    customer = CustomerIdentity(email=reg.email, phone=reg.phone, tax_id=reg.tax_id)
    return RegistrationRecord(
        reg.partner_id, customer, reg.registered_at, reg.progress_at, reg.external_id, reg.conflict
    )


class IntakeService:
    """Registers and creates partner leads of one CRM instance (``portal``)."""

    def __init__(
        self,
        adapter: RecordWriter,
        store: Store,
        portal: str,
        *,
        policy: IntakePolicy = IntakePolicy(),
        curators: Iterable[Curator] = (),
        notifier: Notify | None = None,
        checkpoint: Callable[[str], None] = lambda step: None,
    ) -> None:
        self._adapter = adapter
        self._store = store
        self._repo = store.intake
        self._portal = portal
        self._policy = policy
        self.amount_rule = policy.amount_rule
        self.country_code = policy.default_phone_country_code
        self._curators = {c.key: c for c in curators}
        self._notifier = notifier
        self._checkpoint = checkpoint  # tests inject crashes between steps here

    def submit(
        self,
        submissions: Sequence[LeadSubmission],
        *,
        now: datetime,
        progress: Callable[[int], None] | None = None,
    ) -> list[IntakeOutcome]:
        """Register and create ``submissions`` (in order: an earlier one wins a conflict with a later
        one). Per-lead problems come back as outcomes; CRM outages raise (``CrmRetriableError``) after
        the leads reserved so far are safe to resume by running again. ``progress`` is told how many
        submissions each finished batch handled (the CLI's progress bar)."""
        outcomes: list[IntakeOutcome] = []
        size = capabilities_of(self._adapter).write_batch  # leads per create call, as the CRM allows
        for start in range(0, len(submissions), size):
            batch = self._batch(submissions[start : start + size], now)
            outcomes.extend(batch)
            if progress is not None:
                progress(len(batch))
        return outcomes

    def _batch(self, subs: Sequence[LeadSubmission], now: datetime) -> list[IntakeOutcome]:
        results: dict[int, IntakeOutcome] = {}
        to_create: list[tuple[int, LeadSubmission, Registration]] = []
        for index, sub in enumerate(subs):
            reg = self._repo.registration(self._portal, sub.external_id)
            if reg is not None and reg.status == "created":
                results[index] = self._outcome(sub, reg, "existing")
                self._tell_conflict(sub, reg)
                continue
            if reg is None:
                reg_or_error = self._register(sub, now)
                if isinstance(reg_or_error, str):
                    results[index] = IntakeOutcome(sub, "rejected", error=reg_or_error)
                    continue
                reg = reg_or_error
            self._store.reserve(
                self._portal, "lead", sub.external_id, content_key(sub.partner_id, sub.fields)
            )
            to_create.append((index, sub, reg))
        self._checkpoint("reserved")
        if to_create:
            drafts = [self._draft(sub, reg) for _, sub, reg in to_create]
            written = self._adapter.create_leads(drafts)
            self._checkpoint("created")
            for (index, sub, reg), out in zip(to_create, written, strict=True):
                if out.ok and out.crm_id:
                    self._store.bind(self._portal, "lead", sub.external_id, out.crm_id)
                    self._repo.mark_created(self._portal, sub.external_id, out.crm_id)
                    results[index] = self._outcome(
                        sub, reg, "created" if out.created else "existing", out.crm_id
                    )
                    self._tell_conflict(sub, reg)
                else:
                    error = out.error or "the CRM did not return an id"
                    self._repo.mark_failed(self._portal, sub.external_id, error)
                    results[index] = IntakeOutcome(sub, "failed", error=f"CRM refused the lead: {error}")
        created = sum(1 for o in results.values() if o.status == "created")
        log.info("intake: %d lead(s), %d created", len(subs), created)
        return [results[i] for i in range(len(subs))]

    def _register(self, sub: LeadSubmission, now: datetime) -> Registration | str:
        partner = self._partner(sub.partner_id)
        if partner is None:
            return (
                f"partner_id {sub.partner_id}: no such partner in the CRM "
                "(or not synced yet: run `crm-bridge sync --once`)"
            )
        try:
            customer = normalise_identity(sub.fields.customer, self._policy.default_phone_country_code)
        except ValueError as exc:
            return str(exc)
        existing = [
            _record(r)
            for r in self._repo.matching(self._portal, customer.email, customer.phone, customer.tax_id)
            if r.status != "failed"
        ]
        new = RegistrationRecord(sub.partner_id, customer, now, None, sub.external_id)
        policy = self._policy
        decision = check_registration(
            new,
            existing,
            policy.protection_window_days,
            policy.registration_expiry_days,
            now,
            locale=policy.locale,
        )
        reg = Registration(
            external_id=sub.external_id,
            partner_id=sub.partner_id,
            customer_name=sub.fields.customer_name,
            email=customer.email,
            phone=customer.phone,
            tax_id=customer.tax_id,
            source=sub.source,
            status="pending",
            conflict=decision.conflict,
            owner_partner_id=decision.owner_partner_id,
            reason=decision.reason,
            registered_at=now,
            progress_at=now,
        )
        return self._repo.add_registration(self._portal, reg)

    def _partner(self, partner_id: str) -> Partner | None:
        return self._store.records.partner(self._portal, partner_id) if partner_id else None

    def _draft(self, sub: LeadSubmission, reg: Registration) -> LeadDraft:
        partner = self._partner(sub.partner_id)
        title = f"{sub.fields.customer_name} — {partner.name}" if partner else sub.fields.customer_name
        comment = sub.fields.comment
        if reg.conflict:
            comment = f"[{reg.reason}]\n{comment}".strip()
        return LeadDraft(
            external_id=sub.external_id,
            partner_id=sub.partner_id,
            title=title[:255],
            customer_name=sub.fields.customer_name,
            customer=CustomerIdentity(email=reg.email, phone=reg.phone, tax_id=reg.tax_id),
            amount=sub.fields.amount,
            currency=self._policy.currency,
            comment=comment,
            conflict=reg.conflict,
        )

    @staticmethod
    def _outcome(
        sub: LeadSubmission, reg: Registration, status: str, crm_id: str | None = None
    ) -> IntakeOutcome:
        return IntakeOutcome(
            sub, status, crm_id or reg.lead_crm_id, reg.conflict, reg.owner_partner_id, reg.reason
        )

    def _tell_conflict(self, sub: LeadSubmission, reg: Registration) -> None:
        """Both partners' curators hear of a conflict once (the outbox drops a repeated key)."""
        if not reg.conflict or self._notifier is None:
            return
        partners = {p: self._partner(p) for p in (reg.partner_id, reg.owner_partner_id or "")}
        recipients: list[Curator] = []
        for partner in partners.values():
            curator = self._curators.get(partner.curator_key or "") if partner else None
            if curator is not None and curator not in recipients:
                recipients.append(curator)
        names = {pid: (p.name if p else pid) for pid, p in partners.items()}
        text = notice(
            self._notifier,
            "channel_conflict",
            partner=names[reg.partner_id],
            customer=reg.customer_name,
            owner=names.get(reg.owner_partner_id or "", reg.owner_partner_id),
            reason=reg.reason,
        )
        if recipients:
            self._notifier.notify(
                "channel_conflict", recipients, text, key=f"channel_conflict:{reg.external_id}"
            )
