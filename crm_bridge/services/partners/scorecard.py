"""The selection scorecard (handbook 6.1) over the prospects in the acquisition funnel's first stages:
the weighted score and verdict from the five criteria on the partner card, written back to the card,
the acquisition card moved (passed -> negotiation, failed -> not a fit, with the reason) and the
curator (the head while the prospect has none) told.

Gather -> decide (``domain.scorecard.evaluate``) -> record -> apply: the verdict is stored with a hash
of the scores and rules it came from before any CRM write, and marked applied after; a crash between
is finished by the next run; the same scores are never decided twice; a re-scored card is."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from crm_bridge.domain.model import Deal, Partner
from crm_bridge.domain.scorecard import Scorecard, ScoreResult, Verdict, evaluate
from crm_bridge.ports import Entity, PartnerUpdate, RecordUpdate
from crm_bridge.services.partners.context import Lifecycle
from crm_bridge.store.lifecycle import LifecycleRow
from crm_bridge.texts import words

log = logging.getLogger("crm_bridge.partners")


def scorecard_from(settings: object) -> Scorecard:
    cfg = settings.selection  # type: ignore[attr-defined]
    return Scorecard(cfg.full_weights(), Decimal(cfg.pass_mark), cfg.scale_max, cfg.min_each)


@dataclass(frozen=True, slots=True)
class ScoreRow:
    """One prospect: ``action`` is what this run did — ``moved`` (verdict written, card moved),
    ``waiting`` (not fully scored), ``decided`` (the same scores were decided before), ``error``."""

    partner: Partner
    card: Deal
    result: ScoreResult | None
    action: str
    error: str = ""


@dataclass
class ScoreRun:
    rows: list[ScoreRow] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action)


def whole(value: Decimal | None) -> int | None:
    """A percent as the CRM's whole-number field shows it (half up)."""
    return None if value is None else int(value.quantize(Decimal(1), ROUND_HALF_UP))


def _hash(card: Scorecard, scores: dict[str, int]) -> str:
    data = {"scores": scores, "weights": {k: str(v) for k, v in card.weights.items()}}
    data |= {"pass": str(card.pass_mark), "max": card.scale_max, "min": card.min_each}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:32]


class ScorecardService:
    def __init__(self, life: Lifecycle) -> None:
        self.life = life
        self.card = scorecard_from(life.settings)
        self.cfg = life.settings.selection

    def run(self, now: datetime, *, dry_run: bool = False) -> ScoreRun:
        """Score every prospect whose acquisition card is at a ``selection.score_stages`` stage.
        ``dry_run``: decide and show, write nothing. Raises the CRM's retriable errors."""
        life, run = self.life, ScoreRun()
        partners = life.partners()
        cards = life.acquisition_cards()
        states = life.store.lifecycle.all(life.portal)
        todo: list[tuple[Partner, Deal, ScoreResult, LifecycleRow]] = []
        for pid, card in sorted(cards.items(), key=lambda kv: kv[0]):
            partner = partners.get(pid)
            if partner is None or card.stage not in self.cfg.score_stages:
                continue
            try:
                result = evaluate(self.card, partner.qualification, life.locale)
            except ValueError as exc:
                run.rows.append(ScoreRow(partner, card, None, "error", f"score field {exc}"))
                continue
            if result.verdict is Verdict.INCOMPLETE:
                run.rows.append(ScoreRow(partner, card, result, "waiting"))
                continue
            digest = _hash(self.card, dict(partner.qualification))
            state = states.get(pid) or LifecycleRow(pid)
            if state.score_hash == digest and state.score_applied:
                run.rows.append(ScoreRow(partner, card, result, "decided"))
                continue
            state = replace(
                state,
                score_hash=digest,
                score=str(result.score),
                verdict=result.verdict.value,
                reason=result.reason,
                scored_at=now,
                score_applied=False,
            )
            todo.append((partner, card, result, state))
        if dry_run:
            run.rows += [ScoreRow(p, c, r, "would move") for p, c, r, _ in todo]
            return run
        life.store.lifecycle.save(life.portal, [s for *_, s in todo])  # recorded before any CRM write
        run.rows += self._apply(todo)
        return run

    def _apply(self, todo: list[tuple[Partner, Deal, ScoreResult, LifecycleRow]]) -> list[ScoreRow]:
        if not todo:
            return []
        life = self.life
        fields = [
            PartnerUpdate(
                p.crm_id,
                {
                    "score_total": whole(r.score),
                    "score_verdict": r.verdict.value,
                    "score_reason": r.reason[:250],
                },
            )
            for p, _, r, _ in todo
        ]
        moves = [
            RecordUpdate(
                Entity.DEAL,
                c.crm_id,
                stage=self.cfg.passed_stage if r.verdict is Verdict.PASSED else self.cfg.failed_stage,
                funnel=c.funnel,
            )
            for _, c, r, _ in todo
        ]
        written = life.crm.update_partners(fields)
        moved = life.crm.update_records(moves)
        rows, done = [], []
        for (partner, card, result, state), w, m in zip(todo, written, moved, strict=True):
            if not (w.ok and m.ok):
                error = w.error or m.error or "refused"
                log.warning("scorecard of partner %s not applied: %s", partner.crm_id, error)
                rows.append(ScoreRow(partner, card, result, "error", error))
                continue
            done.append(replace(state, score_applied=True))
            rows.append(ScoreRow(partner, card, result, "moved"))
            self._tell(partner, result, state.score_hash)
        life.store.lifecycle.save(life.portal, done)
        return rows

    def _tell(self, partner: Partner, result: ScoreResult, digest: str) -> None:
        key = "prospect_passed" if result.verdict is Verdict.PASSED else "prospect_failed"
        text = words("lifecycle", self.life.locale)[key].format(partner=partner.name, reason=result.reason)
        self.life.notify(
            "prospect_scored", self.life.told(partner), text, key=f"prospect_scored:{partner.crm_id}:{digest}"
        )
