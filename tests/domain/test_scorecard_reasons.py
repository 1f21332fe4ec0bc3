"""A prospect's scorecard verdict at the pass mark exactly: the score passes, the weak criteria alone
fail it, and the reason names them all in the reader's language."""

from __future__ import annotations

from decimal import Decimal

from crm_bridge.domain.scorecard import Scorecard, Verdict, evaluate

CARD = Scorecard(pass_mark=Decimal(60), scale_max=5, min_each=3)
# 2 + 2 + 4 + 4 + 3 = 15 of 25: 60.0 %, the pass mark itself
SCORES = {"values_fit": 2, "audience_overlap": 2, "reputation": 4, "track_record": 4, "scalability": 3}


def test_a_score_at_the_pass_mark_is_not_low_and_only_the_weak_criteria_fail_it() -> None:
    result = evaluate(CARD, SCORES)
    assert (result.verdict, result.score, result.weak) == (
        Verdict.FAILED,
        Decimal("60.0"),
        ("values_fit", "audience_overlap"),
    )
    assert result.reason == "below the minimum 3 on: Shared values and goals, Target-audience overlap"
    assert evaluate(CARD, SCORES, "ru").reason == (
        "ниже минимума 3 по критериям: Общие ценности и цели, Пересечение целевой аудитории"
    )
