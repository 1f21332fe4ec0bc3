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
from crm_bridge.texts import words


@dataclass
class LifecycleRun:
    scored: ScoreRun
    onboarded: OnboardRun | None
    training_pushed: int
    plans: PlanRun
    access: AccessRun

    def describe(self, locale: str = "en") -> str:
        return words("console", locale)["did_lifecycle"].format(
            scored=self.scored.count("moved"),
            onboarded=self.onboarded.count("onboarded") if self.onboarded else 0,
            training=self.training_pushed,
            plans=len(self.plans.statuses),
            reminders=self.plans.reminders,
            access=len(self.access.changes),
        )


def run_lifecycle(life: Lifecycle, now: datetime, *, lead_stages: tuple[str, ...]) -> LifecycleRun:
    scored = ScorecardService(life).run(now)
    onboarded = OnboardingService(life).run(now) if life.settings.onboarding.automatic else None
    pushed = TrainingService(life).push(now)
    plans = PlanService(life, lead_stages=lead_stages).run(now)
    access = AccessService(life).run(now)
    return LifecycleRun(scored, onboarded, pushed, plans, access)
