"""Rewards for a period: one money statement per partner (``crm_bridge.domain.rewards.statement``)
from the replicated leads and deals in the state store and the config's effective-dated rules, plan
bonuses against the goals, MDF lines, and the points leaderboard; CSV output for accounting.

The tier a statement pays by is the partner's tier at the end of the period according to the tier
history (its current tier when it never changed), so a closed period's statement stays the same when
tiers or rates change later.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from crm_bridge.domain.goals import Goals, Targets, targets_for
from crm_bridge.domain.kpis import compute_kpis
from crm_bridge.domain.model import Deal, Lead, Partner, StageKind
from crm_bridge.domain.period import Period
from crm_bridge.domain.rewards import (
    Activity,
    Bracket,
    LeaderboardRow,
    MdfClaim,
    PointsRules,
    RewardRules,
    Statement,
    leaderboard,
    rules_for,
    statement,
)
from crm_bridge.errors import ConfigError, DataError
from crm_bridge.security.csv_cells import SafeWriter

STATEMENT_COLUMNS = (
    "period",
    "partner_id",
    "partner",
    "tier",
    "rules_from",
    "line",
    "description",
    "base",
    "rate_percent",
    "amount",
    "currency",
    "record_id",
)
LEADERBOARD_COLUMNS = (
    "period",
    "rank",
    "partner_id",
    "partner",
    "points",
    "won_deals",
    "revenue",
    "currency",
)


def _targets(cfg: Any) -> Targets:
    return Targets(**{name: getattr(cfg, name) for name in Targets.__dataclass_fields__})


@dataclass(frozen=True)
class GoalBook:
    """The config's ``goals`` as domain plans: per partner, defaults per tier, and the department's."""

    partners: Goals = field(default_factory=dict)
    by_tier: Mapping[str, Targets] = field(default_factory=dict)
    by_tier_kind: str = "quarter"
    department: Mapping[str, Targets] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Any, imported: Goals | None = None) -> GoalBook:
        """The config's goals; ``imported`` plans (``crm-bridge plans import``, partner -> period ->
        targets) win over the config's for the same partner and period."""
        g = settings.goals
        partners: dict[str, dict[str, Targets]] = {
            pid: {key: _targets(t) for key, t in plans.items()} for pid, plans in g.partners.items()
        }
        for pid, plans in (imported or {}).items():
            partners.setdefault(pid, {}).update(plans)
        return cls(
            partners,
            {tier: _targets(t) for tier, t in g.by_tier.targets.items()},
            g.by_tier.period,
            {key: _targets(t) for key, t in g.department.items()},
        )

    def for_partner(self, partner_id: str, period: Period, tier: str | None) -> Targets | None:
        return targets_for(
            partner_id,
            period,
            self.partners,
            tier=tier,
            tier_defaults=self.by_tier,
            tier_default_kind=self.by_tier_kind,
        )


def reward_rules(settings: Any) -> tuple[RewardRules, ...]:
    """The config's ``rewards.rule_sets`` as domain rule sets (oldest first). ConfigError when none."""
    sets = settings.rewards.sorted_rule_sets()
    if not sets:
        raise ConfigError("rewards.rule_sets: give at least one rule set to compute rewards")
    rules = []
    for r in sets:
        bonus = r.plan_bonus
        rules.append(
            RewardRules(
                effective_from=r.effective_from,
                commission_by_tier=dict(r.commission.by_tier),
                brackets=tuple(Bracket(b.from_revenue, b.percent) for b in r.commission.brackets),
                plan_bonus_fixed=bonus.fixed if bonus else None,
                plan_bonus_percent=bonus.percent if bonus else None,
                over_performance_percent=r.over_performance_percent,
                points=PointsRules(
                    r.points.per_won_deal,
                    r.points.per_lead,
                    r.points.revenue_unit,
                    r.points.training_completed,
                    r.points.per_certification,
                ),
            )
        )
    return tuple(rules)


def tier_at(history: Sequence[Any], moment: Any, current: str | None) -> str | None:
    """The tier in force just before ``moment`` from tier-history records (oldest first): the last
    change before it, else the tier before the first later change, else ``current``."""
    before = [h for h in history if h.at < moment]
    if before:
        return str(before[-1].to_tier) if before[-1].to_tier is not None else None
    after = [h for h in history if h.at >= moment]
    return after[0].from_tier if after else current


@dataclass(frozen=True)
class RewardsResult:
    period: Period
    currency: str
    statements: tuple[Statement, ...]
    leaderboard: tuple[LeaderboardRow, ...]
    names: Mapping[str, str]  # partner id -> name
    tier_names: Mapping[str, str] = field(default_factory=dict)  # tier key -> name in the config's locale

    def total(self) -> Decimal:
        return sum((s.total for s in self.statements), Decimal(0))

    def by_kind(self, s: Statement) -> dict[str, Decimal]:
        """Amounts of one statement per line kind (commission, plan_bonus, over_performance, mdf)."""
        sums: dict[str, Decimal] = {}
        for line in s.lines:
            sums[line.kind] = sums.get(line.kind, Decimal(0)) + line.amount
        return sums


