"""The words of the partner lifecycle (``lifecycle`` section), per locale (``en``, ``ru``): what curators
and partners are told when a prospect is scored, a partner onboarded, a plan falls behind or a tier
opens or closes access; and the names of plan targets and period kinds."""

from __future__ import annotations

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "onboarded": (
            "{partner}: agreement signed, you are the curator ({why}). "
            "Tier: {tier}. Onboarding tasks: {steps}."
        ),
        "prospect_passed": "{partner}: the prospect passed selection ({reason}); moved to negotiation.",
        "prospect_failed": "{partner}: the prospect is not a fit ({reason}).",
        "plan_behind": (
            "{partner}: {gone} % of the {kind} {period} gone, {done} % of the plan done ({detail}). "
            "Time to talk to the partner."
        ),
        "tier_moved": "{partner}: tier {old} → {new}.",
        "gained": "Gained: {what}.",
        "lost": "Lost: {what}.",
        "target_revenue": "revenue",
        "target_leads": "leads",
        "target_qualified_leads": "qualified leads",
        "target_won_deals": "won deals",
        "target_conversion": "conversion %",
        "target_certified_people": "training (certified)",
        "kind_month": "month",
        "kind_quarter": "quarter",
        "kind_year": "year",
    },
    "ru": {
        "onboarded": (
            "{partner}: соглашение подписано, вы — куратор ({why}). "
            "Уровень: {tier}. Задач адаптации: {steps}."
        ),
        "prospect_passed": "{partner}: кандидат прошёл отбор ({reason}); карточка — в «Переговоры».",
        "prospect_failed": "{partner}: кандидат не подходит ({reason}).",
        "plan_behind": (
            "{partner}: прошло {gone} % {kind} {period}, план выполнен на {done} % ({detail}). "
            "Свяжитесь с партнёром."
        ),
        "tier_moved": "{partner}: уровень {old} → {new}.",
        "gained": "Открыто: {what}.",
        "lost": "Закрыто: {what}.",
        "target_revenue": "выручка",
        "target_leads": "лиды",
        "target_qualified_leads": "квал. лиды",
        "target_won_deals": "сделки",
        "target_conversion": "конверсия %",
        "target_certified_people": "обучение (серт.)",
        "kind_month": "месяца",
        "kind_quarter": "квартала",
        "kind_year": "года",
    },
}
