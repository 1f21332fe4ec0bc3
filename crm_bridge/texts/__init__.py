"""The one catalogue of every word crm-bridge shows people — the sales head, managers, curators — in
English and Russian (the config's ``locale``): report and tables, console summaries, notifications and
CRM task texts, tier reasons, distribution reasons. Code asks for a section's words in a locale
(``words("console", "ru")["cycle_title"]``) instead of testing the locale itself.

Pure data: this package imports nothing else from crm_bridge, so every layer (the domain too) may use it.
Each section module holds ``TEXT = {"en": {...}, "ru": {...}}`` with the same keys and placeholders in
both (``tests/services/test_texts_catalogue.py``)."""

from __future__ import annotations

from collections.abc import Mapping

from crm_bridge.texts import (
    bot,
    console,
    distribution,
    events,
    lifecycle,
    notify,
    registration,
    report,
    tiers,
    verbs,
)

LOCALES: tuple[str, ...] = ("en", "ru")

CATALOGUE: dict[str, dict[str, dict[str, str]]] = {
    "report": report.TEXT,
    "partner_types": report.PARTNER_TYPES,
    "console": console.TEXT,
    "notify": notify.TEXT,
    "subjects": notify.SUBJECTS,
    "tiers": tiers.TEXT,
    "tier_metrics": tiers.METRICS,
    "distribution": distribution.TEXT,
    "registration": registration.TEXT,
    "bot": bot.TEXT,
    "events": events.TEXT,
    "lifecycle": lifecycle.TEXT,
    "verbs": verbs.TEXT,
}


def words(section: str, locale: str) -> Mapping[str, str]:
    """The words of ``section`` in ``locale`` (English for a locale the catalogue does not have)."""
    table = CATALOGUE[section]
    return table.get(locale, table["en"])


__all__ = ["CATALOGUE", "LOCALES", "words"]
