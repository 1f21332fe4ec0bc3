"""Partner-lead intake, shared by the HTTP endpoint and the CSV import: deal registration (channel
conflict) and exactly-once creation of each lead in the CRM's lead funnel.

Per wave of leads, in this order — each step safe to repeat after a crash at any point:
1. partners the store does not know are looked up in the CRM (one batched lookup, cached, saved);
2. the registrations (with the conflict decision, taken under a lock on the customer's identity) are
   written once, keyed by the lead's external id; a rerun finds them and reuses the decisions;
3. ``write.LeadWrites`` creates them in the CRM's largest batches: never-sent ones without a
   lookup, uncertain ones (sent, never answered for certain) looked up by external id first;
4. registrations are marked created with the CRM id (and the id binding); curators are notified of a
   conflict through the outbox (idempotency key per lead).
The HTTP API only registers (``register``): the daemon's intake writer (``drain``) does step 3 and 4.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any, Protocol

from crm_bridge.domain.model import Curator, CustomerIdentity, Partner
from crm_bridge.domain.registration import RegistrationRecord, check_registration, normalise_identity
from crm_bridge.ports import Entity, LeadDraft, LeadIntakeWriter, RecordPage, RecordWriter, capabilities_of
from crm_bridge.services.intake.fields import AmountRule, FieldProblem, LeadFields, check_lead_fields
from crm_bridge.services.intake.write import LeadWrites, WriteResult
from crm_bridge.services.notify.message import notice
from crm_bridge.store import Store
from crm_bridge.store.intake import Registration

log = logging.getLogger("crm_bridge.intake")

WAVE_BATCHES = 20  # CRM batches registered and sent together (the adapter sends them concurrently)
UNKNOWN_PARTNER_TTL = timedelta(minutes=5)  # how long an id the CRM did not know stays unknown
WIDEN_LOOKUP = 2_000  # partner ids asked about in one lookup at most when widened (Bitrix24: 2,500 a request)
LINGER = timedelta(seconds=1)  # how long a queued lead may wait for its CRM batch to fill


Registered = tuple[dict[int, "Registration"], dict[int, "IntakeOutcome"]]  # registrations, rejects by index


@dataclass
class DrainReport:
    """One drain of the intake queue: leads handled, created now, refused, answers lost (looked up),
    still uncertain (looked up again next round)."""

    handled: int = 0
    created: int = 0
    failed: int = 0
    uncertain: int = 0
    unresolved: int = 0
    waiting: bool = False  # young leads wait for a fuller batch: drain again shortly


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
    """``status``: created (now), existing (created by an earlier run or request), queued (registered,
    the daemon's writer creates it), rejected (bad input: ``error`` says why, nothing written), failed
    (the CRM refused it: ``error`` in full for the import's rejects file, ``refusal`` the CRM's own
    reason for the surfaces that put their own words around it)."""

    submission: LeadSubmission
    status: str
    lead_crm_id: str | None = None
    conflict: bool = False
    owner_partner_id: str | None = None
    reason: str = ""
    error: str = ""
    registration_id: int | None = None
    refusal: str = ""

    @property
    def ok(self) -> bool:
        return self.status in ("created", "existing")

    @property
    def refused_because(self) -> str:
        """Why a failed lead failed, to follow "the CRM refused the lead: " in the reader's language:
        the CRM's reason, or (the CRM's answer lost) our own sentence."""
        return self.refusal or self.error


def content_key(*parts: object) -> str:
    """A stable hash of a lead's content (the idempotency key when the partner gives none)."""
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()[:32]


