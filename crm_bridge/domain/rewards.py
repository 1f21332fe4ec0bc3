"""Partner rewards: commission statements (tier rate or revenue brackets, plan bonus, over-performance,
MDF lines) under effective-dated rule sets, and gamification points with a deterministic leaderboard."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Protocol

from crm_bridge.domain.model import StageKind
from crm_bridge.domain.period import Period
from crm_bridge.texts import words

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
ZERO = Decimal(0)


def money(value: Decimal) -> Decimal:
    """Round to 0.01, half up: applied to each statement line, never to intermediate sums."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class Bracket:
    """From ``from_revenue`` of won revenue in the period on, revenue earns ``percent``."""

    from_revenue: Decimal
    percent: Decimal


@dataclass(frozen=True, slots=True)
class PointsRules:
    per_won_deal: int = 10
    per_lead: int = 1
    revenue_unit: Decimal | None = None  # one point per this much won revenue
    training_completed: int = 50
    per_certification: int = 0  # per certificate a partner's person earns in the period


@dataclass(frozen=True, slots=True)
class RewardRules:
    """Rules valid from ``effective_from`` until the next set's date. Give ``commission_by_tier``
    (tier key -> percent) or ``brackets`` (first from 0, increasing). Plan bonus: ``plan_bonus_fixed``
    or ``plan_bonus_percent`` (of period revenue) when the revenue plan is met; ``over_performance_percent``
    is paid on revenue above plan."""

    effective_from: date
    commission_by_tier: Mapping[str, Decimal] = field(default_factory=dict)
    brackets: tuple[Bracket, ...] = ()
    plan_bonus_fixed: Decimal | None = None
    plan_bonus_percent: Decimal | None = None
    over_performance_percent: Decimal | None = None
    points: PointsRules = PointsRules()

    def __post_init__(self) -> None:
        where = f"rewards from {self.effective_from}"
        if bool(self.commission_by_tier) == bool(self.brackets):
            raise ValueError(f"{where}: give exactly one of commission by tier or revenue brackets")
        starts = [b.from_revenue for b in self.brackets]
        if starts and (starts[0] != 0 or any(a >= b for a, b in zip(starts, starts[1:], strict=False))):
            raise ValueError(f"{where}: brackets must start at 0 and increase")
        if self.plan_bonus_fixed is not None and self.plan_bonus_percent is not None:
            raise ValueError(f"{where}: give a fixed or a percent plan bonus, not both")


def rules_for(rule_sets: Iterable[RewardRules], day: date) -> RewardRules:
    """The rule set in force on ``day``: the latest ``effective_from`` not after it."""
    valid = [r for r in rule_sets if r.effective_from <= day]
    if not valid:
        raise ValueError(f"no reward rules are effective on {day} (the earliest rule set starts later)")
    return max(valid, key=lambda r: r.effective_from)


class WonRecord(Protocol):
    """A Lead or a Deal: what a statement reads."""

    @property
    def crm_id(self) -> str: ...
    @property
    def partner_id(self) -> str | None: ...
    @property
    def title(self) -> str: ...
    @property
    def stage_kind(self) -> StageKind: ...
    @property
    def amount(self) -> Decimal: ...
    @property
    def closed_at(self) -> datetime | None: ...


@dataclass(frozen=True, slots=True)
class MdfClaim:
    """A marketing-development-fund (subsidy) claim: what the partner asked for, what was approved,
    what has already been paid out."""

    description: str
    requested: Decimal
    approved: Decimal = ZERO
    reimbursed: Decimal = ZERO

    def __post_init__(self) -> None:
        if min(self.requested, self.approved, self.reimbursed) < 0:
            raise ValueError(f"MDF claim {self.description!r}: amounts must not be negative")
        if self.approved > self.requested:
            raise ValueError(f"MDF claim {self.description!r}: approved is more than requested")
        if self.reimbursed > self.approved:
            raise ValueError(f"MDF claim {self.description!r}: reimbursed is more than approved")


@dataclass(frozen=True, slots=True)
class Wording:
    """What a statement line says, in any locale: a key of the ``rewards`` texts, its values and, for
    marginal brackets, the (percent, part of the deal) each bracket paid on."""

    key: str
    values: tuple[tuple[str, str], ...] = ()
    parts: tuple[tuple[str, str], ...] = ()

    def text(self, locale: str, tier_names: Mapping[str, str] | None = None) -> str:
        """In ``locale``; a tier by its name in ``tier_names`` (its key when it has none there)."""
        t = words("rewards", locale)
        values = dict(self.values)
        if "tier" in values and tier_names:
            values["tier"] = tier_names.get(values["tier"]) or values["tier"]
        if self.parts:
            values["parts"] = t["part_separator"].join(
                t["bracket_part"].format(percent=percent, part=part) for percent, part in self.parts
            )
        return t[self.key].format(**values)


