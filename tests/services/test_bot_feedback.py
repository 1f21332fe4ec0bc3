"""The partners' survey answers summed up for ``crm-bridge report``: per curator or per tier, the
answers, the average score (one decimal) and the NPS (percent of 9-10 minus percent of 0-6), only the
answers given in [start, end)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from crm_bridge.domain.model import Partner
from crm_bridge.services.bot.feedback import FeedbackRow, summarize

T = datetime(2026, 11, 10, tzinfo=UTC)
PARTNERS = {
    "1": Partner(crm_id="1", name="Альфа", curator_key="anna", tier="gold"),
    "2": Partner(crm_id="2", name="Бета", curator_key="boris", tier="silver"),
    "3": Partner(crm_id="3", name="Гамма", tier="gold"),
}


def answer(partner: str, score: int, day: int = 10) -> dict[str, object]:
    return {"partner_id": partner, "score": score, "at": T.replace(day=day)}


ANSWERS = [
    answer("1", 10),
    answer("1", 9),
    answer("1", 6),
    answer("1", 7),
    answer("2", 0),
    answer("2", 8),
    answer("3", 9),
    answer("gone", 5),
]


def test_per_curator_the_count_average_and_nps() -> None:
    assert summarize(ANSWERS, PARTNERS, "curator") == [
        FeedbackRow("-", 2, Decimal("7.0"), 0),  # no curator, and a partner no longer known
        FeedbackRow("anna", 4, Decimal("8.0"), 25),  # 2 promoters, 1 detractor of 4
        FeedbackRow("boris", 2, Decimal("4.0"), -50),
    ]


def test_per_tier() -> None:
    assert summarize(ANSWERS, PARTNERS, "tier") == [
        FeedbackRow("-", 1, Decimal("5.0"), -100),
        FeedbackRow("gold", 5, Decimal("8.2"), 40),
        FeedbackRow("silver", 2, Decimal("4.0"), -50),
    ]


def test_only_the_answers_of_the_period_count() -> None:
    answers = [answer("1", 10, day=1), answer("1", 0, day=15), answer("1", 3, day=30)]
    start, end = T.replace(day=1), T.replace(day=30)

    assert summarize(answers, PARTNERS, "curator", start=start, end=end) == [
        FeedbackRow("anna", 2, Decimal("5.0"), 0)
    ]
    assert summarize(answers, PARTNERS, "curator", start=T.replace(day=2)) == [
        FeedbackRow("anna", 2, Decimal("1.5"), -100)
    ]
    assert summarize(answers, PARTNERS, "curator", end=T.replace(day=15)) == [
        FeedbackRow("anna", 1, Decimal("10.0"), 100)
    ]
    assert summarize([], PARTNERS, "tier") == []


def test_the_average_rounds_half_to_even_at_one_decimal_and_nps_to_a_whole_percent() -> None:
    answers = [answer("1", s) for s in (9, 9, 8)]  # 8.666… and 66.7 %
    assert summarize(answers, PARTNERS, "curator") == [FeedbackRow("anna", 3, Decimal("8.7"), 67)]
