"""The words of the tier policy's reasons (why a partner moved, or is warned), per locale (``en``,
``ru``). ``{placeholders}`` are filled by ``crm_bridge.domain.tiers``; the metric names thresholds use."""

from __future__ import annotations

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "met": "{metric} {actual} >= {minimum}",
        "meets": "meets {tier}: {parts}",
        "none": "no thresholds",
        "miss": "{metric} {actual} < {minimum} ({gap}% below)",
        "below": "below {tier}: {parts}",
        "unknown": " (tier {tier!r} is not in the policy)",
        "count": "; below for {count} evaluation(s) ({rule})",
        "runs": "{n} evaluations in a row",
        "margin": "more than {m}% below",
        "either": "drops after {runs} or when {margin}",
        "both": "drops after {runs} {margin}",
        "only_margin": "drops when {margin}",
        "only_runs": "drops after {runs}",
        "now": "; now {tier}",
        "due": "; downgrade at {due} UTC unless it recovers",
    },
    "ru": {
        "met": "{metric} {actual} ≥ {minimum}",
        "meets": "условия уровня «{tier}» выполнены: {parts}",
        "none": "порогов нет",
        "miss": "{metric} {actual} < {minimum} (на {gap}% ниже)",
        "below": "ниже уровня «{tier}»: {parts}",
        "unknown": " (уровня {tier!r} нет в политике)",
        "count": "; ниже порога оценок подряд: {count} ({rule})",
        "runs": "{n} оценок подряд",
        "margin": "более чем на {m}% ниже",
        "either": "понижение после {runs} или когда {margin}",
        "both": "понижение после {runs}, если {margin}",
        "only_margin": "понижение, когда {margin}",
        "only_runs": "понижение после {runs}",
        "now": "; теперь «{tier}»",
        "due": "; понижение {due} UTC, если показатели не восстановятся",
    },
}
_METRICS_RU: dict[str, str] = {
    "revenue": "выручка",
    "won_deals": "выигранные сделки",
    "leads": "лиды",
    "qualified_leads": "квалифицированные лиды",
    "conversion": "конверсия, %",
    "certified_people": "сертифицированные сотрудники",
}
_METRICS_EN: dict[str, str] = {
    "revenue": "revenue",
    "won_deals": "won deals",
    "leads": "leads",
    "qualified_leads": "qualified leads",
    "conversion": "conversion %",
    "certified_people": "certified people",
}
METRICS: dict[str, dict[str, str]] = {"en": _METRICS_EN, "ru": _METRICS_RU}
