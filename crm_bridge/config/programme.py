"""Config sections of the partner programme itself: ``tiers``, ``rewards`` and ``goals``."""

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from crm_bridge.config.common import Color, Key, Name, Strict
from crm_bridge.config.crm import validated_default

Money = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=2)]
Percent = Annotated[Decimal, Field(ge=0, le=100)]
Count = Annotated[int, Field(ge=0)]

THRESHOLD_KEYS: tuple[str, ...] = (
    "min_revenue",
    "min_won_deals",
    "min_leads",
    "min_qualified_leads",
    "min_conversion",
    "min_certified_people",
)


class TierLevel(Strict):
    """One tier. A partner reaches it when every threshold given is met over ``tiers.window_days``."""

    key: Key
    name: Name
    color: Color | None = None
    min_revenue: Money | None = None
    min_won_deals: Count | None = None
    min_leads: Count | None = None
    min_qualified_leads: Count | None = None
    min_conversion: Percent | None = None  # won / submitted leads, percent
    min_certified_people: Count | None = None  # people holding a valid certificate (``training``)

    def thresholds(self) -> dict[str, Decimal]:
        return {k: Decimal(v) for k in THRESHOLD_KEYS if (v := getattr(self, k)) is not None}


class HysteresisConfig(Strict):
    """When a partner drops a tier: below its tier's threshold by ``margin_percent``, or for
    ``consecutive`` evaluations in a row (``mode`` says which of the two, or both, is required)."""

    margin_percent: Percent = Decimal(10)
    consecutive: int = Field(default=2, ge=1, le=100)
    mode: Literal["either", "both", "margin", "consecutive"] = "either"


def _default_levels() -> list[TierLevel]:
    ladder = [("bronze", "Бронзовый", "Bronze", 0), ("silver", "Серебряный", "Silver", 3)]
    ladder += [("gold", "Золотой", "Gold", 10), ("platinum", "Платиновый", "Platinum", 25)]
    return [
        TierLevel.model_validate({"key": k, "name": {"ru": ru, "en": en}, "min_won_deals": n})
        for k, ru, en, n in ladder
    ]


class TiersConfig(Strict):
    """The tier policy: ordered levels, lowest first, evaluated over a rolling window."""

    window_days: int = Field(default=180, ge=1, le=3660)
    hysteresis: HysteresisConfig = validated_default()
    downgrade_grace_days: int = Field(default=0, ge=0, le=365)
    approval_required: bool = False  # downgrades wait for the head's ``crm-bridge tiers approve``
    levels: list[TierLevel] = Field(default_factory=_default_levels, min_length=1)

    def keys(self) -> list[str]:
        return [level.key for level in self.levels]


class Bracket(Strict):
    """From this much revenue in the period on, won deals earn ``percent``."""

    from_revenue: Money
    percent: Percent


class CommissionConfig(Strict):
    """Commission on won deal revenue: a percent per tier, or revenue brackets."""

    by_tier: dict[str, Percent] = {}
    brackets: list[Bracket] = []

    @model_validator(mode="after")
    def _one_scheme(self) -> "CommissionConfig":
        if bool(self.by_tier) == bool(self.brackets):
            raise ValueError("give exactly one of by_tier: or brackets:")
        starts = [b.from_revenue for b in self.brackets]
        if starts and (starts != sorted(starts) or len(set(starts)) != len(starts)):
            raise ValueError("brackets must be in increasing from_revenue order")
        if starts and starts[0] != 0:
            raise ValueError("the first bracket must start at from_revenue: 0")
        return self


class PlanBonusConfig(Strict):
    """Paid when the partner meets its period revenue plan: a fixed sum or a percent of revenue."""

    fixed: Money | None = None
    percent: Percent | None = None

    @model_validator(mode="after")
    def _one(self) -> "PlanBonusConfig":
        if (self.fixed is None) == (self.percent is None):
            raise ValueError("give exactly one of fixed: or percent:")
        return self


class PointsConfig(Strict):
    """Gamification points for the leaderboard."""

    per_won_deal: Count = 10
    per_lead: Count = 1
    revenue_unit: Money | None = None  # one point per this much won revenue
    training_completed: Count = 50
    per_certification: Count = 0  # per certificate a partner's person earns in the period


class RuleSet(Strict):
    """Reward rules valid from ``effective_from`` until the next set's date."""

    effective_from: date
    commission: CommissionConfig
    plan_bonus: PlanBonusConfig | None = None
    over_performance_percent: Percent | None = None  # extra percent on revenue above plan
    points: PointsConfig = validated_default()


class MdfConfig(Strict):
    """Marketing development funds: a budget per partner per period by tier."""

    period: Literal["month", "quarter", "year"] = "quarter"
    budget_by_tier: dict[str, Money] = {}


class RewardsConfig(Strict):
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "RUB"
    rule_sets: list[RuleSet] = []
    mdf: MdfConfig = validated_default()

    @model_validator(mode="after")
    def _distinct_dates(self) -> "RewardsConfig":
        dates = [r.effective_from for r in self.rule_sets]
        if len(set(dates)) != len(dates):
            raise ValueError("two rule_sets have the same effective_from date")
        return self

    def sorted_rule_sets(self) -> list[RuleSet]:
        return sorted(self.rule_sets, key=lambda r: r.effective_from)


_PERIOD = re.compile(r"^(\d{4})(?:-(0[1-9]|1[0-2])|-Q([1-4]))?$")


def _period(value: str) -> str:
    if not _PERIOD.match(value):
        raise ValueError(f"{value!r} is not a period: use 2026-11 (month), 2026-Q4 (quarter) or 2026 (year)")
    return value


PeriodKey = Annotated[str, AfterValidator(_period)]


class Targets(Strict):
    """Plan for one period; only the targets given are tracked."""

    revenue: Money | None = None
    leads: Count | None = None
    qualified_leads: Count | None = None
    won_deals: Count | None = None
    conversion: Percent | None = None
    new_partners: Count | None = None  # department plans only
    repeat_share: Percent | None = None  # department plans only: repeat deals / all won deals
    certified_people: Count | None = None  # training: people holding a valid certificate


class TierTargets(Strict):
    """Default plan for every partner of a tier, per period of the given length."""

    period: Literal["month", "quarter", "year"] = "quarter"
    targets: dict[str, Targets] = {}  # tier key -> targets


class GoalsConfig(Strict):
    """Plans per period: for the department, per partner (by CRM id), and defaults by tier."""

    department: dict[PeriodKey, Targets] = {}
    partners: dict[str, dict[PeriodKey, Targets]] = {}
    by_tier: TierTargets = validated_default()
