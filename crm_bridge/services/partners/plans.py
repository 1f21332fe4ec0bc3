"""Individual cooperation plans (handbook 7.0.1 §1.2): imported from CSV per partner and period (or
the config's ``goals``: per partner, by tier by default), stored, pushed to the partner card
(``plan_period``, ``plan_targets``, ``plan_progress``) and tracked — plan vs actual in ``crm-bridge
plans show`` and the report, and reminders to the curator when a plan trails the calendar
(``plans.reminders``, rule in ``domain.plans.reminder_due``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo

from crm_bridge.domain.goals import Targets
from crm_bridge.domain.kpis import compute_kpis
from crm_bridge.domain.model import FunnelKey, Partner, StageKind
from crm_bridge.domain.period import Period
from crm_bridge.domain.plans import PlanStatus, ReminderRule, plan_status, reminder_due
from crm_bridge.ports import PartnerUpdate
from crm_bridge.services.partners.context import Lifecycle
from crm_bridge.services.partners.csv_input import raise_problems, read_rows
from crm_bridge.services.partners.scorecard import whole
from crm_bridge.texts import words

log = logging.getLogger("crm_bridge.partners")

TARGETS: tuple[str, ...] = (
    "revenue",
    "leads",
    "qualified_leads",
    "won_deals",
    "conversion",
    "certified_people",
)
_WHOLE = {"leads", "qualified_leads", "won_deals", "certified_people"}


def target_name(key: str, locale: str) -> str:
    """A plan target's name in ``locale`` (the ``lifecycle`` words; the key itself when unknown)."""
    return words("lifecycle", locale).get(f"target_{key}", key)


@dataclass(frozen=True, slots=True)
class ImportResult:
    plans: int
    partners: int
    periods: tuple[str, ...]


@dataclass
class PlanRun:
    statuses: list[tuple[Partner, PlanStatus]] = field(default_factory=list)
    pushed: int = 0
    reminders: int = 0


def _fmt(value: Decimal) -> str:
    return f"{value.normalize():f}" if value == value.to_integral_value() else f"{value:f}"


def targets_text(targets: Targets, locale: str) -> str:
    return "; ".join(f"{target_name(k, locale)} {_fmt(v)}" for k, v in targets.items())