def compute_rewards(
    period: Period,
    partners: Iterable[Partner],
    leads: Iterable[Lead],
    deals: Iterable[Deal],
    *,
    rules: Sequence[RewardRules],
    goals: GoalBook = GoalBook(),
    tier_history: Sequence[Any] = (),
    lead_stages: Sequence[str] = (),
    default_tier: str | None = None,
    currency: str = "RUB",
    mdf_claims: Mapping[str, Sequence[MdfClaim]] | None = None,
    mdf_budgets: Mapping[str, Decimal] | None = None,
    mdf_period_kind: str = "quarter",
    certifications: Mapping[str, int] | None = None,
) -> RewardsResult:
    """Statements for every partner and the leaderboard for ``period``. ``default_tier`` is used for
    partners with no tier at all (the lowest level). ``mdf_budgets`` (tier -> budget) apply when the
    period is of ``mdf_period_kind``. Raises DataError when the rules cannot price a partner's tier."""
    partner_list = list(partners)
    lead_list, deal_list = list(leads), list(deals)
    by_partner: dict[str, list[Any]] = {}
    records: list[Lead | Deal] = [*lead_list, *deal_list]
    for record in records:
        if record.partner_id and record.stage_kind is StageKind.WON:
            if record.closed_at is None:  # counted when the CRM last touched it, as the KPIs do
                record = replace(record, closed_at=record.modified_at or record.created_at)
            by_partner.setdefault(str(record.partner_id), []).append(record)
    history: dict[str, list[Any]] = {}
    for h in tier_history:
        history.setdefault(h.partner_id, []).append(h)
    claims = mdf_claims or {}
    unknown = sorted(set(claims) - {p.crm_id for p in partner_list})
    if unknown:
        raise DataError(f"no such partner(s) in the state store: {', '.join(unknown)}", where="MDF claims")
    budgets = mdf_budgets if period.kind == mdf_period_kind else None
    statements = []
    for p in sorted(partner_list, key=lambda p: (p.name, p.crm_id)):
        tier = tier_at(history.get(p.crm_id, []), period.end, p.tier) or default_tier
        plan = goals.for_partner(p.crm_id, period, tier)
        budget = budgets.get(tier or "") if budgets is not None else None
        try:
            statements.append(
                statement(
                    p.crm_id,
                    period,
                    by_partner.get(p.crm_id, []),
                    plan.revenue if plan else None,
                    rules,
                    claims.get(p.crm_id, ()),
                    tier=tier,
                    mdf_budget=budget,
                )
            )
        except ValueError as exc:
            raise DataError(str(exc), where=f"partner {p.crm_id} ({p.name})") from exc
    kpis = compute_kpis(period, lead_list, deal_list, partner_list, lead_stages=lead_stages or ("_",))
    names = {p.crm_id: p.name for p in partner_list}
    activities = [
        Activity(
            pid,
            k.won,
            k.leads,
            k.revenue,
            k.training_completed,
            names.get(pid, pid),
            (certifications or {}).get(pid, 0),
        )
        for pid, k in kpis.partners.items()
        if pid in names
    ]
    try:
        points = rules_for(rules, Period.parse(period.key).start.date()).points
    except ValueError as exc:
        raise DataError(str(exc), where=f"rewards for {period.key}") from exc
    board = leaderboard(activities, points)
    return RewardsResult(period, currency, tuple(statements), tuple(board), names)


def certifications_in(settings: Any, store: Any, portal: str, period: Period) -> dict[str, int]:
    """Certificates each partner's people earned in ``period`` (points, ``rewards...points``)."""
    from crm_bridge.domain.training import training_stats

    stats = training_stats(store.training.all(portal), period.end, period=period)
    return {pid: s.certifications for pid, s in stats.items()}


def rewards_for(settings: Any, store: Any, portal: str, period: Period, **options: Any) -> RewardsResult:
    """``compute_rewards`` over what the state store holds for ``portal``, with the config's rules,
    goals and MDF budgets."""
    from crm_bridge.config.funnels import desired_layout_for

    layout = desired_layout_for(settings)
    funnel = next(f for f in layout.funnels if f.key == "leads")
    stages = [s.key for s in sorted(funnel.stages, key=lambda s: s.sort) if s.kind is StageKind.OPEN]
    mdf = settings.rewards.mdf
    result = compute_rewards(
        period,
        store.partners(portal),
        store.leads(portal),
        store.deals(portal),
        rules=reward_rules(settings),
        goals=GoalBook.from_settings(settings, store.plans.all(portal)),
        tier_history=store.tier_history(portal),
        certifications=certifications_in(settings, store, portal, period),
        lead_stages=stages,
        default_tier=settings.tiers.levels[0].key,
        currency=settings.rewards.currency,
        mdf_budgets={tier: Decimal(v) for tier, v in mdf.budget_by_tier.items()},
        mdf_period_kind=mdf.period,
        **options,
    )
    names = {level.key: level.name.get(settings.locale) for level in settings.tiers.levels}
    return replace(result, tier_names=names)


def _num(value: Decimal | None) -> str:
    return "" if value is None else format(value, "f")


def statements_csv(result: RewardsResult) -> str:
    """One row per statement line and a ``total`` row per partner (filter ``line != total`` for sums)."""
    out = io.StringIO()
    writer = SafeWriter(out, lineterminator="\n")
    writer.writerow(STATEMENT_COLUMNS)
    for s in result.statements:
        head = [
            s.period.key,
            s.partner_id,
            result.names.get(s.partner_id, ""),
            s.tier or "",
            s.rules_effective_from,
        ]
        for line in s.lines:
            writer.writerow(
                [
                    *head,
                    line.kind,
                    line.description,
                    _num(line.base),
                    _num(line.rate),
                    _num(line.amount),
                    result.currency,
                    line.record_id or "",
                ]
            )
        writer.writerow([*head, "total", "total", _num(s.revenue), "", _num(s.total), result.currency, ""])
    return out.getvalue()


def leaderboard_csv(result: RewardsResult) -> str:
    out = io.StringIO()
    writer = SafeWriter(out, lineterminator="\n")
    writer.writerow(LEADERBOARD_COLUMNS)
    for row in result.leaderboard:
        writer.writerow(
            [
                result.period.key,
                row.rank,
                row.partner_id,
                row.name,
                row.points,
                row.won_deals,
                _num(row.revenue),
                result.currency,
            ]
        )
    return out.getvalue()