@dataclass(frozen=True, slots=True)
class StatementLine:
    """``kind``: commission | plan_bonus | over_performance | mdf. ``amount`` is rounded to 0.01.
    ``description`` is in English (the CSV export); ``describe(locale)`` says it in another language."""

    kind: str
    description: str
    base: Decimal
    rate: Decimal | None
    amount: Decimal
    record_id: str | None = None
    wording: Wording | None = field(default=None, compare=False)

    def describe(self, locale: str, tier_names: Mapping[str, str] | None = None) -> str:
        """The description in ``locale``, a tier by its name in ``tier_names`` (the bot, the portal, the
        CLI's statement); a line made without a wording has only its ``description``."""
        return self.description if self.wording is None else self.wording.text(locale, tier_names)


def _line(
    kind: str,
    wording: Wording,
    base: Decimal,
    rate: Decimal | None,
    amount: Decimal,
    record_id: str | None = None,
) -> StatementLine:
    return StatementLine(kind, wording.text("en"), base, rate, amount, record_id, wording)


@dataclass(frozen=True, slots=True)
class MdfSummary:
    budget: Decimal | None
    requested: Decimal
    approved: Decimal
    reimbursed: Decimal
    payable: Decimal
    remaining_budget: Decimal | None


@dataclass(frozen=True, slots=True)
class Statement:
    partner_id: str
    period: Period
    rules_effective_from: date
    tier: str | None
    revenue: Decimal
    plan_revenue: Decimal | None
    plan_met: bool
    lines: tuple[StatementLine, ...]
    total: Decimal
    mdf: MdfSummary | None = None


def _commission(rules: RewardRules, tier: str | None, deals: list[WonRecord]) -> list[StatementLine]:
    lines: list[StatementLine] = []
    if rules.commission_by_tier:
        if tier is None or tier not in rules.commission_by_tier:
            raise ValueError(f"rewards from {rules.effective_from}: no commission percent for tier {tier!r}")
        rate = rules.commission_by_tier[tier]
        for d in deals:
            said = Wording(
                "commission_tier", (("rate", str(rate)), ("tier", tier), ("deal", d.title or d.crm_id))
            )
            lines.append(
                _line("commission", said, d.amount, rate, money(d.amount * rate / HUNDRED), d.crm_id)
            )
        return lines
    cumulative = ZERO
    for d in deals:  # marginal brackets: each part of the deal earns the percent of its bracket
        start, end, raw, used = cumulative, cumulative + d.amount, ZERO, []
        for i, b in enumerate(rules.brackets):
            upper = rules.brackets[i + 1].from_revenue if i + 1 < len(rules.brackets) else None
            part = (end if upper is None else min(end, upper)) - max(start, b.from_revenue)
            if part > 0:
                raw += part * b.percent / HUNDRED
                used.append((str(b.percent), str(part)))
        cumulative = end
        rate = (raw * HUNDRED / d.amount).quantize(Decimal("0.0001")) if d.amount else ZERO
        deal = (("deal", d.title or d.crm_id),)
        said = (
            Wording("commission_brackets", deal, tuple(used)) if used else Wording("commission_nothing", deal)
        )
        lines.append(_line("commission", said, d.amount, rate, money(raw), d.crm_id))
    return lines


def _mdf(claims: Sequence[MdfClaim], budget: Decimal | None) -> tuple[list[StatementLine], MdfSummary]:
    lines: list[StatementLine] = []
    left = budget
    for c in claims:
        payable = c.approved - c.reimbursed
        values = (
            ("claim", c.description),
            ("requested", str(c.requested)),
            ("approved", str(c.approved)),
            ("paid", str(c.reimbursed)),
        )
        said = Wording("mdf", values)
        if left is not None:
            capped = max(ZERO, min(c.approved, left)) - c.reimbursed
            if capped < payable:
                said = Wording("mdf_capped", (*values, ("left", str(money(max(left, ZERO))))))
            payable = max(ZERO, capped)
            left -= c.approved
        lines.append(_line("mdf", said, c.approved, None, money(payable)))
    summary = MdfSummary(
        budget,
        sum((c.requested for c in claims), ZERO),
        sum((c.approved for c in claims), ZERO),
        sum((c.reimbursed for c in claims), ZERO),
        sum((line.amount for line in lines), ZERO),
        None if budget is None else max(ZERO, budget - sum((c.approved for c in claims), ZERO)),
    )
    return lines, summary


