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
    rewards,
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
    "rewards": rewards.TEXT,
    "tier_metrics": tiers.METRICS,
    "distribution": distribution.TEXT,
    "registration": registration.TEXT,
    "bot": bot.TEXT,
    "events": events.TEXT,
    "lifecycle": lifecycle.TEXT,
    "verbs": verbs.TEXT,
}


def in_locale(table: Mapping[str, Mapping[str, str]], locale: str) -> Mapping[str, str]:
    """The words of a ``{locale: {key: text}}`` table in ``locale`` (English for a locale it does not
    have): the catalogue's sections, and the tables adapters keep of their own lines."""
    return table.get(locale, table["en"])


def words(section: str, locale: str) -> Mapping[str, str]:
    """The words of ``section`` in ``locale`` (English for a locale the catalogue does not have)."""
    return in_locale(CATALOGUE[section], locale)


__all__ = ["CATALOGUE", "LOCALES", "in_locale", "words"]
