"""How the report (HTML and terminal), the rewards and the tiers tables write what they show: their
words from the catalogue (``crm_bridge.texts``, section ``report``), numbers and dates by ``locale``,
and money in readable units ("1,5 млн ₽" rather than "1e6")."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from crm_bridge.texts import words

_SIGNS = {"RUB": "₽", "USD": "$", "EUR": "€", "KZT": "₸", "BYN": "Br", "UAH": "₴", "CNY": "¥", "GBP": "£"}
_UNITS = {
    "en": ((Decimal(10) ** 9, "bn"), (Decimal(10) ** 6, "M"), (Decimal(10) ** 3, "k")),
    "ru": ((Decimal(10) ** 9, "млрд"), (Decimal(10) ** 6, "млн"), (Decimal(10) ** 3, "тыс.")),
}


def labels(locale: str) -> Mapping[str, str]:
    """The report's words in ``locale``."""
    return words("report", locale)


def partner_type(value: str | None, locale: str) -> str:
    if not value:
        return "-"
    return words("partner_types", locale).get(value, value)


def currency_sign(currency: str) -> str:
    return _SIGNS.get(currency.upper(), currency)


def money_unit(largest: Decimal | float, currency: str, locale: str) -> tuple[Decimal, str]:
    """The divisor and its label for money up to ``largest``: ``(10**6, "млн ₽")``; whole units (1, "₽")
    below ten thousand."""
    sign = currency_sign(currency)
    value = Decimal(str(largest))
    for divisor, name in _UNITS["ru" if locale == "ru" else "en"]:
        if value >= divisor * 10:
            return divisor, f"{name} {sign}"
    return Decimal(1), sign


def number(value: Decimal | float | int | None, locale: str, places: int = 0, group: str = " ") -> str:
    """``1 234 567`` (``group`` between thousands: a space on the terminal, a narrow no-break space in
    HTML); the decimal mark is ``,`` in Russian."""
    if value is None:
        return "-"
    text = f"{Decimal(str(value)):,.{places}f}".replace(",", "\x00")
    text = text.replace(".", ",") if locale == "ru" else text
    return text.replace("\x00", group)


def in_unit(value: Decimal | None, divisor: Decimal, locale: str) -> str:
    """``value`` in the unit of ``divisor``: one decimal place for millions and up, none otherwise."""
    if value is None:
        return "-"
    return number(value / divisor, locale, 1 if divisor >= 10**6 else 0)


def day(moment: date | datetime, locale: str) -> str:
    return f"{moment:%d.%m.%Y}" if locale == "ru" else f"{moment:%Y-%m-%d}"


def tier_words(period_end: datetime, now: datetime, timezone: str, locale: str) -> tuple[str, str]:
    """The tier column's heading and its footnote: the tier on the period's last day for a period that
    has ended, today's tier (and "the period has not ended yet") for one still running at ``now``."""
    t, tz = labels(locale), ZoneInfo(timezone)
    if now < period_end:
        today = day(now.astimezone(tz), locale)
        return t["tier_today"].format(date=today), t["note_tier_open"].format(date=today)
    last = day((period_end - timedelta(seconds=1)).astimezone(tz), locale)
    return t["tier_on"].format(date=last), t["note_tier"].format(date=last)
