"""Training and certification of partners' people (handbook 7.0.1 §1.3, 5.1): one completion per
person and course, and how completions count.

Definitions (one home, used by tiers, plans, points, the CRM push and reports):
* a person is identified by e-mail (case-folded) within a partner;
* ``certified_people`` at a moment: people of the partner with at least one certifying completion
  in the ``valid_days`` before it (all of them when ``valid_days`` is None);
* ``certifications`` in a period: certifying completions dated in it (points are earned for these).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from crm_bridge.domain.period import Period


@dataclass(frozen=True, slots=True)
class Completion:
    """A person of a partner completed a course. ``certified``: the course gives a certificate
    (or the LMS issued one). ``key`` is the de-duplication key: the same completion imported twice
    (CSV and the LMS webhook) is stored once."""

    partner_id: str
    person_email: str
    course_id: str
    completed_at: datetime
    person_name: str = ""
    course_name: str = ""
    certified: bool = True
    source: str = "csv"

    @property
    def key(self) -> str:
        return f"{self.partner_id}|{self.person_email.casefold()}|{self.course_id.casefold()}"


@dataclass(frozen=True, slots=True)
class TrainingStats:
    partner_id: str
    certified_people: int = 0  # valid at the moment asked
    completions: int = 0  # all completions up to the moment
    certifications: int = 0  # certifying completions inside the period asked
    last_completed_at: datetime | None = None


def training_stats(
    completions: Iterable[Completion],
    at: datetime,
    *,
    valid_days: int | None = None,
    period: Period | None = None,
) -> dict[str, TrainingStats]:
    """Per partner: certified people valid at ``at``, completions up to ``at``, certifications in
    ``period`` (when given)."""
    oldest = at - timedelta(days=valid_days) if valid_days is not None else None
    people: dict[str, set[str]] = {}
    done: dict[str, int] = {}
    certs: dict[str, int] = {}
    last: dict[str, datetime] = {}
    for c in completions:
        if period is not None and c.certified and period.contains(c.completed_at):
            certs[c.partner_id] = certs.get(c.partner_id, 0) + 1
        if c.completed_at >= at:
            continue
        done[c.partner_id] = done.get(c.partner_id, 0) + 1
        if c.partner_id not in last or c.completed_at > last[c.partner_id]:
            last[c.partner_id] = c.completed_at
        if c.certified and (oldest is None or c.completed_at >= oldest):
            people.setdefault(c.partner_id, set()).add(c.person_email.casefold())
    partners = set(people) | set(done) | set(certs)
    return {
        pid: TrainingStats(pid, len(people.get(pid, ())), done.get(pid, 0), certs.get(pid, 0), last.get(pid))
        for pid in partners
    }
