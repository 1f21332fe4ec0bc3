"""The CRM ports: small Protocols, one per capability, that every CRM adapter implements.

Services depend on these, never on a concrete adapter. Records cross the port as domain objects
(``crm_bridge.domain.model``) and small drafts defined here; funnels, stages and fields are named
by their domain keys (``leads``, ``qualification``, ``tier``) and each adapter translates them to
the CRM's ids and codes (kept in the state store through ``KeyValueState``).

Errors: every method raises only ``crm_bridge.errors`` types — ``AuthError``/``PermissionDenied``
(fatal), ``CrmValidationError``/``NotFound`` (fatal for that call), ``RateLimited``/``TransientError``
once the HTTP layer's retries are exhausted. Per-record failures of batched writes are returned in
``WriteOutcome.error`` instead of raised, so one bad record never fails its neighbours.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from crm_bridge.budgets import Bucket as Bucket  # re-exported: the budget ports live beside
from crm_bridge.budgets import BucketStore as BucketStore
from crm_bridge.budgets import SpendLedger as SpendLedger
from crm_bridge.capabilities import Capabilities
from crm_bridge.domain.layout import ObservedLayout, ProvisionPlan
from crm_bridge.domain.model import CustomerIdentity, Deal, Lead, Partner


class Entity(StrEnum):
    """What a record source lists."""

    PARTNER = "partner"
    LEAD = "lead"
    DEAL = "deal"


@dataclass(frozen=True, slots=True)
class SyncCursor:
    """Where an incremental listing stopped: last modification time seen, with the CRM id as the
    tie-break for records modified in the same second. ``None`` cursor = backfill from the start.

    ``resume`` set = a backfill that stopped midway (crash, shutdown): the adapter's own position to go
    on from (opaque to the core); ``modified_at`` is then the cursor the finished backfill will leave
    (just before it began), so nothing changed meanwhile is missed."""

    modified_at: datetime
    last_id: str = ""
    resume: str = ""


@dataclass(frozen=True, slots=True)
class RecordPage:
    """One page of changed records and the cursor to store once the page is saved."""

    entity: Entity
    records: Sequence[Partner | Lead | Deal]
    cursor: SyncCursor | None
    total: int | None = None  # the CRM's total for the listing when it tells us (progress bars)


@dataclass(frozen=True, slots=True)
class RecordRef:
    """A CRM record a task or notification is bound to."""

    entity: Entity
    crm_id: str


@dataclass(frozen=True, slots=True)
class LeadDraft:
    """A partner lead to create. ``external_id`` is the idempotency key: creating a draft whose
    external id already exists in the CRM returns the existing record (``created=False``)."""

    external_id: str
    partner_id: str
    title: str
    customer_name: str = ""
    customer: CustomerIdentity = CustomerIdentity()
    amount: Decimal = Decimal("0")
    currency: str = ""
    comment: str = ""
    stage: str | None = None  # stage key in the lead funnel; None = first stage
    manager_user_id: str | None = None
    conflict: bool = False


@dataclass(frozen=True, slots=True)
class DealDraft:
    """A deal/card to create in one of our funnels (e.g. the partner's card in the tier-upgrade funnel)."""

    external_id: str
    funnel: str  # funnel key
    title: str
    partner_id: str | None = None
    stage: str | None = None
    amount: Decimal = Decimal("0")
    currency: str = ""
    responsible_user_id: str | None = None


@dataclass(frozen=True, slots=True)
class RecordUpdate:
    """Change some fields of an existing lead or deal: stage key, responsible user, amount…"""

    entity: Entity
    crm_id: str
    stage: str | None = None
    funnel: str | None = None
    responsible_user_id: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)  # domain field key -> value


@dataclass(frozen=True, slots=True)
class PartnerUpdate:
    """Change partner (company) fields by domain key: ``tier``, ``partner_type``, ``curator``…"""

    crm_id: str
    fields: dict[str, Any]


@dataclass(frozen=True, slots=True)
class TaskDraft:
    external_id: str
    title: str
    description: str
    responsible_user_id: str
    deadline: datetime
    bound_to: RecordRef | None = None


@dataclass(frozen=True, slots=True)
class NotificationDraft:
    external_id: str
    user_id: str
    message: str


@dataclass(frozen=True, slots=True)
class WriteOutcome:
    """Result of one item of a batched write, in the order of the input."""

    external_id: str
    crm_id: str | None
    created: bool = False
    error: str | None = None  # non-secret reason when this item failed
    # The request carrying this item was sent but its answer was lost (timeout, reset, 5xx): the CRM
    # may or may not have done the write. Look it up by external id before writing it again.
    uncertain: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True)
class CrmEvent:
    """A CRM's note that a record changed: a hint only — the worker re-reads the record through the
    API before acting. ``entity`` None: a record crm-bridge does not sync (kept for counting only).
    ``dedup_key``: the CRM's event id where it has one, else a digest of the event (a redelivery
    of the same event is stored once). ``source``: ``webhook`` (pushed to us) or ``offline`` (pulled)."""

    kind: str
    entity: Entity | None
    crm_id: str
    dedup_key: str
    source: str = "webhook"


