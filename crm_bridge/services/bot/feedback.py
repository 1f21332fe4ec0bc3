"""The partners' survey answers (``bot_feedback``) summed up per curator and per tier for
``crm-bridge report``: answers, the average score and the NPS (percent of 9-10 minus percent of 0-6,
the usual reading of a 0-10 "would you recommend" question)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from crm_bridge.domain.model import Partner


@dataclass(frozen=True, slots=True)
class FeedbackRow:
    group: str  # the curator's or the tier's key ("-" when the partner has none)
    answers: int
    average: Decimal
    nps: int


def summarize(
    answers: Iterable[Mapping[str, Any]],
    partners: Mapping[str, Partner],
    by: str,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[FeedbackRow]:
    """Rows per ``by`` (``curator`` | ``tier``) of the answers given in [start, end)."""
    groups: dict[str, list[int]] = {}
    for answer in answers:
        at = answer["at"]
        if (start is not None and at < start) or (end is not None and at >= end):
            continue
        partner = partners.get(str(answer["partner_id"]))
        key = (partner.curator_key if by == "curator" else partner.tier) if partner else None
        groups.setdefault(key or "-", []).append(int(answer["score"]))
    rows = []
    for key, scores in sorted(groups.items()):
        count = len(scores)
        promoters = sum(1 for s in scores if s >= 9)
        detractors = sum(1 for s in scores if s <= 6)
        average = (Decimal(sum(scores)) / count).quantize(Decimal("0.1"))
        rows.append(FeedbackRow(key, count, average, round(100 * (promoters - detractors) / count)))
    return rows
