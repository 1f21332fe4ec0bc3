"""What distribution works with, read from the config: the team (managers in the configured order, each
one's working calendar, the curators and the head, who get escalations) and the settings (the strategy
policy, the SLA, escalation); ``service.Distributor`` and ``escalate.Escalator`` are given both."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from crm_bridge.domain.distribution import DistributionPolicy, RoutingRule
from crm_bridge.domain.model import Curator, Manager
from crm_bridge.services.sla import WorkingCalendar


@dataclass(frozen=True)
class Team:
    """Who distribution works with: managers (configured order), each one's working calendar, the
    curators and the head (escalations)."""

    managers: tuple[Manager, ...]
    calendars: dict[str, WorkingCalendar]  # manager key -> calendar
    default_calendar: WorkingCalendar = WorkingCalendar()
    curators: tuple[Curator, ...] = ()
    head: Curator | None = None
    timezone: str = "UTC"  # the company's: curators and the head work in it

    def calendar(self, manager_key: str | None) -> WorkingCalendar:
        return self.calendars.get(manager_key or "", self.default_calendar)


@dataclass(frozen=True)
class DistributionSettings:
    policy: DistributionPolicy = DistributionPolicy()
    sla: timedelta = timedelta(hours=4)  # working time to the first touch
    task_title: str = "{partner}: {lead}"
    escalation: bool = True
    escalate_after: timedelta = timedelta(0)  # extra working time after the SLA
    escalate_to: str = "curator"  # or "head"
    max_age: timedelta = timedelta(days=30)  # older leads without a manager are not "new"
    locale: str = "en"  # the language of task texts and notifications


def calendar_from(hours: Any) -> WorkingCalendar:
    """A ``WorkingCalendar`` from the config's ``WorkingHours``."""
    return WorkingCalendar(days=hours.weekday_numbers(), start=hours.start, end=hours.end)


def team_from_settings(settings: Any) -> Team:
    default = calendar_from(settings.distribution.working_hours)
    calendars = {m.key: calendar_from(m.working_hours) for m in settings.managers if m.working_hours}
    head = settings.head
    return Team(
        managers=settings.domain_managers(),
        calendars=calendars,
        default_calendar=default,
        curators=settings.domain_curators(),
        head=Curator("head", head.name, head.crm_user_id, head.email, head.telegram_chat_id)
        if head
        else None,
        timezone=settings.timezone,
    )


def settings_from(settings: Any) -> DistributionSettings:
    d = settings.distribution
    rules = tuple(
        RoutingRule(
            managers=tuple(r.manager_keys()),
            name=r.name,
            regions=frozenset(r.when.regions),
            specialisations=frozenset(r.when.specialisations),
            partner_types=frozenset(str(t) for t in r.when.partner_types),
            partners=frozenset(r.when.partners),
            strategy=r.strategy,
        )
        for r in d.rules
    )
    locale = str(getattr(settings, "locale", "en"))
    policy = DistributionPolicy(d.strategy, d.fallback, d.sticky_per_partner, rules, locale=locale)
    return DistributionSettings(
        policy=policy,
        sla=timedelta(hours=d.sla_hours),
        task_title=d.task_title,
        escalation=d.escalation.enabled,
        escalate_after=timedelta(hours=d.escalation.after_hours),
        escalate_to=d.escalation.to,
        locale=locale,
    )