@dataclass(frozen=True, slots=True)
class InboundRequest:
    """An HTTP request a CRM sent to the event receiver, as received: ``url`` is the public URL the
    CRM posted to (what it signed), ``headers`` have lower-case names, ``body`` is the raw bytes."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    received_at: datetime


@dataclass(frozen=True, slots=True)
class CrmUser:
    crm_id: str
    name: str
    email: str = ""
    active: bool = True


@dataclass(frozen=True, slots=True)
class HealthCheck:
    """One line of ``crm-bridge doctor``. ``provisionable``: a failure ``crm-bridge provision`` fixes
    (a funnel, stage or field not created yet), which ``doctor --before-provision`` does not count.
    ``warning``: a passed check with something to look at (shown, not counted as a failure)."""

    name: str
    ok: bool
    detail: str = ""
    provisionable: bool = False
    warning: bool = False


class Capability(StrEnum):
    """What the services rely on beyond the ports' plain reads and writes. An adapter declares the ones
    its CRM can give in ``port_capabilities``; the contract suite (tests/contract) holds every adapter to
    what the FakeCRM declares, and the services say so (doctor, a warning) where one is missing."""

    STAGE_RECORD_COUNTS = "stage_record_counts"  # ObservedStage.record_count of stages prune may delete
    FIRST_TOUCH = "first_touch"  # Lead.first_touch_at (escalation, time-to-first-touch KPI)
    FURTHEST_STAGE = "furthest_stage"  # Lead.furthest_stage (a lead lost after qualification)
    USER_DIRECTORY = "user_directory"  # UserDirectory.list_users (doctor checks managers against it)


ALL_CAPABILITIES: frozenset[Capability] = frozenset(Capability)

CAPABILITY_IMPACT: dict[Capability, str] = {
    Capability.STAGE_RECORD_COUNTS: "provision --prune keeps every removed stage (cannot tell it is empty)",
    Capability.FIRST_TOUCH: "escalation sees only stage moves; the time-to-first-touch KPI stays empty",
    Capability.FURTHEST_STAGE: "a lost lead counts only at its first stage (funnel conversion, tiers)",
    Capability.USER_DIRECTORY: "managers and curators are not checked against the CRM's users",
}


def port_capabilities_of(adapter: object) -> frozenset[Capability]:
    """The port capabilities ``adapter`` declares in ``port_capabilities`` (none when it declares nothing)."""
    return frozenset(getattr(adapter, "port_capabilities", frozenset()))


@runtime_checkable
class FunnelAdmin(Protocol):
    def observe_layout(self) -> ObservedLayout:
        """Read the CRM's funnels, stages (with record counts where cheap) and custom fields."""
        ...

    def apply_plan(self, plan: ProvisionPlan) -> ObservedLayout:
        """Execute the write items of ``plan`` and return the layout as it now stands.
        Safe to re-run after a failure midway: the next plan only holds what is still missing."""
        ...


@runtime_checkable
class RecordSource(Protocol):
    def changed_since(self, entity: Entity, cursor: SyncCursor | None) -> Iterator[RecordPage]:
        """Lazily yield pages of records of ``entity`` modified after ``cursor`` (all when None),
        in (modified_at, id) order; each page carries the cursor to persist after storing it."""
        ...


@runtime_checkable
class RecordWriter(Protocol):
    def create_leads(self, drafts: Sequence[LeadDraft]) -> list[WriteOutcome]:
        """Create partner leads idempotently by ``external_id`` (look up, then create the missing)."""
        ...

    def create_deals(self, drafts: Sequence[DealDraft]) -> list[WriteOutcome]:
        """Create deals/cards idempotently by ``external_id``."""
        ...

    def update_records(self, updates: Sequence[RecordUpdate]) -> list[WriteOutcome]:
        """Apply updates; ``WriteOutcome.external_id`` carries the record's crm id."""
        ...


@runtime_checkable
class LeadIntakeWriter(Protocol):
    """The partner-lead intake's write path: creates at the CRM's full batch size without a lookup
    first, lookups only where an earlier write is uncertain, and partners looked up by id. The caller
    (``services.intake.service``) keeps, in the state store, which drafts were ever sent."""

    def send_leads(self, drafts: Sequence[LeadDraft]) -> list[WriteOutcome]:
        """Create leads never sent to the CRM before, without looking them up first, packed in the
        CRM's largest batches. One outcome per draft, in order. A request whose answer was lost after
        it was sent (timeout, connection reset, 5xx) gives each of its drafts ``uncertain=True`` and
        does not raise; refusals come back as ``error``. Raises only when nothing can go on (auth,
        the layout missing)."""
        ...

    def find_leads(self, external_ids: Sequence[str]) -> dict[str, str]:
        """External id -> CRM id of the leads crm-bridge created with these ids (the oldest when a
        duplicate slipped in), packed as the CRM allows. Raises CrmRetriableError when the CRM cannot
        answer."""
        ...

    def find_partners(self, crm_ids: Sequence[str]) -> dict[str, Partner]:
        """Those of ``crm_ids`` that are partners in the CRM (a company carrying the partner type),
        read in batches; ids that are no company or no partner are absent."""
        ...


