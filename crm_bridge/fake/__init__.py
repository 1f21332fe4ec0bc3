"""A strict in-memory CRM implementing every port of ``crm_bridge.ports``, for tests and demos.

It behaves like a careful CRM: unknown stages, partners, users, fields and enum options are refused
(``CrmValidationError``, or a failed ``WriteOutcome`` inside a batch); creates are idempotent by
external id; listings page by (modified_at, id) with cursors; a new funnel comes with the CRM's own
won/lost stages. Failures (rate limit, transient, before or after the write) are injected through
``fake.failures``; ``fake.calls`` counts calls per method; time comes from an injected clock.

    fake = FakeCRM(clock=FakeClock())
    fake.add_user("7", "Ирина Ковалёва")
    partner = fake.seed_partner("ООО Ромашка")
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import TypeVar

from crm_bridge.capabilities import Capabilities
from crm_bridge.domain.layout import ObservedLayout, ProvisionPlan
from crm_bridge.domain.model import CustomerIdentity, Deal, Lead, Partner, PartnerType
from crm_bridge.errors import CrmRetriableError, CrmValidationError, NotFound
from crm_bridge.fake import layout, records
from crm_bridge.fake.failures import FailureInjector
from crm_bridge.fake.state import LEAD_FUNNEL, FakeClock, FakeState
from crm_bridge.ports import (
    ALL_CAPABILITIES,
    CrmUser,
    DealDraft,
    Entity,
    HealthCheck,
    LeadDraft,
    NotificationDraft,
    PartnerUpdate,
    RecordPage,
    RecordUpdate,
    SyncCursor,
    TaskDraft,
    WriteOutcome,
)

Item = TypeVar("Item")

__all__ = ["FakeCRM", "FakeClock", "LEAD_FUNNEL"]


class FakeCRM:
    """The in-memory CRM. ``state`` is open for assertions; ``failures`` injects errors."""

    name = "fake"
    port_capabilities = ALL_CAPABILITIES  # the reference: every adapter is held to these (tests/contract)

    def __init__(
        self,
        *,
        clock: Callable[[], datetime] | None = None,
        page_size: int = 50,
        users: Sequence[CrmUser] = (),
        capabilities: Capabilities = Capabilities(),
    ) -> None:
        if page_size < 1:
            raise ValueError("page_size must be positive")
        self.clock = clock or (lambda: datetime.now(UTC))
        self.page_size = page_size
        self.capabilities = capabilities  # ports.CrmAdapter: the services' write batch size
        self.state = FakeState()
        self.failures = FailureInjector()
        self.closed = False
        for user in users:
            self.state.users[user.crm_id] = user

    @property
    def calls(self) -> Counter[str]:
        """Calls per port method, including failed ones."""
        return self.failures.calls

    def _call(self, method: str, work: Callable[[], Item]) -> Item:
        rule = self.failures.enter(method)
        if rule is not None and rule.when == "before":
            raise self.failures.error(rule, method)
        result = work()
        if rule is not None:  # the CRM did the work; the answer is lost on the way back
            raise self.failures.error(rule, method)
        return result

    def _batch(
        self, method: str, items: Sequence[Item], one: Callable[[Item], WriteOutcome]
    ) -> list[WriteOutcome]:
        def run() -> list[WriteOutcome]:
            outcomes = []
            for item in items:
                try:
                    outcomes.append(one(item))
                except (CrmValidationError, NotFound) as exc:
                    key = str(getattr(item, "external_id", None) or getattr(item, "crm_id", ""))
                    outcomes.append(WriteOutcome(key, None, error=exc.message))
            return outcomes

        return self._call(method, run)

    # FunnelAdmin
    def observe_layout(self) -> ObservedLayout:
        return self._call("observe_layout", lambda: layout.observe(self.state))

    def apply_plan(self, plan: ProvisionPlan) -> ObservedLayout:
        def run() -> ObservedLayout:
            layout.apply(self.state, plan)
            return layout.observe(self.state)

        return self._call("apply_plan", run)

    # RecordSource
    def changed_since(self, entity: Entity, cursor: SyncCursor | None) -> Iterator[RecordPage]:
        total: int | None = None
        while True:
            fetch = partial(records.page_after, self.state, entity, cursor, self.page_size, total)
            page, more = self._call("changed_since", fetch)
            if page is None:
                return
            yield page
            if not more:
                return
            cursor, total = page.cursor, page.total

    # RecordWriter
    def create_leads(self, drafts: Sequence[LeadDraft]) -> list[WriteOutcome]:
        return self._batch("create_leads", drafts, lambda d: records.create_lead(self.state, d, self.clock()))

    # LeadIntakeWriter
    def send_leads(self, drafts: Sequence[LeadDraft]) -> list[WriteOutcome]:
        """No lookup first: a draft whose external id exists already is refused (strict), so a caller
        resending a lead it should have looked up is caught. One call (one "request") per
        ``capabilities.write_batch`` drafts, as an adapter packs them; a failed call (injected: before
        or after the write) makes every draft of it uncertain, as an adapter's lost answer does."""
        size = max(1, self.capabilities.write_batch)
        out: list[WriteOutcome] = []
        for start in range(0, len(drafts), size):
            part = drafts[start : start + size]
            try:
                out += self._batch(
                    "send_leads", part, lambda d: records.send_lead(self.state, d, self.clock())
                )
            except CrmRetriableError as exc:
                out += [WriteOutcome(d.external_id, None, error=exc.message, uncertain=True) for d in part]
        return out

    def find_leads(self, external_ids: Sequence[str]) -> dict[str, str]:
        def run() -> dict[str, str]:
            found = (self.state.by_external_id(Entity.LEAD, ext) for ext in dict.fromkeys(external_ids))
            return {lead.external_id: lead.crm_id for lead in found if lead is not None and lead.external_id}

        return self._call("find_leads", run)

    def find_partners(self, crm_ids: Sequence[str]) -> dict[str, Partner]:
        def run() -> dict[str, Partner]:
            found = (self.state.partners.get(i) for i in dict.fromkeys(crm_ids))
            return {p.crm_id: p for p in found if p is not None}

        return self._call("find_partners", run)

    def create_deals(self, drafts: Sequence[DealDraft]) -> list[WriteOutcome]:
        return self._batch("create_deals", drafts, lambda d: records.create_deal(self.state, d, self.clock()))

    def update_records(self, updates: Sequence[RecordUpdate]) -> list[WriteOutcome]:
        return self._batch(
            "update_records", updates, lambda u: records.update_record(self.state, u, self.clock())
        )

    # TaskSink
    def create_tasks(self, drafts: Sequence[TaskDraft]) -> list[WriteOutcome]:
        return self._batch("create_tasks", drafts, lambda d: records.create_task(self.state, d, self.clock()))

    # NotificationSink
    def send_notifications(self, drafts: Sequence[NotificationDraft]) -> list[WriteOutcome]:
        def one(draft: NotificationDraft) -> WriteOutcome:
            return records.send_notification(self.state, draft, self.clock())

        return self._batch("send_notifications", drafts, one)

    # PartnerFieldWriter
    def update_partners(self, updates: Sequence[PartnerUpdate]) -> list[WriteOutcome]:
        return self._batch(
            "update_partners", updates, lambda u: records.update_partner(self.state, u, self.clock())
        )

    # UserDirectory
    def list_users(self) -> list[CrmUser]:
        return self._call("list_users", lambda: list(self.state.users.values()))

    # Diagnostics
    def check(self) -> list[HealthCheck]:
        def run() -> list[HealthCheck]:
            ours = [f.key for f in self.state.funnels.values() if f.key]
            detail = ", ".join(sorted(ours)) if ours else "none provisioned"
            return [
                HealthCheck("connection", True, "in-memory FakeCRM"),
                HealthCheck("users", bool(self.state.users), f"{len(self.state.users)} user(s)"),
                HealthCheck("funnels", bool(ours), detail),
            ]

        return self._call("check", run)

    def close(self) -> None:
        self.closed = True

    # Test set-up: what people do in the CRM by hand (not part of the ports, not counted).
    def add_user(self, crm_id: str, name: str, email: str = "", *, active: bool = True) -> CrmUser:
        user = CrmUser(crm_id=crm_id, name=name, email=email, active=active)
        self.state.users[crm_id] = user
        return user

    def seed_partner(
        self,
        name: str,
        *,
        type: PartnerType | None = None,  # noqa: A002 - the domain's field name
        tier: str | None = None,
        curator_key: str | None = None,
        region: str = "",
        qualification: dict[str, int] | None = None,
        prospect: bool = False,
    ) -> Partner:
        """A partner company made by hand; ``prospect``: not a partner yet (no "partner since")."""
        now = self.clock()
        partner = Partner(
            crm_id=self.state.new_id(),
            name=name,
            type=type,
            tier=tier,
            curator_key=curator_key,
            region=region,
            qualification=dict(qualification or {}),
            partner_since=None if prospect else now,
            modified_at=now,
        )
        self.state.partners[partner.crm_id] = partner
        return partner

    def seed_lead(
        self,
        partner_id: str | None,
        title: str,
        *,
        stage: str | None = None,
        amount: Decimal = Decimal("0"),
        customer: CustomerIdentity = CustomerIdentity(),
        external_id: str | None = None,
        manager_user_id: str | None = None,
    ) -> Lead:
        """A lead made in the CRM by hand (no external id unless given). Refuses an unknown stage,
        partner or user, and an external id that another lead already has."""
        return records.insert_lead(
            self.state,
            partner_id=partner_id,
            title=title,
            stage=stage,
            now=self.clock(),
            amount=amount,
            customer=customer,
            external_id=external_id,
            manager_user_id=manager_user_id,
        )

    def seed_deal(
        self,
        partner_id: str | None,
        title: str,
        *,
        funnel: str,
        stage: str | None = None,
        amount: Decimal = Decimal("0"),
    ) -> Deal:
        """A deal made in the CRM by hand in ``funnel`` (not the lead funnel)."""
        draft = DealDraft(f"hand-{self.state.new_id()}", funnel, title, partner_id, stage, amount)
        outcome = records.create_deal(self.state, draft, self.clock())
        if outcome.crm_id is None:
            raise CrmValidationError(outcome.error or "deal not created", crm="fake", entity="deal")
        deal = replace(self.state.deals[outcome.crm_id], external_id=None)
        self.state.deals[deal.crm_id] = deal
        return deal

    def lead_funnel_stages(self) -> list[str]:
        funnel = self.state.funnel(LEAD_FUNNEL)
        return [s.key for s in sorted(funnel.stages, key=lambda s: s.sort) if s.key] if funnel else []
