"""The config file ``crm-bridge demo`` writes and runs with."""

from __future__ import annotations

from typing import Any

from crm_bridge.demo_network import CURATORS, HEAD, MANAGERS


def demo_config(state_url: str, kind: str, crm_section: dict[str, Any]) -> dict[str, Any]:
    """The demo's config file (YAML data): the CRM sandbox's ``crm.<kind>`` section (from the adapter's
    ``DemoSupport``), the demo network's people, territory distribution, tier thresholds sized to the
    demo's data, rewards, goals."""
    return {
        "locale": "ru",
        "timezone": "Europe/Moscow",
        "crm": {"kind": kind, kind: crm_section},
        "state": {"url": state_url, "portal": f"{kind}:demo"},
        "logging": {"level": "WARNING"},
        "head": {k: v for k, v in HEAD.items() if k != "key"},
        "managers": [{**m, "capacity": 600} for m in MANAGERS],
        "curators": [
            {**c, "regions": regions}
            for c, regions in zip(CURATORS, (["MSK", "SPB"], ["URAL", "SIB"], ["VOLGA"]), strict=True)
        ],
        "selection": {"pass_mark": 65, "min_each": 2},
        "onboarding": {"curator_rule": "region"},
        "access": {
            "tiers": {
                "silver": {"materials": ["Комплект продавца"], "events": ["Вебинары для партнёров"]},
                "gold": {"products": ["Корпоративная редакция"], "regions": ["Тендеры федерального уровня"]},
                "platinum": {"events": ["Партнёрская конференция"], "materials": ["Дорожная карта продукта"]},
            }
        },
        "distribution": {"strategy": "weighted", "fallback": "least_loaded", "sla_hours": 4},
        "tiers": {
            "window_days": 180,
            "hysteresis": {"margin_percent": 10, "consecutive": 2, "mode": "either"},
            "downgrade_grace_days": 14,
            "approval_required": False,
            "levels": [
                {"key": "bronze", "name": {"ru": "Бронзовый", "en": "Bronze"}},
                {
                    "key": "silver",
                    "name": {"ru": "Серебряный", "en": "Silver"},
                    "min_revenue": 1_500_000,
                    "min_won_deals": 4,
                },
                {
                    "key": "gold",
                    "name": {"ru": "Золотой", "en": "Gold"},
                    "min_revenue": 4_000_000,
                    "min_won_deals": 10,
                },
                {
                    "key": "platinum",
                    "name": {"ru": "Платиновый", "en": "Platinum"},
                    "min_revenue": 10_000_000,
                    "min_won_deals": 20,
                    "min_leads": 60,
                },
            ],
        },
        "rewards": {
            "currency": "RUB",
            "rule_sets": [
                {
                    "effective_from": "2025-01-01",
                    "commission": {"by_tier": {"bronze": 5, "silver": 7, "gold": 10, "platinum": 12}},
                    "plan_bonus": {"fixed": 50000},
                    "over_performance_percent": 3,
                    "points": {"per_won_deal": 10, "per_lead": 1, "revenue_unit": 100000},
                }
            ],
            "mdf": {
                "period": "quarter",
                "budget_by_tier": {"silver": 100000, "gold": 300000, "platinum": 750000},
            },
        },
        "goals": {
            "by_tier": {
                "period": "month",
                "targets": {
                    "bronze": {"revenue": 100000, "leads": 2},
                    "silver": {"revenue": 400000, "leads": 5},
                    "gold": {"revenue": 900000, "leads": 9},
                    "platinum": {"revenue": 2000000, "leads": 15},
                },
            }
        },
        "notifications": {"channels": {"crm": {"enabled": True, "mode": "notification"}}, "default": ["crm"]},
        "reports": {"out_dir": "reports", "formats": ["html", "csv"]},
    }
