"""The words of a distribution decision's reason (why this manager), as the CRM task and the demo
show it; ``{placeholders}`` are filled by ``crm_bridge.domain.distribution``."""

from __future__ import annotations

_EN: dict[str, str] = {
    "inactive": "inactive",
    "at_capacity": "at capacity ({load}/{capacity} open leads)",
    "region": "region {value!r}",
    "specialisation": "specialisation {value!r}",
    "and": " and ",
    "sticky_kept": "kept with partner {partner}'s manager",
    "sticky_unavailable": "partner {partner}'s manager {manager} unavailable; ",
    "rule_unavailable": "rule {rule} matched but none of its managers is available; ",
    "territory_full": "territory: managers for {what} are all at capacity, using {fallback}; ",
    "territory_matched": "territory: matched {what}",
    "territory_none": "territory: no manager covers the lead's region or specialisation; ",
    "skipped": "{manager} skipped: {why}",
    "nobody": "no eligible manager for lead {lead}: ",
    "no_managers": "no managers configured",
    "assigned": "lead {lead} assigned to {name} ({key}) by {strategy}",
    "rule": "rule {rule}",
    "open_leads": "open leads {count}",
    "of_capacity": "/{capacity}",
    "strategy_round_robin": "round_robin",
    "strategy_weighted": "weighted",
    "strategy_least_loaded": "least_loaded",
    "strategy_territory": "territory",
    "strategy_sticky": "sticky",
}

_RU: dict[str, str] = {
    "inactive": "неактивен",
    "at_capacity": "загружен полностью ({load}/{capacity} открытых лидов)",
    "region": "регион «{value}»",
    "specialisation": "специализация «{value}»",
    "and": " и ",
    "sticky_kept": "оставлен за менеджером партнёра {partner}",
    "sticky_unavailable": "менеджер партнёра {partner} ({manager}) недоступен; ",
    "rule_unavailable": "правило {rule} подошло, но все его менеджеры недоступны; ",
    "territory_full": "территория: все менеджеры ({what}) загружены полностью, выбор — {fallback}; ",
    "territory_matched": "территория: совпадение — {what}",
    "territory_none": "территория: ни один менеджер не ведёт регион или специализацию лида; ",
    "skipped": "{manager} пропущен: {why}",
    "nobody": "для лида {lead} нет подходящего менеджера: ",
    "no_managers": "менеджеры не настроены",
    "assigned": "лид {lead} назначен: {name} ({key}), способ — {strategy}",
    "rule": "правило {rule}",
    "open_leads": "открытых лидов {count}",
    "of_capacity": " из {capacity}",
    "strategy_round_robin": "по очереди",
    "strategy_weighted": "по весам",
    "strategy_least_loaded": "наименее загруженному",
    "strategy_territory": "по территории",
    "strategy_sticky": "закреплённый менеджер",
}

TEXT: dict[str, dict[str, str]] = {"en": _EN, "ru": _RU}