def _waves(submissions: Sequence[LeadSubmission], batch: int, most: int) -> list[Sequence[LeadSubmission]]:
    """``submissions`` cut into waves of 1, 2, 4, ... CRM batches, then ``most`` batches each: the first
    request leaves as soon as one batch is registered (while the CRM's burst allowance waits unused, the
    time to register a whole wave first was lost), and later waves are large enough that registering
    the next one hides behind the CRM's rate limit."""
    waves: list[Sequence[LeadSubmission]] = []
    start, batches = 0, 1
    while start < len(submissions):
        size = batch * min(batches, most)
        waves.append(submissions[start : start + size])
        start += size
        batches *= 2
    return waves


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
        self._writes = LeadWrites(adapter, self._repo, portal, checkpoint=checkpoint)
        self._partners: dict[str, Partner] = {}  # partners known by id (store or CRM)
        self._unknown: dict[str, datetime] = {}  # ids the CRM did not know as partners, until when
        self._lookup_lock = threading.Lock()  # one partner lookup in the CRM at a time
        self.wave_batches = WAVE_BATCHES
        self.uncertain_writes = 0  # writes of the last submit whose answer was lost (then looked up)
        self.unresolved = 0  # leads of the last submit still uncertain after every lookup

    def check_fields(self, values: Mapping[str, Any]) -> tuple[LeadFields | None, list[FieldProblem]]:
        """``check_lead_fields`` with this intake's rules (amount, default phone country code): what
        the CSV import, the API, the bot and the portal each call, so a lead is refused for the same
        reason whichever way it came."""
        return check_lead_fields(values, self.amount_rule, country_code=self.country_code)

    def submit(
        self,
        submissions: Sequence[LeadSubmission],
        *,
        now: datetime,
        progress: Callable[[int], None] | None = None,
    ) -> list[IntakeOutcome]:
        """Register and create ``submissions`` (in order: an earlier one wins a conflict with a later
        one). Per-lead problems come back as outcomes; a write whose answer is lost is looked up and
        finished in this call (``uncertain_writes`` counts them). A CRM outage that even lookups cannot
        get through raises ``CrmRetriableError``; what was registered so far is safe to resume by
        running again. ``progress`` is told how many submissions each finished wave handled."""
        self.uncertain_writes = 0
        self.unresolved = 0
        self._resolve_partners([s.partner_id for s in submissions], now)
        outcomes: list[IntakeOutcome] = []
        waves = _waves(submissions, capabilities_of(self._adapter).write_batch, self.wave_batches)
        # The next wave is registered (store only) while this one is with the CRM: the store's work
        # hides behind the CRM's rate limit instead of adding to it.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="intake-register") as pool:
            ahead: Future[Registered] | None = pool.submit(self._register, waves[0], now) if waves else None
            for index, subs in enumerate(waves):
                if ahead is None:
                    raise AssertionError("invariant broken: every wave is registered ahead")
                registered = ahead.result()
                ahead = pool.submit(self._register, waves[index + 1], now) if index + 1 < len(waves) else None
                batch = self._wave(subs, registered, now)
                outcomes.extend(batch)
                if progress is not None:
                    progress(len(batch))
        return outcomes

    def register(self, submissions: Sequence[LeadSubmission], *, now: datetime) -> list[IntakeOutcome]:
        """Validate and register ``submissions`` without writing to the CRM (the API's queue: the
        daemon's writer creates them). Outcomes: ``queued`` (or ``existing``/``failed`` for a repeated
        submission), ``rejected`` with the reason; ``registration_id`` says where to ask later."""
        self._resolve_partners([s.partner_id for s in submissions], now, widen=self._keyed_partners)
        stored = self._repo.registrations(self._portal, [s.external_id for s in submissions])
        known = set(stored)
        regs, results = self._register(submissions, now, stored=dict(stored))
        out: list[IntakeOutcome] = []
        for index, sub in enumerate(submissions):
            if index in results:
                out.append(results[index])
                continue
            reg = regs[index]
            if reg.status == "failed":
                status = "failed"
            else:
                status = "existing" if sub.external_id in known else "queued"
            out.append(self._outcome(sub, reg, status, error=reg.error or ""))
        return out

    def drain(
        self, *, now: datetime, source: str = "api", limit: int | None = None, linger: timedelta = LINGER
    ) -> DrainReport:
        """Create queued registrations from ``source`` in the CRM, a wave at a time, until the queue is
        empty (or ``limit`` leads were handled). Only full CRM batches go while the newest leads are
        younger than ``linger`` (a burst fills the batches; a lone lead waits at most ``linger``);
        ``DrainReport.waiting`` then says to call again shortly. The caller holds the store lock
        ``intake-writer:<portal>`` so that one process drains at a time."""
        report = DrainReport()
        batch = capabilities_of(self._adapter).write_batch
        wave = batch * self.wave_batches
        while limit is None or report.handled < limit:
            size = wave if limit is None else min(wave, limit - report.handled)
            regs = self._repo.queued(self._portal, source, size)
            full = len(regs) - len(regs) % batch
            if len(regs) > full and regs[full].registered_at > now - linger:
                regs = regs[:full]  # a part batch of young leads waits to fill up
                report.waiting = True
            if not regs:
                break
            self._resolve_partners([r.partner_id for r in regs], now)
            result = self._writes.write([(reg, self._draft_of(reg)) for reg in regs], now=now)
            for reg in regs:
                if reg.external_id in result.created:
                    self._tell_conflict(reg)
            report.handled += len(regs)
            report.created += sum(1 for _, made in result.created.values() if made)
            report.failed += len(result.failed)
            report.uncertain += result.uncertain
            if result.unresolved:
                report.unresolved += len(result.unresolved)
                break  # the CRM keeps losing answers: leave the rest for the next round
            if report.waiting:
                break
        return report

    def registration(self, registration_id: int) -> Registration | None:
        return self._repo.registration_by_id(self._portal, registration_id)

    def _wave(
        self, subs: Sequence[LeadSubmission], registered: Registered, now: datetime
    ) -> list[IntakeOutcome]:
        regs, results = registered
        items: list[tuple[Registration, LeadDraft]] = []
        for index, sub in enumerate(subs):
            if index in results:
                continue
            reg = regs[index]
            if reg.status == "created":
                results[index] = self._outcome(sub, reg, "existing")
                self._tell_conflict(reg)
                continue
            items.append((reg, self._draft(sub, reg)))
        written = self._writes.write(items, now=now) if items else WriteResult()
        self.uncertain_writes += written.uncertain
        self.unresolved += len(written.unresolved)
        for index, sub in enumerate(subs):
            if index in results:
                continue
            reg = regs[index]
            ext = sub.external_id
            if ext in written.created:
                crm_id, made = written.created[ext]
                results[index] = self._outcome(sub, reg, "created" if made else "existing", crm_id)
                self._tell_conflict(reg)
            elif ext in written.failed:
                why = written.failed[ext]
                results[index] = IntakeOutcome(
                    sub, "failed", error=f"CRM refused the lead: {why}", refusal=why
                )
            else:
                results[index] = IntakeOutcome(
                    sub, "failed", error="the CRM's answer was lost repeatedly; run the import again"
                )
        created = sum(1 for o in results.values() if o.status == "created")
        log.info("intake: %d lead(s), %d created", len(subs), created)
        return [results[i] for i in range(len(subs))]

    def _keyed_partners(self) -> list[str]:
        """Partners holding a live API key: those the intake API will hear from."""
        return [k.partner_id for k in self._repo.keys(self._portal) if k.revoked_at is None]

    def _register(
        self, subs: Sequence[LeadSubmission], now: datetime, *, stored: dict[str, Registration] | None = None
    ) -> Registered:
        """Registrations of ``subs`` by index (stored ones reused, new ones decided and stored in one
        transaction), and outcomes of the rejected ones by index. ``stored``: those already read."""
        rejected: dict[int, IntakeOutcome] = {}
        if stored is None:
            stored = self._repo.registrations(self._portal, [s.external_id for s in subs])
        new: list[Registration] = []
        for index, sub in enumerate(subs):
            if sub.external_id in stored:
                continue
            reg_or_error = self._new_registration(sub, now)
            if isinstance(reg_or_error, str):
                rejected[index] = IntakeOutcome(sub, "rejected", error=reg_or_error)
            else:
                new.append(reg_or_error)
        if new:
            decide = partial(self._decide, now=now)
            for reg in self._repo.register_many(self._portal, new, decide):
                stored[reg.external_id] = reg
        regs = {i: stored[s.external_id] for i, s in enumerate(subs) if i not in rejected}
        return regs, rejected

    def _new_registration(self, sub: LeadSubmission, now: datetime) -> Registration | str:
        if self._partner(sub.partner_id) is None:
            return f"partner_id {sub.partner_id}: no such partner in the CRM (a company with a partner type)"
        try:
            customer = normalise_identity(sub.fields.customer, self._policy.default_phone_country_code)
        except ValueError as exc:
            return str(exc)
        return Registration(
            external_id=sub.external_id,
            partner_id=sub.partner_id,
            customer_name=sub.fields.customer_name,
            email=customer.email,
            phone=customer.phone,
            tax_id=customer.tax_id,
            source=sub.source,
            status="pending",
            conflict=False,
            owner_partner_id=None,
            reason="",
            registered_at=now,
            progress_at=now,
            payload={"amount": format(sub.fields.amount, "f"), "comment": sub.fields.comment},
        )

    def _decide(self, reg: Registration, earlier: list[Registration], *, now: datetime) -> Registration:
        """The channel-conflict decision (domain: ``check_registration``) against the registrations of
        the same customer stored before it (refused ones do not count). Called under the customer's
        lock: what is stored was registered first, whatever clock its request read, so the new one is
        registered no earlier than any of them."""
        at = max([now, *(r.registered_at for r in earlier)])
        reg = replace(reg, registered_at=at, progress_at=at)
        existing = [_record(r) for r in earlier if r.status != "failed"]
        decision = check_registration(
            _record(reg),
            existing,
            self._policy.protection_window_days,
            self._policy.registration_expiry_days,
            at,
            locale=self._policy.locale,
        )
        return replace(
            reg,
            conflict=decision.conflict,
            owner_partner_id=decision.owner_partner_id,
            reason=decision.reason,
        )

    def _resolve_partners(
        self, partner_ids: Iterable[str], now: datetime, *, widen: Callable[[], Iterable[str]] | None = None
    ) -> None:
        """Know every partner of ``partner_ids``: from the cache, the store (synced), else one batched
        lookup in the CRM (saved to the store, so a fresh install needs no sync first). An id the CRM
        does not know as a partner is remembered as unknown for ``UNKNOWN_PARTNER_TTL``. ``widen``: more
        ids worth asking about in the same lookup when one is needed (the API: every partner holding a
        key, so a burst from 50 new partners costs one CRM request, not 50). Threads needing a lookup
        take turns: the second finds what the first looked up."""
        missing = self._missing_partners(partner_ids, now)
        if not missing or not isinstance(self._adapter, LeadIntakeWriter):
            return
        with self._lookup_lock:
            missing = self._missing_partners(missing, now)
            if not missing:
                return
            if widen is not None:
                more = [p for p in self._missing_partners(widen(), now) if p not in missing]
                missing += more[: max(0, WIDEN_LOOKUP - len(missing))]
            found = self._adapter.find_partners(missing)
            if found:
                self._store.save_page(self._portal, RecordPage(Entity.PARTNER, list(found.values()), None))
                self._partners.update(found)
            for pid in missing:
                if pid not in found:
                    self._unknown[pid] = now + UNKNOWN_PARTNER_TTL

    def _missing_partners(self, partner_ids: Iterable[str], now: datetime) -> list[str]:
        """Ids of ``partner_ids`` neither cached, nor in the store, nor recently unknown to the CRM."""
        missing: list[str] = []
        for pid in dict.fromkeys(partner_ids):
            if not pid or not pid.isdigit() or pid in self._partners:
                continue
            unknown_until = self._unknown.get(pid)
            if unknown_until is not None and unknown_until > now:
                continue
            stored = self._store.records.partner(self._portal, pid)
            if stored is not None:
                self._partners[pid] = stored
            else:
                missing.append(pid)
        return missing

    def _partner(self, partner_id: str) -> Partner | None:
        if not partner_id:
            return None
        if partner_id not in self._partners:
            stored = self._store.records.partner(self._portal, partner_id)
            if stored is None:
                return None
            self._partners[partner_id] = stored
        return self._partners[partner_id]

    def _draft_of(self, reg: Registration) -> LeadDraft:
        """The CRM draft of a queued registration (the lead's fields kept in its payload)."""
        payload = reg.payload or {}
        fields = LeadFields(
            customer_name=reg.customer_name,
            customer=CustomerIdentity(email=reg.email, phone=reg.phone, tax_id=reg.tax_id),
            amount=Decimal(str(payload.get("amount") or "0")),
            comment=str(payload.get("comment") or ""),
        )
        return self._draft(LeadSubmission(reg.external_id, reg.partner_id, fields, reg.source), reg)

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
        sub: LeadSubmission, reg: Registration, status: str, crm_id: str | None = None, error: str = ""
    ) -> IntakeOutcome:
        return IntakeOutcome(
            sub,
            status,
            crm_id or reg.lead_crm_id,
            reg.conflict,
            reg.owner_partner_id,
            reg.reason,
            error,
            reg.id,
        )

    def _tell_conflict(self, reg: Registration) -> None:
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