class PlanService:
    def __init__(self, life: Lifecycle, *, lead_stages: tuple[str, ...]) -> None:
        self.life = life
        self.lead_stages = lead_stages
        self.tz = ZoneInfo(life.settings.timezone)
        r = life.settings.plans.reminders
        self.rule = ReminderRule(
            Decimal(r.from_elapsed_percent), Decimal(r.lag_percent), Decimal(r.step_percent)
        )

    # -- import ---------------------------------------------------------------------------------
    def import_csv(self, path: Path) -> ImportResult:
        """Store the plans of ``path`` (columns ``partner_id``, ``period`` and any of the targets);
        a partner and period already planned is replaced. UsageError naming every bad row; nothing
        is stored then."""
        rows = read_rows(path, ("partner_id", "period"), ("partner_id", "partner_name", "period", *TARGETS))
        known = set(self.life.partners())
        problems: list[str] = []
        plans: list[tuple[str, str, Targets]] = []
        seen: set[tuple[str, str]] = set()
        for number, row in rows:
            where = f"row {number}"
            pid, period = row.get("partner_id", ""), row.get("period", "")
            if pid not in known:
                problems.append(f"{where}: partner_id {pid!r} is not a partner in the state store (run sync)")
                continue
            try:
                Period.parse(period, self.tz)
            except ValueError as exc:
                problems.append(f"{where}: period: {exc}")
                continue
            if (pid, period) in seen:
                problems.append(f"{where}: partner {pid} has a second plan for {period}")
                continue
            seen.add((pid, period))
            values: dict[str, Decimal | int] = {}
            for name in TARGETS:
                raw = row.get(name, "").replace(" ", "").replace("\u00a0", "")
                if not raw:
                    continue
                try:
                    number_value = Decimal(raw.replace(",", "."))
                except InvalidOperation:
                    problems.append(f"{where}: {name}: {row[name]!r} is not a number")
                    continue
                if not number_value.is_finite() or number_value < 0:
                    problems.append(f"{where}: {name}: must be a number >= 0")
                elif name in _WHOLE and number_value != number_value.to_integral_value():
                    problems.append(f"{where}: {name}: must be a whole number")
                elif name == "conversion" and number_value > 100:
                    problems.append(f"{where}: conversion: a percent, at most 100")
                else:
                    values[name] = int(number_value) if name in _WHOLE else number_value
            if not values and not any(p.startswith(where + ":") for p in problems):
                problems.append(f"{where}: no target given (columns: {', '.join(TARGETS)})")
            plans.append((pid, period, Targets(**values)))  # type: ignore[arg-type]
        raise_problems(path, problems)
        self.life.store.plans.put(self.life.portal, plans, source=path.name)
        return ImportResult(
            len(plans), len({p for p, _, _ in plans}), tuple(sorted({period for _, period, _ in plans}))
        )

    # -- tracking -------------------------------------------------------------------------------
    def statuses(self, period: Period, now: datetime) -> list[tuple[Partner, PlanStatus]]:
        """Plan vs actual of every partner with a plan for ``period`` at ``now``."""
        from crm_bridge.services.report.data import certified_people
        from crm_bridge.services.rewards import GoalBook

        life = self.life
        partners = life.partners()
        book = GoalBook.from_settings(life.settings, life.store.plans.all(life.portal))
        kpis = compute_kpis(
            period,
            life.store.leads(life.portal),
            life.store.deals(life.portal),
            partners.values(),
            lead_stages=self.lead_stages or ("_",),
        )
        trained = certified_people(life.settings, life.store, life.portal, min(now, period.end))
        result = []
        for pid, partner in sorted(partners.items(), key=lambda kv: (kv[1].name, kv[0])):
            targets = book.for_partner(pid, period, partner.tier)
            if targets is None or not targets.items():
                continue
            k = kpis.partners.get(pid)
            metrics = {**(k.metrics() if k else {}), "certified_people": Decimal(trained.get(pid, 0))}
            result.append((partner, plan_status(pid, period, targets, metrics, now)))
        return result

    def run(self, now: datetime) -> PlanRun:
        """The plans of the month, quarter and year under way: the shortest one of each partner
        pushed to its card (when ``plans.push_to_crm``), reminders queued for every plan that lags."""
        run = PlanRun()
        for kind in ("month", "quarter", "year"):
            run.statuses += self.statuses(Period.containing(now, kind, self.tz), now)
        life = self.life
        shown: dict[str, tuple[Partner, PlanStatus]] = {}
        for partner, status in run.statuses:
            shown.setdefault(partner.crm_id, (partner, status))
        if life.settings.plans.push_to_crm and shown:
            updates = [
                PartnerUpdate(
                    p.crm_id,
                    {
                        "plan_period": s.period.key,
                        "plan_targets": targets_text(_targets_of(s), life.locale)[:250],
                        "plan_progress": whole(s.fulfilment),
                    },
                )
                for p, s in shown.values()
            ]
            for i in range(0, len(updates), 50):
                for update, out in zip(
                    updates[i : i + 50], life.crm.update_partners(updates[i : i + 50]), strict=True
                ):
                    if out.ok:
                        run.pushed += 1
                    else:
                        log.warning("plan of partner %s not pushed: %s", update.crm_id, out.error)
        if life.settings.plans.reminders.enabled:
            for partner, status in run.statuses:
                mark = reminder_due(self.rule, status)
                if mark is None:
                    continue
                run.reminders += 1
                life.notify(
                    "plan_reminder",
                    life.told(partner),
                    reminder_text(partner, status, life.locale),
                    key=f"plan_reminder:{partner.crm_id}:{status.period.key}:{mark}",
                )
        return run


def _targets_of(status: PlanStatus) -> Targets:
    return Targets(**{r.target: (int(r.plan) if r.target in _WHOLE else r.plan) for r in status.rows})  # type: ignore[arg-type]


def reminder_text(partner: Partner, status: PlanStatus, locale: str) -> str:
    """ "Romashka: 70 % of the quarter gone, 30 % of the plan done (revenue 300000 of 1000000; …)"."""
    t = words("lifecycle", locale)
    behind = [r for r in status.rows if not r.met]
    detail = "; ".join(f"{target_name(r.target, locale)} {_fmt(r.actual)} / {_fmt(r.plan)}" for r in behind)
    kind = t.get(f"kind_{status.period.kind}", status.period.kind)
    return t["plan_behind"].format(
        partner=partner.name,
        gone=_fmt(status.elapsed),
        kind=kind,
        period=status.period.key,
        done=_fmt(status.fulfilment),
        detail=detail,
    )


def lead_stages_of(layout: object) -> tuple[str, ...]:
    funnel = next(f for f in layout.funnels if f.key == FunnelKey.LEADS.value)  # type: ignore[attr-defined]
    return tuple(s.key for s in sorted(funnel.stages, key=lambda s: s.sort) if s.kind is StageKind.OPEN)
