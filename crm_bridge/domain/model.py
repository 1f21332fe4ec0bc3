"""Domain records: partners, curators, managers, partner leads and deals (SPEC §2)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum


class PartnerType(StrEnum):
    """Partner types of the handbook's chapter "Партнёрские продажи"."""

    DISTRIBUTOR = "distributor"  # дистрибьютор
    RESELLER = "reseller"  # реселлер
    INTEGRATOR = "integrator"  # интегратор
    REFERRAL = "referral"  # реферальный агент


class StageKind(StrEnum):
    """Semantics of a funnel stage: in progress, the won terminal stage, a lost terminal stage."""

    OPEN = "open"
    WON = "won"
    LOST = "lost"


class FunnelKey(StrEnum):
    """The four partner-sales funnels of SPEC §2 (7.0.1 §3)."""

    ACQUISITION = "acquisition"  # Воронка привлечения партнёров
    LEADS = "leads"  # Воронка обработки лидов
    TIER_UPGRADE = "tier_upgrade"  # Воронка повышения уровня партнёрства
    REPEAT = "repeat"  # Воронка повторных сделок


QUALIFICATION_CRITERIA: tuple[str, ...] = (
    "values_fit",  # общие ценности и цели
    "audience_overlap",  # пересечение целевой аудитории
    "reputation",  # репутация и компетенции
    "track_record",  # успешный опыт (кейсы)
    "scalability",  # способность масштабироваться
)


# The parts of a customer's identity, each compared on its own: two registrations are of the same
# customer when any one of these is equal and not empty (``domain.registration.same_customer``).
IDENTITY_KINDS: tuple[str, ...] = ("email", "phone", "tax_id")


@dataclass(frozen=True, slots=True)
class CustomerIdentity:
    """Who the end customer of a partner lead is; any of the three may be empty."""

    email: str = ""
    phone: str = ""
    tax_id: str = ""  # ИНН

    def is_empty(self) -> bool:
        return not (self.email or self.phone or self.tax_id)

    def keys(self) -> tuple[tuple[str, str], ...]:
        """The non-empty parts as ``(kind, value)`` pairs, in ``IDENTITY_KINDS`` order: what a store
        indexes and locks to find registrations of the same customer."""
        return tuple((kind, value) for kind in IDENTITY_KINDS if (value := getattr(self, kind)))


@dataclass(frozen=True, slots=True)
class Curator:
    """A curator (Куратор) owns a set of partners; ``crm_user_id`` is the CRM user."""

    key: str
    name: str
    crm_user_id: str
    email: str = ""
    telegram_chat_id: str = ""
    regions: frozenset[str] = frozenset()  # the regions it covers (onboarding's curator rule)
    partner_types: frozenset[str] = frozenset()  # the partner types it covers


@dataclass(frozen=True, slots=True)
class Manager:
    """A sales manager (Менеджер по партнёрским продажам) who receives partner leads as tasks."""

    key: str
    name: str
    crm_user_id: str
    weight: int = 1
    regions: frozenset[str] = frozenset()
    specialisations: frozenset[str] = frozenset()
    capacity: int | None = None  # max open leads at once; None = unlimited
    timezone: str = "UTC"
    active: bool = True


@dataclass(frozen=True, slots=True)
class Partner:
    """A partner company in the CRM. ``crm_id`` is the company's id in the CRM."""

    crm_id: str
    name: str
    type: PartnerType | None = None
    tier: str | None = None
    curator_key: str | None = None
    acquisition_stage: str | None = None  # stage key in the acquisition funnel
    region: str = ""
    competencies: frozenset[str] = frozenset()
    qualification: dict[str, int] = field(default_factory=dict)  # criterion -> 0..5
    partner_since: datetime | None = None
    training_completed: bool = False
    modified_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Lead:
    """A partner lead: a record in the lead-processing funnel carrying the partner reference.

    ``external_id`` is crm-bridge's idempotency key for leads it created (None for leads made in the
    CRM by hand). ``stage`` is the stage key in the lead funnel; ``stage_kind`` its semantics.
    """

    crm_id: str
    partner_id: str | None
    title: str
    stage: str
    stage_kind: StageKind
    created_at: datetime
    customer: CustomerIdentity = CustomerIdentity()
    customer_name: str = ""
    amount: Decimal = Decimal("0")
    currency: str = ""
    manager_user_id: str | None = None
    external_id: str | None = None
    region: str = ""
    specialisation: str = ""
    first_touch_at: datetime | None = None
    closed_at: datetime | None = None
    modified_at: datetime | None = None
    conflict: bool = False  # channel conflict flag (deal registration)
    furthest_stage: str | None = None  # furthest open stage ever reached, when the CRM's history tells


@dataclass(frozen=True, slots=True)
class Deal:
    """A partner deal outside the lead funnel (e.g. the repeat-deals funnel)."""

    crm_id: str
    partner_id: str | None
    title: str
    funnel: str  # funnel key
    stage: str
    stage_kind: StageKind
    amount: Decimal
    created_at: datetime
    currency: str = ""
    closed_at: datetime | None = None
    repeat: bool = False
    external_id: str | None = None
    modified_at: datetime | None = None
