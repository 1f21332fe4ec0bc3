"""The demo's partner-lifecycle part (issue 14): the selection scorecard of the seeded prospects,
onboarding of the signed ones, training completions and individual plans imported from CSV files the
demo writes (as sales ops would), plan reminders, and exclusive access gained or lost with the tier
changes — each through the same services the CLI and the daemon use."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from crm_bridge.bootstrap import App
from crm_bridge.domain.model import Curator
from crm_bridge.domain.period import Period
from crm_bridge.security.files import write_private
from crm_bridge.services.partners.access import AccessService
from crm_bridge.services.partners.context import Lifecycle
from crm_bridge.services.partners.onboarding import OnboardingService
from crm_bridge.services.partners.plans import PlanService
from crm_bridge.services.partners.scorecard import ScorecardService
from crm_bridge.services.partners.training import TrainingService
from crm_bridge.texts import words


class Collected:
    """The demo's notifier: keeps what would be sent, to show a few."""

    def __init__(self) -> None:
        self.sent: dict[str, tuple[str, str]] = {}

    def notify(self, event: str, recipients: Sequence[Any], text: str, *, key: str) -> None:
        self.sent.setdefault(key, (event, text))

    def of(self, event: str) -> list[str]:
        return [text for e, text in self.sent.values() if e == event]


@dataclass
class LifecycleDemo:
    scored: list[tuple[str, str, str, str]] = field(default_factory=list)  # name, score, verdict, action
    onboarded: list[tuple[str, str, int]] = field(default_factory=list)  # name, curator, tasks
    training: tuple[int, int] = (0, 0)  # completions, partners
    plans: int = 0
    plan_lines: list[str] = field(default_factory=list)
    reminders: list[str] = field(default_factory=list)
    access: list[str] = field(default_factory=list)


def lifecycle(app: App, settings: Any, *, head: Curator | None, notifier: Collected) -> Lifecycle:
    return Lifecycle(
        app.adapter,
        app.store,
        app.portal,
        settings,
        curators=settings.domain_curators(),
        head=head,
        notifier=notifier,
    )


def before_tiers(life: Lifecycle, now: datetime) -> None:
    """The access every partner's current tier gives, shown on the cards (nothing announced)."""
    AccessService(life).run(now)


def after_tiers(
    life: Lifecycle, now: datetime, folder: Path, lead_stages: tuple[str, ...], seed: int
) -> LifecycleDemo:
    out = LifecycleDemo()
    notes: Collected = life.notifier  # type: ignore[assignment]
    for row in ScorecardService(life).run(now).rows:
        r = row.result
        out.scored.append(
            (
                row.partner.name,
                "—" if r is None or r.score is None else str(r.score),
                r.verdict.value if r else "—",
                row.action,
            )
        )
    curators = {c.key: c.name for c in life.curators}
    for o in OnboardingService(life).run(now).rows:
        out.onboarded.append((o.partner.name, curators.get(o.curator_key or "", "—"), o.steps))
    access = AccessService(life).run(now)
    out.access = [t for t in notes.of("access_changed")][: len(access.changes)]
    rng = random.Random(seed)  # noqa: S311 (seeded demo data)
    partners = sorted(life.partners().values(), key=lambda p: p.crm_id)
    active = [p for p in partners if p.tier and p.partner_since is not None][:40]
    training_csv = folder / "training-completions.csv"
    rows = ["partner_id,email,name,course_id,course_name,completed_at"]
    for p in active[:25]:
        for n in range(rng.randint(1, 3)):
            day = (now - timedelta(days=rng.randint(5, 200))).date().isoformat()
            rows.append(
                f"{p.crm_id},person{n}.{p.crm_id}@partner.example,Сотрудник {n + 1},"
                f"sales-basics,Основы продаж,{day}"
            )
    write_private(training_csv, "\n".join(rows) + "\n")
    service = TrainingService(life)
    done = service.import_csv(training_csv)
    service.push(now)
    out.training = (done.rows, done.partners)
    quarter = Period.containing(now, "quarter", ZoneInfo(life.settings.timezone))
    plans_csv = folder / "partner-plans.csv"
    lines = ["partner_id,period,revenue,leads,won_deals,certified_people"]
    for p in active[:12]:
        lines.append(
            f"{p.crm_id},{quarter.key},{rng.choice((1, 2, 3)) * 1_000_000},"
            f"{rng.randint(6, 15)},{rng.randint(3, 8)},2"
        )
    write_private(plans_csv, "\n".join(lines) + "\n")
    plans = PlanService(life, lead_stages=lead_stages)
    out.plans = plans.import_csv(plans_csv).plans
    run = plans.run(now)
    imported = [s for s in run.statuses if s[1].period.key == quarter.key]
    said = words("console", life.locale)["demo_life_plan_line"]
    out.plan_lines = [
        said.format(partner=p.name, done=s.fulfilment, gone=s.elapsed, period=quarter.key)
        for p, s in imported[:3]
    ]
    out.reminders = notes.of("plan_reminder")
    return out
