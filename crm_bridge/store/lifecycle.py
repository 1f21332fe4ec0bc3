"""Repositories of the partner lifecycle (issue 14): per-partner lifecycle state (scorecard verdict,
onboarding, access shown), individual plans, training completions."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select, update

from crm_bridge.domain.goals import Targets
from crm_bridge.domain.training import Completion
from crm_bridge.store.db import state_errors, write_transaction
from crm_bridge.store.lifecycle_schema import partner_lifecycle as lc
from crm_bridge.store.lifecycle_schema import partner_plans as pp
from crm_bridge.store.lifecycle_schema import training_completions as tc
from crm_bridge.store.upsert import insert_missing, upsert


@dataclass(frozen=True, slots=True)
class LifecycleRow:
    partner_id: str
    score_hash: str = ""
    score: str | None = None
    verdict: str | None = None
    reason: str = ""
    scored_at: datetime | None = None
    score_applied: bool = False
    onboarding_status: str = ""
    onboarding: dict[str, Any] | None = None
    onboarded_at: datetime | None = None
    access_tier: str | None = None


_FIELDS = tuple(LifecycleRow.__dataclass_fields__)


class LifecycleRepository:
    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self._engine = engine
        self._clock = clock

    def all(self, portal: str) -> dict[str, LifecycleRow]:
        with state_errors("reading the partner lifecycle"), self._engine.connect() as conn:
            rows = conn.execute(select(lc).where(lc.c.portal == portal)).all()
        return {r.partner_id: LifecycleRow(**{f: r._mapping[f] for f in _FIELDS}) for r in rows}

    def get(self, portal: str, partner_id: str) -> LifecycleRow:
        return self.all_for(portal, [partner_id]).get(partner_id) or LifecycleRow(partner_id)

    def all_for(self, portal: str, partner_ids: Sequence[str]) -> dict[str, LifecycleRow]:
        query = select(lc).where(lc.c.portal == portal, lc.c.partner_id.in_(list(partner_ids)))
        with state_errors("reading the partner lifecycle"), self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return {r.partner_id: LifecycleRow(**{f: r._mapping[f] for f in _FIELDS}) for r in rows}

    def save(self, portal: str, rows: Iterable[LifecycleRow]) -> None:
        """Write whole rows (read, change with ``dataclasses.replace``, save) in one transaction."""
        values = [{"portal": portal, **{f: getattr(r, f) for f in _FIELDS}} for r in rows]
        if not values:
            return
        now = self._clock()
        for v in values:
            v["updated_at"] = now
        with state_errors("saving the partner lifecycle"), write_transaction(self._engine) as conn:
            conn.execute(upsert(conn, lc, ["portal", "partner_id"]), values)


def _targets_json(targets: Targets) -> dict[str, str]:
    return {name: str(value) for name, value in targets.items()}


def _targets(data: dict[str, Any]) -> Targets:
    whole = {"leads", "qualified_leads", "won_deals", "new_partners", "certified_people"}
    values: dict[str, Any] = {k: int(Decimal(v)) if k in whole else Decimal(v) for k, v in data.items()}
    return Targets(**values)


class PlanRepository:
    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self._engine = engine
        self._clock = clock

    def put(self, portal: str, plans: Sequence[tuple[str, str, Targets]], source: str) -> None:
        """Store ``(partner id, period key, targets)`` rows, replacing the same partner and period."""
        if not plans:
            return
        now = self._clock()
        values = [
            {
                "portal": portal,
                "partner_id": pid,
                "period": period,
                "targets": _targets_json(targets),
                "source": source,
                "updated_at": now,
            }
            for pid, period, targets in plans
        ]
        with state_errors("saving plans"), write_transaction(self._engine) as conn:
            conn.execute(upsert(conn, pp, ["portal", "partner_id", "period"]), values)

    def for_period(self, portal: str, period: str) -> dict[str, Targets]:
        query = select(pp.c.partner_id, pp.c.targets).where(pp.c.portal == portal, pp.c.period == period)
        with state_errors("reading plans"), self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return {r.partner_id: _targets(r.targets) for r in rows}

    def all(self, portal: str) -> dict[str, dict[str, Targets]]:
        """partner id -> period key -> targets, every plan stored for ``portal``."""
        query = select(pp.c.partner_id, pp.c.period, pp.c.targets).where(pp.c.portal == portal)
        with state_errors("reading plans"), self._engine.connect() as conn:
            rows = conn.execute(query).all()
        result: dict[str, dict[str, Targets]] = {}
        for r in rows:
            result.setdefault(r.partner_id, {})[r.period] = _targets(r.targets)
        return result

    def periods(self, portal: str) -> list[str]:
        query = select(pp.c.period).where(pp.c.portal == portal).distinct()
        with state_errors("reading plans"), self._engine.connect() as conn:
            return sorted(r.period for r in conn.execute(query).all())


class TrainingRepository:
    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self._engine = engine
        self._clock = clock

    def add(self, portal: str, completions: Sequence[Completion]) -> int:
        """Store completions not stored yet (by ``Completion.key``); one stored already is moved to a
        later completion date (a renewed certificate). Returns how many were new."""
        if not completions:
            return 0
        now = self._clock()
        values = [
            {
                "portal": portal,
                "completion_key": c.key,
                "partner_id": c.partner_id,
                "person_email": c.person_email.casefold(),
                "person_name": c.person_name,
                "course_id": c.course_id,
                "course_name": c.course_name,
                "completed_at": c.completed_at,
                "certified": c.certified,
                "source": c.source,
                "received_at": now,
            }
            for c in completions
        ]
        keys = [c.key for c in completions]
        with state_errors("saving training completions"), write_transaction(self._engine) as conn:
            before = set(
                conn.execute(
                    select(tc.c.completion_key).where(tc.c.portal == portal, tc.c.completion_key.in_(keys))
                ).scalars()
            )
            conn.execute(insert_missing(conn, tc, ["portal", "completion_key"]), values)
            for c in completions:  # a later completion of the same course renews the certificate
                if c.key in before:
                    conn.execute(
                        update(tc)
                        .where(
                            tc.c.portal == portal,
                            tc.c.completion_key == c.key,
                            tc.c.completed_at < c.completed_at,
                        )
                        .values(completed_at=c.completed_at, certified=c.certified, source=c.source)
                    )
        return len(set(keys) - before)

    def all(self, portal: str) -> list[Completion]:
        with state_errors("reading training completions"), self._engine.connect() as conn:
            rows = conn.execute(select(tc).where(tc.c.portal == portal).order_by(tc.c.id)).all()
        return [
            Completion(
                r.partner_id,
                r.person_email,
                r.course_id,
                r.completed_at,
                r.person_name,
                r.course_name,
                bool(r.certified),
                r.source,
            )
            for r in rows
        ]
