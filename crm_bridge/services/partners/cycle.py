"""The daemon's ``lifecycle`` job (and ``crm-bridge partners run``): scorecard, onboarding (when
``onboarding.automatic``), training push, plan push and reminders, exclusive access — in that order,
each on what the last sync stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from crm_bridge.services.partners.access import AccessRun, AccessService
from crm_bridge.services.partners.context import Lifecycle
from crm_bridge.services.partners.onboarding import OnboardingService, OnboardRun
from crm_bridge.services.partners.plans import PlanRun, PlanService
from crm_bridge.services.partners.scorecard import ScorecardService, ScoreRun
from crm_bridge.services.partners.training import TrainingService


@dataclass
class LifecycleRun:
    scored: ScoreRun
    onboarded: OnboardRun | None
    training_pushed: int
    plans: PlanRun
    access: AccessRun

    def describe(self) -> str:
        parts = [
            f"{self.scored.count('moved')} prospect(s) scored",
            f"{self.onboarded.count('onboarded') if self.onboarded else 0} partner(s) onboarded",
            f"{self.training_pushed} training record(s) pushed",
            f"{len(self.plans.statuses)} plan(s) tracked, {self.plans.reminders} reminder(s)",
            f"{len(self.access.changes)} access change(s)",
        ]
        return ", ".join(parts)


def run_lifecycle(life: Lifecycle, now: datetime, *, lead_stages: tuple[str, ...]) -> LifecycleRun:
    scored = ScorecardService(life).run(now)
    onboarded = OnboardingService(life).run(now) if life.settings.onboarding.automatic else None
    pushed = TrainingService(life).push(now)
    plans = PlanService(life, lead_stages=lead_stages).run(now)
    access = AccessService(life).run(now)
    return LifecycleRun(scored, onboarded, pushed, plans, access)