def statement(
    partner_id: str,
    period: Period,
    deals: Iterable[WonRecord],
    plan: Decimal | None,
    rules: Iterable[RewardRules],
    mdf: Sequence[MdfClaim] = (),
    *,
    tier: str | None = None,
    mdf_budget: Decimal | None = None,
) -> Statement:
    """The reward statement of ``partner_id`` for ``period``: commission on each of its won deals
    closed in the period (in close order), the plan bonus and over-performance when revenue meets
    ``plan`` (revenue target; None = no plan), and MDF lines. Uses the rules effective at the period's
    start, so a past statement never changes when rates change later. ``tier`` is the partner's tier
    for the period (needed for commission by tier)."""
    first_day = period.start.date()
    if period.kind in ("month", "quarter", "year"):  # the local first day, whatever the period's time zone
        first_day = Period.parse(period.key).start.date()
    chosen = rules_for(rules, first_day)
    won = [
        d
        for d in deals
        if d.partner_id == partner_id and d.stage_kind == StageKind.WON and period.contains(d.closed_at)
    ]
    won.sort(key=lambda d: (d.closed_at, d.crm_id))
    lines = _commission(chosen, tier, won)
    revenue = sum((d.amount for d in won), ZERO)
    plan_met = plan is not None and plan > 0 and revenue >= plan
    if plan_met and plan is not None:
        met = (("revenue", str(revenue)), ("plan", str(plan)))
        if chosen.plan_bonus_fixed is not None:
            said = Wording("plan_bonus_fixed", met)
            lines.append(_line("plan_bonus", said, revenue, None, money(chosen.plan_bonus_fixed)))
        elif chosen.plan_bonus_percent is not None:
            rate = chosen.plan_bonus_percent
            said = Wording("plan_bonus_percent", (("rate", str(rate)), *met))
            lines.append(_line("plan_bonus", said, revenue, rate, money(revenue * rate / HUNDRED)))
        if chosen.over_performance_percent is not None and revenue > plan:
            rate, above = chosen.over_performance_percent, revenue - plan
            said = Wording(
                "over_performance", (("rate", str(rate)), ("above", str(above)), ("plan", str(plan)))
            )
            lines.append(_line("over_performance", said, above, rate, money(above * rate / HUNDRED)))
    summary = None
    if mdf or mdf_budget is not None:
        mdf_lines, summary = _mdf(mdf, mdf_budget)
        lines += mdf_lines
    total = sum((line.amount for line in lines), ZERO)
    return Statement(
        partner_id, period, chosen.effective_from, tier, revenue, plan, plan_met, tuple(lines), total, summary
    )


@dataclass(frozen=True, slots=True)
class Activity:
    """What points are earned for, per partner and period (e.g. from ``kpis.PartnerKpis``)."""

    partner_id: str
    won_deals: int = 0
    leads: int = 0
    revenue: Decimal = ZERO
    training_completed: bool = False
    name: str = ""
    certifications: int = 0  # certificates earned in the period (``domain.training``)


def points(activity: Activity, rules: PointsRules) -> int:
    total = activity.won_deals * rules.per_won_deal + activity.leads * rules.per_lead
    if rules.revenue_unit:
        total += int((activity.revenue / rules.revenue_unit).to_integral_value(rounding=ROUND_FLOOR))
    total += activity.certifications * rules.per_certification
    return total + (rules.training_completed if activity.training_completed else 0)


@dataclass(frozen=True, slots=True)
class LeaderboardRow:
    rank: int
    partner_id: str
    name: str
    points: int
    won_deals: int
    revenue: Decimal


def leaderboard(activities: Iterable[Activity], rules: PointsRules) -> list[LeaderboardRow]:
    """Ranked by points, then revenue, then won deals (all descending); rows equal on all three share a
    rank (1, 2, 2, 4) and are listed by partner id, so the order never depends on input order."""
    scored = sorted(
        ((points(a, rules), a) for a in activities),
        key=lambda pa: (-pa[0], -pa[1].revenue, -pa[1].won_deals, pa[1].partner_id),
    )
    rows: list[LeaderboardRow] = []
    for position, (pts, a) in enumerate(scored, start=1):
        prev = rows[-1] if rows else None
        same = prev is not None and (prev.points, prev.revenue, prev.won_deals) == (
            pts,
            a.revenue,
            a.won_deals,
        )
        rank = prev.rank if same and prev is not None else position
        rows.append(LeaderboardRow(rank, a.partner_id, a.name or a.partner_id, pts, a.won_deals, a.revenue))
    return rows
