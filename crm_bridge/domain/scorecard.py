"""The selection scorecard of handbook 6.1: five criteria scored per prospective partner, weighted
into one score (percent of the maximum) and a verdict against the pass mark.

Rule (one home): ``score = Σ weight·score / Σ weight·scale_max × 100``, rounded to 0.1. A prospect
passes when the score reaches ``pass_mark`` and no criterion is below ``min_each`` (a knockout: a
partner without the values the handbook puts first is not saved by its size). A prospect with a
criterion not scored yet gets no verdict (``incomplete``): half a scorecard decides nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from crm_bridge.domain.model import QUALIFICATION_CRITERIA

CRITERION_NAMES: dict[str, tuple[str, str]] = {
    "values_fit": ("Общие ценности и цели", "Shared values and goals"),
    "audience_overlap": ("Пересечение целевой аудитории", "Target-audience overlap"),
    "reputation": ("Репутация и компетенции", "Reputation and competence"),
    "track_record": ("Успешный опыт (кейсы)", "Track record (past cases)"),
    "scalability": ("Способность масштабироваться", "Ability to scale"),
}


def criterion_name(key: str, locale: str) -> str:
    ru, en = CRITERION_NAMES.get(key, (key, key))
    return ru if locale == "ru" else en


class Verdict(StrEnum):
    PASSED = "passed"  # -> negotiation
    FAILED = "failed"  # -> not a fit
    INCOMPLETE = "incomplete"  # a criterion is not scored yet: no decision


@dataclass(frozen=True, slots=True)
class Scorecard:
    """Weights per criterion (any positive numbers; they are normalised), the pass mark as a percent
    of the maximum, the score scale (0..``scale_max``) and an optional per-criterion minimum."""

    weights: Mapping[str, Decimal] = field(
        default_factory=lambda: {c: Decimal(1) for c in QUALIFICATION_CRITERIA}
    )
    pass_mark: Decimal = Decimal(60)
    scale_max: int = 5
    min_each: int | None = None

    def __post_init__(self) -> None:
        unknown = sorted(set(self.weights) - set(QUALIFICATION_CRITERIA))
        if unknown:
            raise ValueError(f"unknown criteria {unknown}: use {', '.join(QUALIFICATION_CRITERIA)}")
        if any(w < 0 for w in self.weights.values()) or not any(w > 0 for w in self.weights.values()):
            raise ValueError("weights must be >= 0 with at least one above 0")
        if not Decimal(0) <= self.pass_mark <= Decimal(100):
            raise ValueError("pass_mark must be between 0 and 100")
        if self.scale_max < 1:
            raise ValueError("scale_max must be at least 1")
        if self.min_each is not None and not 0 <= self.min_each <= self.scale_max:
            raise ValueError("min_each must be between 0 and scale_max")

    def criteria(self) -> tuple[str, ...]:
        """The criteria that count (weight above 0), in the handbook's order."""
        return tuple(c for c in QUALIFICATION_CRITERIA if self.weights.get(c, Decimal(0)) > 0)


@dataclass(frozen=True, slots=True)
class ScoreResult:
    """``score`` is None while the card is incomplete. ``weak`` are the criteria below ``min_each``;
    ``reason`` says why in the config's language (written to the CRM and told to the curator)."""

    verdict: Verdict
    score: Decimal | None
    missing: tuple[str, ...] = ()
    weak: tuple[str, ...] = ()
    reason: str = ""


_TEXT = {
    "en": {
        "missing": "not scored yet: {names}",
        "passed": "score {score} % ≥ pass mark {mark} %",
        "low": "score {score} % < pass mark {mark} %",
        "weak": "below the minimum {minimum} on: {names}",
    },
    "ru": {
        "missing": "ещё не оценено: {names}",
        "passed": "оценка {score} % ≥ проходного балла {mark} %",
        "low": "оценка {score} % < проходного балла {mark} %",
        "weak": "ниже минимума {minimum} по критериям: {names}",
    },
}


def _fmt(value: Decimal) -> str:
    return f"{value.normalize():f}" if value == value.to_integral_value() else f"{value:f}"


def evaluate(card: Scorecard, scores: Mapping[str, int], locale: str = "en") -> ScoreResult:
    """The weighted score and verdict of one prospect. Raises ValueError on a score outside
    0..scale_max (the caller names the partner and the field)."""
    t = _TEXT.get(locale, _TEXT["en"])
    for criterion, value in scores.items():
        if criterion in card.weights and not 0 <= value <= card.scale_max:
            raise ValueError(f"{criterion}: {value} is outside 0..{card.scale_max}")
    criteria = card.criteria()
    missing = tuple(c for c in criteria if c not in scores)
    if missing:
        names = ", ".join(criterion_name(c, locale) for c in missing)
        return ScoreResult(Verdict.INCOMPLETE, None, missing, reason=t["missing"].format(names=names))
    total_weight = sum((card.weights[c] for c in criteria), Decimal(0))
    weighted = sum((card.weights[c] * scores[c] for c in criteria), Decimal(0))
    score = (weighted * 100 / (total_weight * card.scale_max)).quantize(Decimal("0.1"), ROUND_HALF_UP)
    weak = tuple(c for c in criteria if card.min_each is not None and scores[c] < card.min_each)
    mark = _fmt(card.pass_mark)
    if score >= card.pass_mark and not weak:
        return ScoreResult(Verdict.PASSED, score, reason=t["passed"].format(score=_fmt(score), mark=mark))
    parts = []
    if score < card.pass_mark:
        parts.append(t["low"].format(score=_fmt(score), mark=mark))
    if weak:
        names = ", ".join(criterion_name(c, locale) for c in weak)
        parts.append(t["weak"].format(minimum=card.min_each, names=names))
    return ScoreResult(Verdict.FAILED, score, weak=weak, reason="; ".join(parts))


def scores_from_fields(values: Mapping[str, object]) -> dict[str, int]:
    """The criteria scores from raw partner-field values keyed ``score_<criterion>`` (as a CRM sends
    them: ``4``, ``"4"``, ``"4.0"``; empty = not scored). A value that is not a whole number is left
    out (the card then reads as not scored on that criterion)."""
    scores: dict[str, int] = {}
    for criterion in QUALIFICATION_CRITERIA:
        raw = values.get(f"score_{criterion}")
        if raw is None or raw == "" or raw is False:
            continue
        try:
            number = Decimal(str(raw).strip())
        except ArithmeticError:
            continue
        if number.is_finite() and number == number.to_integral_value():
            scores[criterion] = int(number)
    return scores
