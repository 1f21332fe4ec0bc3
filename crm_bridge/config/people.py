"""Config sections about people and lead routing: ``managers``, ``curators`` and ``distribution``."""

from typing import Literal

from pydantic import Field, model_validator

from crm_bridge.config.common import Key, NonEmpty, Strict, TimeZoneName, WorkingHours
from crm_bridge.config.crm import validated_default
from crm_bridge.domain.distribution import FallbackName, StrategyName
from crm_bridge.domain.model import Curator, Manager, PartnerType


class ManagerConfig(Strict):
    """A sales manager who receives partner leads as CRM tasks."""

    key: Key
    name: NonEmpty
    crm_user_id: NonEmpty
    email: str = ""
    telegram_chat_id: str = ""
    weight: int = Field(default=1, ge=1, le=1000)
    regions: list[NonEmpty] = []
    specialisations: list[NonEmpty] = []
    capacity: int | None = Field(default=None, ge=1)
    timezone: TimeZoneName | None = None  # default: the top-level timezone
    working_hours: WorkingHours | None = None  # default: distribution.working_hours
    active: bool = True

    def to_domain(self, default_timezone: str) -> Manager:
        return Manager(
            key=self.key,
            name=self.name,
            crm_user_id=self.crm_user_id,
            weight=self.weight,
            regions=frozenset(self.regions),
            specialisations=frozenset(self.specialisations),
            capacity=self.capacity,
            timezone=self.timezone or default_timezone,
            active=self.active,
        )


class PersonConfig(Strict):
    """The head of partner sales (МОПП): receives escalations and approves tier downgrades."""

    name: NonEmpty
    crm_user_id: NonEmpty
    email: str = ""
    telegram_chat_id: str = ""


class CuratorConfig(Strict):
    """A curator owns a set of partners and is told about their events."""

    key: Key
    name: NonEmpty
    crm_user_id: NonEmpty
    email: str = ""
    telegram_chat_id: str = ""
    timezone: TimeZoneName | None = None
    regions: list[NonEmpty] = []  # onboarding.curator_rule: region
    partner_types: list[PartnerType] = []  # onboarding.curator_rule: partner_type

    def to_domain(self) -> Curator:
        return Curator(
            key=self.key,
            name=self.name,
            crm_user_id=self.crm_user_id,
            email=self.email,
            telegram_chat_id=self.telegram_chat_id,
            regions=frozenset(self.regions),
            partner_types=frozenset(t.value for t in self.partner_types),
        )


class RuleMatch(Strict):
    """Conditions of a routing rule; all given conditions must hold, an empty list means any."""

    regions: list[NonEmpty] = []
    specialisations: list[NonEmpty] = []
    partner_types: list[PartnerType] = []
    partners: list[NonEmpty] = []  # partner CRM ids


class DistributionRule(Strict):
    """Route matching leads to one manager, or among several by ``strategy``."""

    name: str = ""
    when: RuleMatch = validated_default()
    manager: Key | None = None
    managers: list[Key] = []
    strategy: StrategyName | None = None  # among ``managers``; default: distribution.strategy

    @model_validator(mode="after")
    def _target(self) -> "DistributionRule":
        if (self.manager is None) == (not self.managers):
            raise ValueError("give exactly one of manager: (one key) or managers: (a list of keys)")
        return self

    def manager_keys(self) -> list[str]:
        return [self.manager] if self.manager else list(self.managers)


class EscalationConfig(Strict):
    """What happens when a lead is still untouched when its SLA runs out."""

    enabled: bool = True
    after_hours: float = Field(default=0.0, ge=0)  # extra working hours after the SLA before escalating
    to: Literal["curator", "head"] = "curator"


class DistributionConfig(Strict):
    """How new partner leads get a responsible manager and a task with a deadline."""

    strategy: StrategyName = "weighted"
    fallback: FallbackName = "least_loaded"  # when a rule or territory finds nobody available
    sticky_per_partner: bool = False  # keep a partner's leads with the same manager while possible
    sla_hours: float = Field(default=4.0, gt=0, le=24 * 30)  # working hours to the first touch
    working_hours: WorkingHours = validated_default()
    task_title: NonEmpty = "{partner}: {lead}"  # placeholders: {partner}, {lead}, {customer}
    escalation: EscalationConfig = validated_default()
    rules: list[DistributionRule] = []