@runtime_checkable
class TaskSink(Protocol):
    def create_tasks(self, drafts: Sequence[TaskDraft]) -> list[WriteOutcome]:
        """Create tasks for CRM users, bound to a record, idempotently by ``external_id``."""
        ...


@runtime_checkable
class NotificationSink(Protocol):
    def send_notifications(self, drafts: Sequence[NotificationDraft]) -> list[WriteOutcome]:
        """CRM-native notifications to users (Bitrix24's bell, a HubSpot/amoCRM equivalent, …), one
        outcome per draft in order; ``external_id`` keys the message so a resend can be recognised
        where the CRM allows it (the outbox never sends a delivered key twice)."""
        ...


@runtime_checkable
class PartnerFieldWriter(Protocol):
    def update_partners(self, updates: Sequence[PartnerUpdate]) -> list[WriteOutcome]:
        """Write partner fields (tier…) by domain key; enum values are option keys (``gold``)."""
        ...


@runtime_checkable
class EventReceiver(Protocol):
    """An adapter whose CRM pushes change events to crm-bridge's receiver (``POST /v1/events/<token>``)."""

    def receive_events(self, request: InboundRequest) -> list[CrmEvent]:
        """Authenticate ``request`` as the CRM's (signature, token, account) and parse its events.
        Makes no CRM call unless it must learn who the account is once. Raises
        ``errors.EventRefused`` naming the status and reason of a request to refuse."""
        ...


@runtime_checkable
class EventSubscriber(Protocol):
    """An adapter that subscribes to its CRM's events by API (done by ``crm-bridge provision``)."""

    def subscribe_events(self, url: str | None) -> str:
        """Subscribe (idempotent): pushes go to ``url`` (None: no public receiver URL; a CRM that only
        pushes then stays on polling). Returns one line saying what is subscribed, or why nothing."""
        ...


@runtime_checkable
class EventPuller(Protocol):
    """An adapter whose CRM keeps events for crm-bridge to fetch (no public endpoint needed)."""

    def pull_events(self, store: Callable[[list[CrmEvent]], None], limit: int = 50) -> int:
        """Fetch up to ``limit`` queued events, hand them to ``store`` (which commits them), then tell
        the CRM they are consumed; returns how many were fetched. A crash before the CRM is told
        means the same events come again (stored once by their ``dedup_key``)."""
        ...


@runtime_checkable
class UserDirectory(Protocol):
    def list_users(self) -> list[CrmUser]:
        """The CRM's users (employees; no bots), deactivated ones included with ``active`` False:
        the head, managers and curators are configured by these ids, and ``doctor`` checks them."""
        ...


@runtime_checkable
class Diagnostics(Protocol):
    def check(self) -> list[HealthCheck]:
        """Connection, credentials and scopes/permissions, one line each (for ``crm-bridge doctor``)."""
        ...


class CrmAdapter(
    FunnelAdmin,
    RecordSource,
    RecordWriter,
    LeadIntakeWriter,
    TaskSink,
    NotificationSink,
    PartnerFieldWriter,
    UserDirectory,
    Diagnostics,
    Protocol,
):
    """Everything a full adapter offers. ``name`` is the CRM kind (``bitrix24``); ``capabilities`` what
    the CRM lets the services do at once (its ``AdapterSpec``'s, as a rule)."""

    name: str
    capabilities: Capabilities

    def close(self) -> None: ...


def capabilities_of(adapter: object) -> Capabilities:
    """The capabilities an adapter declares; the defaults for one that declares none (a partial
    adapter implementing only some ports, as in tests)."""
    found = getattr(adapter, "capabilities", None)
    return found if isinstance(found, Capabilities) else Capabilities()


class KeyValueState(Protocol):
    """A small persistent JSON key-value namespace the state store gives each adapter (layout ids,
    OAuth token pairs, discovered field codes). ``set`` is durable when it returns."""

    def get(self, key: str) -> Any | None: ...

    def set(self, key: str, value: Any) -> None: ...


class LockProvider(Protocol):
    """Named cross-process locks (single-flight OAuth refresh). Implemented by ``crm_bridge.store``."""

    def lock(self, name: str, timeout: float = 30.0) -> AbstractContextManager[None]: ...


@dataclass(frozen=True)
class AdapterContext:
    """What the composition root hands an adapter factory besides the config.

    ``kv`` is namespaced per CRM portal. ``bucket``/``ledger``/``locks`` are None in tests that need no
    cross-process sharing (the HTTP layer then keeps its budgets in memory). ``clock`` returns Unix
    time and ``sleep`` waits; both are injected so throttling is tested without real time."""

    kv: KeyValueState
    bucket: BucketStore | None = None
    ledger: SpendLedger | None = None
    locks: LockProvider | None = None
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    on_request: Callable[[str, str, int], None] | None = None  # (crm, method/endpoint, status) for metrics
    # (crm, requests left today, the daily limit, why scheduled work is paused or "") for metrics: told
    # by an adapter whose CRM reports a daily quota, on every answer that reports it
    on_quota: Callable[[str, int, int, str], None] | None = None
