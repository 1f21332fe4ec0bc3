"""Every word the sales head reads in the report (HTML and terminal), the rewards and the tiers tables,
in English and Russian (``locale``), and money in readable units ("1,5 млн ₽" rather than "1e6")."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

_EN: dict[str, str] = {
    "title": "Partner sales report",
    "generated": "Generated",
    "dept": "Department KPIs",
    "kpi": "KPI",
    "value": "value",
    "plan": "plan",
    "actual": "actual",
    "pct": "%",
    "target": "target",
    "partners_kpi": "partners (active / new)",
    "leads": "partner leads",
    "leads_qualified": "leads / qualified",
    "qualified_leads": "qualified leads",
    "won_deals": "won deals",
    "certified_people": "certified people (training)",
    "won_repeat": "won deals / repeat",
    "conversion": "lead → won conversion",
    "repeat_share": "repeat share",
    "revenue": "revenue",
    "plan_section": "Plan vs actual",
    "funnel": "Lead funnel conversion",
    "stage": "stage",
    "reached": "reached",
    "of_first": "% of first",
    "of_previous": "% of previous",
    "partners": "Partners",
    "partners_shown": "Partners ({shown} of {total} active)",
    "partner": "partner",
    "type": "type",
    "tier_on": "tier on {date}",
    "tier_change": "change in period",
    "curator": "curator",
    "leads_short": "leads",
    "qualified_short": "qualified",
    "won_short": "won",
    "conversion_short": "conversion",
    "plan_pct": "plan %",
    "board": "Leaderboard",
    "rank": "#",
    "points": "points",
    "tier_changes": "Tier changes in the period",
    "when": "when",
    "from": "from",
    "to": "to",
    "why": "why",
    "revenue_chart": "Revenue by partner (top 15)",
    "funnel_chart": "Leads reaching each stage",
    "plan_chart": "Plan fulfilment, %",
    "notes": "Notes",
    "note_won": (
        "Won: won leads plus won partner deals (repeat deals too) closed in the period. Conversion: the "
        "share of the period's new leads that are won by now, whenever they closed. So a partner can "
        "have won deals and 0 % conversion (deals from earlier leads, or repeat deals), or a conversion "
        "without won deals in the period (its leads were won after the period ended)."
    ),
    "note_tier": (
        "Tier: the partner's tier on the period's last day ({date}), not today's; the change column shows "
        "the period's tier changes (↑ upgrade, ↓ downgrade)."
    ),
    "no_data": "No partners or leads in the state store yet: run `crm-bridge sync` first.",
    "statements": "Reward statements, {period} ({unit})",
    "commission": "commission",
    "plan_bonus": "plan bonus",
    "over_performance": "over-perf.",
    "mdf": "MDF",
    "total": "total",
    "reward": "reward",
    "breakdown": "By line: `crm-bridge rewards --partner ID`, or a terminal of 110 columns or more.",
    "pending": "Pending tier downgrades",
    "id": "id",
    "change": "change",
    "status": "status",
    "since": "since",
    "effective": "takes effect",
    "on_approval": "on approval",
    "grace": "grace period",
    "awaiting_approval": "awaiting approval",
    "history": "Tier history",
    "tier_changes_now": "Tier changes",
    "statement_of": "{name}: statement {period}, tier {tier}, rules from {rules} ({currency})",
    "line": "line",
    "description": "description",
    "base": "base",
    "rate": "rate %",
    "amount": "amount",
    "nothing_to_pay": "No won deals closed in {period} and no MDF claims: nothing to pay.",
}

_RU: dict[str, str] = {
    "title": "Отчёт по партнёрским продажам",
    "generated": "Сформирован",
    "dept": "Показатели отдела",
    "kpi": "показатель",
    "value": "значение",
    "plan": "план",
    "actual": "факт",
    "pct": "%",
    "target": "цель",
    "partners_kpi": "партнёры (активные / новые)",
    "leads": "партнёрские лиды",
    "leads_qualified": "лиды / квалифицированные",
    "qualified_leads": "квалифицированные лиды",
    "won_deals": "выигранные сделки",
    "certified_people": "сертифицированные сотрудники (обучение)",
    "won_repeat": "выигранные сделки / повторные",
    "conversion": "конверсия лид → сделка",
    "repeat_share": "доля повторных сделок",
    "revenue": "выручка",
    "plan_section": "План и факт",
    "funnel": "Конверсия воронки лидов",
    "stage": "этап",
    "reached": "дошло",
    "of_first": "% от первого",
    "of_previous": "% от предыдущего",
    "partners": "Партнёры",
    "partners_shown": "Партнёры ({shown} из {total} активных)",
    "partner": "партнёр",
    "type": "тип",
    "tier_on": "уровень на {date}",
    "tier_change": "изменение за период",
    "curator": "куратор",
    "leads_short": "лиды",
    "qualified_short": "квалиф.",
    "won_short": "выиграно",
    "conversion_short": "конверсия",
    "plan_pct": "план, %",
    "board": "Рейтинг партнёров",
    "rank": "№",
    "points": "баллы",
    "tier_changes": "Изменения уровней за период",
    "when": "когда",
    "from": "было",
    "to": "стало",
    "why": "причина",
    "revenue_chart": "Выручка по партнёрам (топ-15)",
    "funnel_chart": "Сколько лидов дошло до этапа",
    "plan_chart": "Выполнение плана, %",
    "notes": "Примечания",
    "note_won": (
        "Выиграно — выигранные лиды и партнёрские сделки (в том числе повторные), закрытые в периоде. "
        "Конверсия — доля лидов, созданных в периоде, которые к сегодняшнему дню выиграны, когда бы ни "
        "закрылись. Поэтому у партнёра бывают выигранные сделки при конверсии 0 % (сделки по прежним "
        "лидам или повторные) и конверсия без выигранных сделок в периоде (лиды выиграны уже после него)."
    ),
    "note_tier": (
        "Уровень — уровень партнёра в последний день периода ({date}), а не сегодняшний; в столбце "
        "изменений — смены уровня за период (↑ повышение, ↓ понижение)."
    ),
    "no_data": "В хранилище ещё нет партнёров и лидов: сначала выполните `crm-bridge sync`.",
    "statements": "Начисления партнёрам, {period} ({unit})",
    "commission": "комиссия",
    "plan_bonus": "бонус за план",
    "over_performance": "сверх плана",
    "mdf": "MDF",
    "total": "итого",
    "reward": "к выплате",
    "breakdown": "По строкам: `crm-bridge rewards --partner ID` или терминал шириной от 110 символов.",
    "pending": "Ожидающие понижения уровня",
    "id": "№",
    "change": "изменение",
    "status": "статус",
    "since": "с",
    "effective": "вступит в силу",
    "on_approval": "после согласования",
    "grace": "льготный период",
    "awaiting_approval": "ждёт согласования",
    "history": "История уровней",
    "tier_changes_now": "Изменения уровней",
    "statement_of": "{name}: начисления за {period}, уровень {tier}, правила с {rules} ({currency})",
    "line": "строка",
    "description": "описание",
    "base": "база",
    "rate": "ставка, %",
    "amount": "сумма",
    "nothing_to_pay": "В {period} нет закрытых выигранных сделок и заявок MDF: начислять нечего.",
}

_PARTNER_TYPES = {
    "en": {
        "distributor": "distributor",
        "reseller": "reseller",
        "integrator": "integrator",
        "referral": "referral agent",
    },
    "ru": {
        "distributor": "дистрибьютор",
        "reseller": "реселлер",
        "integrator": "интегратор",
        "referral": "реферальный агент",
    },
}
_SIGNS = {"RUB": "₽", "USD": "$", "EUR": "€", "KZT": "₸", "BYN": "Br", "UAH": "₴", "CNY": "¥", "GBP": "£"}
_UNITS = {
    "en": ((Decimal(10) ** 9, "bn"), (Decimal(10) ** 6, "M"), (Decimal(10) ** 3, "k")),
    "ru": ((Decimal(10) ** 9, "млрд"), (Decimal(10) ** 6, "млн"), (Decimal(10) ** 3, "тыс.")),
}


def labels(locale: str) -> dict[str, str]:
    return _RU if locale == "ru" else _EN


def partner_type(value: str | None, locale: str) -> str:
    if not value:
        return "-"
    return _PARTNER_TYPES["ru" if locale == "ru" else "en"].get(value, value)


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
