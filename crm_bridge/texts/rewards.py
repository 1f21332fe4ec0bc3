"""The words of a reward statement's lines (what each line pays for), per locale (``en``, ``ru``).
``{placeholders}`` are filled by ``crm_bridge.domain.rewards``: the English text is each line's
``description`` (the CSV export's column); ``StatementLine.describe(locale)`` gives it in a partner's or
the config's language (the bot, the partner portal, ``crm-bridge rewards --partner``)."""

from __future__ import annotations

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "commission_tier": "commission {rate}% (tier {tier}) on {deal}",
        "commission_brackets": "commission ({parts}) on {deal}",
        "commission_nothing": "commission (nothing) on {deal}",
        "bracket_part": "{percent}% on {part}",
        "part_separator": ", ",
        "plan_bonus_fixed": "plan bonus: revenue {revenue} met the plan {plan}",
        "plan_bonus_percent": "plan bonus {rate}% of revenue {revenue} (plan {plan} met)",
        "over_performance": "over-performance {rate}% on {above} above the plan {plan}",
        "mdf": "MDF: {claim}: requested {requested}, approved {approved}, paid {paid}",
        "mdf_capped": (
            "MDF: {claim}: requested {requested}, approved {approved}, paid {paid}"
            " (capped by the remaining budget {left})"
        ),
    },
    "ru": {
        "commission_tier": "комиссия {rate}% (уровень «{tier}») по сделке {deal}",
        "commission_brackets": "комиссия ({parts}) по сделке {deal}",
        "commission_nothing": "комиссия (ничего) по сделке {deal}",
        "bracket_part": "{percent}% с {part}",
        "part_separator": ", ",
        "plan_bonus_fixed": "бонус за план: выручка {revenue}, план {plan} выполнен",
        "plan_bonus_percent": "бонус за план {rate}% от выручки {revenue} (план {plan} выполнен)",
        "over_performance": "сверх плана {rate}% с {above} выше плана {plan}",
        "mdf": "MDF: {claim}: запрошено {requested}, одобрено {approved}, выплачено {paid}",
        "mdf_capped": (
            "MDF: {claim}: запрошено {requested}, одобрено {approved}, выплачено {paid}"
            " (ограничено остатком бюджета {left})"
        ),
    },
}
