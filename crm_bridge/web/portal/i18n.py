# ruff: noqa: E501  (tables of sentences: one line each reads better than split strings)
"""The portal's and the dashboard's words in Russian and English, and which language a request gets:
the ``lang`` cookie (set by the page's switch), else the browser's Accept-Language, else the config's
locale."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

LANGS = ("ru", "en")

_EN: dict[str, str] = {
    "portal": "Partner portal",
    "dashboard": "Partner sales dashboard",
    "overview": "Overview",
    "leads": "My leads",
    "register": "Register a lead",
    "tier": "Tier",
    "rewards": "Rewards",
    "leaderboard": "Leaderboard",
    "sign_out": "Sign out",
    "sign_in": "Sign in",
    "signin_title": "Sign in to the partner portal",
    "signin_hint": "Open the personal link your partner manager sent you, or paste the key from it.",
    "key": "Personal key",
    "signin_bad": "This key is not valid: it may be mistyped, expired or revoked. Ask your partner manager for a new link.",
    "signin_throttled": "Too many attempts. Try again in {minutes} min.",
    "admin_signin_title": "Head of partner sales: sign in",
    "admin_signin_hint": "Enter the dashboard secret (CRM_BRIDGE_ADMIN_TOKEN of the server).",
    "admin_disabled": "The dashboard is switched off: the server has no CRM_BRIDGE_ADMIN_TOKEN.",
    "admin_token": "Secret",
    "admin_bad": "Wrong secret.",
    "welcome": "Welcome, {name}",
    "this_month": "This month",
    "leads_count": "Leads",
    "qualified": "Qualified",
    "won": "Won deals",
    "revenue": "Revenue",
    "conversion": "Conversion",
    "average_deal": "Average deal",
    "plan": "Plan",
    "plan_for": "Your plan for {period}",
    "no_plan": "No plan is set for this month.",
    "of_plan": "of plan",
    "training": "Training",
    "training_done": "Completed",
    "training_not_done": "Not completed yet",
    "training_note": "As recorded in the CRM's “Training completed” field of your company card.",
    "current_tier": "Your tier",
    "next_tier": "To reach {tier}",
    "top_tier": "You are at the highest tier. Keep it up!",
    "keep_tier": "To keep {tier}",
    "window": "Counted over the last {days} days.",
    "missing": "{value} to go",
    "met": "Met",
    "downgrade_grace": "Your figures are below {tier}: without recovery the tier changes to {to} on {date}.",
    "downgrade_waiting": "A change of tier to {to} is being reviewed.",
    "metric_revenue": "Revenue",
    "metric_won_deals": "Won deals",
    "metric_leads": "Leads",
    "metric_qualified_leads": "Qualified leads",
    "metric_conversion": "Conversion, %",
    "metric_new_partners": "New partners",
    "metric_repeat_share": "Repeat deals share, %",
    "customer": "Customer",
    "stage": "Stage",
    "registered": "Registered",
    "amount": "Amount",
    "no_leads": "No leads yet. Register your first one!",
    "state_waiting": "Sent to the CRM",
    "state_refused": "Refused by the CRM",
    "state_won": "Won",
    "state_lost": "Lost",
    "conflict": "Channel conflict",
    "conflict_text": "This customer was registered by another partner first; the lead is flagged for review.",
    "register_hint": "Deal registration: the first partner to register a customer keeps it for the protection period.",
    "customer_name": "Company or customer name",
    "email": "E-mail",
    "phone": "Phone",
    "tax_id": "Tax ID (INN)",
    "comment": "Comment",
    "identity_hint": "Give at least one of e-mail, phone or tax ID: they identify the customer.",
    "submit": "Register the lead",
    "registered_ok": "The lead “{name}” is registered and created in the CRM.",
    "registered_existing": "This lead was already registered.",
    "registered_conflict": "Registered, but this customer already belongs to another partner's registration: the lead is flagged for review by your partner manager.",
    "registered_error": "Please correct the fields marked below.",
    "unavailable": "The CRM is not reachable right now; your lead is kept. Please try again in a minute.",
    "refused": "The CRM refused the lead: {error}",
    "statement": "Reward statement",
    "period": "Period",
    "show": "Show",
    "line": "Line",
    "base": "Base",
    "rate": "Rate",
    "total": "Total",
    "no_statement": "Nothing earned in this period.",
    "plan_met": "Plan met",
    "plan_not_met": "Plan not met",
    "tier_of_period": "Tier for the period",
    "kind_commission": "Commission",
    "kind_plan_bonus": "Plan bonus",
    "kind_over_performance": "Over-performance",
    "kind_mdf": "Marketing funds (MDF)",
    "rank": "Rank",
    "partner": "Partner",
    "points": "Points",
    "you": "You",
    "partner_n": "Partner #{rank}",
    "lead": "Lead",
    "back": "Back to my leads",
    "not_found": "Not found",
    "not_found_text": "There is nothing here, or it is not yours to see.",
    "forbidden": "The form has expired",
    "forbidden_text": "Reload the page and send it again.",
    "kpis": "Department KPIs",
    "actual": "Actual",
    "fulfilment": "Done",
    "no_dept_plan": "No department plan for {period} (config: goals.department).",
    "partners": "Partners",
    "active_partners": "Active partners",
    "new_partners": "New partners",
    "repeat_share": "Repeat share",
    "funnels": "Funnels",
    "scope_period": "records created in the period",
    "scope_now": "every card, where it is now",
    "funnel_empty": "No records of this funnel in crm-bridge's store for this view (the sync replicates partners, partner leads and partner deals; partners count here once the CRM gives them an acquisition stage).",
    "reached": "reached",
    "of_first": "of first",
    "approvals": "Tier changes waiting for your decision",
    "no_approvals": "Nothing waits for your decision.",
    "grace": "Downgrades in their grace period",
    "change": "Change",
    "and_more": "and {n} more",
    "reason": "Why",
    "since": "Since",
    "effective": "Effective",
    "approve": "Approve",
    "reject": "Reject",
    "approved": "Approved: {partner} {old} → {new}.",
    "rejected": "Rejected: {partner} keeps {tier}.",
    "jobs": "Last job runs",
    "job": "Job",
    "runs": "Runs",
    "failures": "Failures",
    "last_success": "Last success",
    "last_error": "Last error",
    "no_jobs": "No job has run in this process yet (jobs run in `crm-bridge run`).",
    "never": "never",
    "ok": "OK",
    "generated": "Data as of {when}",
    "lang_switch": "Язык: RU",
}

_RU: dict[str, str] = {
    "portal": "Портал партнёра",
    "dashboard": "Панель руководителя ОПП",
    "overview": "Обзор",
    "leads": "Мои лиды",
    "register": "Зарегистрировать лид",
    "tier": "Уровень",
    "rewards": "Вознаграждение",
    "leaderboard": "Рейтинг",
    "sign_out": "Выйти",
    "sign_in": "Войти",
    "signin_title": "Вход в портал партнёра",
    "signin_hint": "Откройте персональную ссылку от вашего партнёрского менеджера или вставьте ключ из неё.",
    "key": "Персональный ключ",
    "signin_bad": "Ключ не подходит: он введён с ошибкой, истёк или отозван. Попросите у менеджера новую ссылку.",
    "signin_throttled": "Слишком много попыток. Повторите через {minutes} мин.",
    "admin_signin_title": "Руководитель ОПП: вход",
    "admin_signin_hint": "Введите секрет панели (CRM_BRIDGE_ADMIN_TOKEN на сервере).",
    "admin_disabled": "Панель выключена: на сервере не задан CRM_BRIDGE_ADMIN_TOKEN.",
    "admin_token": "Секрет",
    "admin_bad": "Неверный секрет.",
    "welcome": "Здравствуйте, {name}",
    "this_month": "Этот месяц",
    "leads_count": "Лиды",
    "qualified": "Квалифицировано",
    "won": "Выигранные сделки",
    "revenue": "Выручка",
    "conversion": "Конверсия",
    "average_deal": "Средняя сделка",
    "plan": "План",
    "plan_for": "Ваш план на {period}",
    "no_plan": "План на этот месяц не задан.",
    "of_plan": "от плана",
    "training": "Обучение",
    "training_done": "Пройдено",
    "training_not_done": "Ещё не пройдено",
    "training_note": "По полю «Обучение пройдено» в карточке вашей компании в CRM.",
    "current_tier": "Ваш уровень",
    "next_tier": "До уровня «{tier}»",
    "top_tier": "У вас высший уровень. Так держать!",
    "keep_tier": "Чтобы сохранить «{tier}»",
    "window": "Считается за последние {days} дней.",
    "missing": "осталось {value}",
    "met": "Выполнено",
    "downgrade_grace": "Показатели ниже уровня «{tier}»: если они не восстановятся, {date} уровень сменится на «{to}».",
    "downgrade_waiting": "Смена уровня на «{to}» на рассмотрении.",
    "metric_revenue": "Выручка",
    "metric_won_deals": "Выигранные сделки",
    "metric_leads": "Лиды",
    "metric_qualified_leads": "Квалифицированные лиды",
    "metric_conversion": "Конверсия, %",
    "metric_new_partners": "Новые партнёры",
    "metric_repeat_share": "Доля повторных сделок, %",
    "customer": "Клиент",
    "stage": "Этап",
    "registered": "Зарегистрирован",
    "amount": "Сумма",
    "no_leads": "Лидов пока нет. Зарегистрируйте первый!",
    "state_waiting": "Передан в CRM",
    "state_refused": "CRM отклонила",
    "state_won": "Успешно",
    "state_lost": "Проигран",
    "conflict": "Конфликт каналов",
    "conflict_text": "Этого клиента раньше зарегистрировал другой партнёр; лид помечен для проверки.",
    "register_hint": "Регистрация сделки: клиент закрепляется за партнёром, зарегистрировавшим его первым, на период защиты.",
    "customer_name": "Компания или имя клиента",
    "email": "E-mail",
    "phone": "Телефон",
    "tax_id": "ИНН",
    "comment": "Комментарий",
    "identity_hint": "Укажите хотя бы одно: e-mail, телефон или ИНН — по ним узнаётся клиент.",
    "submit": "Зарегистрировать лид",
    "registered_ok": "Лид «{name}» зарегистрирован и создан в CRM.",
    "registered_existing": "Этот лид уже был зарегистрирован.",
    "registered_conflict": "Лид зарегистрирован, но этот клиент уже закреплён за другим партнёром: лид помечен для проверки вашим менеджером.",
    "registered_error": "Исправьте отмеченные поля.",
    "unavailable": "CRM сейчас недоступна; лид сохранён. Повторите через минуту.",
    "refused": "CRM отклонила лид: {error}",
    "statement": "Расчёт вознаграждения",
    "period": "Период",
    "show": "Показать",
    "line": "Строка",
    "base": "База",
    "rate": "Ставка",
    "total": "Итого",
    "no_statement": "За этот период начислений нет.",
    "plan_met": "План выполнен",
    "plan_not_met": "План не выполнен",
    "tier_of_period": "Уровень в периоде",
    "kind_commission": "Комиссия",
    "kind_plan_bonus": "Бонус за план",
    "kind_over_performance": "Сверх плана",
    "kind_mdf": "Маркетинговые фонды (MDF)",
    "rank": "Место",
    "partner": "Партнёр",
    "points": "Баллы",
    "you": "Вы",
    "partner_n": "Партнёр №{rank}",
    "lead": "Лид",
    "back": "К моим лидам",
    "not_found": "Не найдено",
    "not_found_text": "Здесь ничего нет — или это не ваше.",
    "forbidden": "Форма устарела",
    "forbidden_text": "Обновите страницу и отправьте снова.",
    "kpis": "KPI отдела",
    "actual": "Факт",
    "fulfilment": "Выполнение",
    "no_dept_plan": "План отдела на {period} не задан (конфиг: goals.department).",
    "partners": "Партнёры",
    "active_partners": "Активные партнёры",
    "new_partners": "Новые партнёры",
    "repeat_share": "Доля повторных",
    "funnels": "Воронки",
    "scope_period": "записи, созданные в периоде",
    "scope_now": "все карточки, где они сейчас",
    "funnel_empty": "В хранилище crm-bridge нет записей этой воронки для этого вида (синхронизация переносит партнёров, партнёрские лиды и сделки; партнёр попадает сюда, когда в CRM у него есть этап привлечения).",
    "reached": "дошли",
    "of_first": "от первого",
    "approvals": "Смены уровня, ждущие вашего решения",
    "no_approvals": "Решений не ждёт ничего.",
    "grace": "Понижения в льготном периоде",
    "change": "Изменение",
    "and_more": "и ещё {n}",
    "reason": "Почему",
    "since": "С",
    "effective": "Вступит",
    "approve": "Утвердить",
    "reject": "Отклонить",
    "approved": "Утверждено: {partner} {old} → {new}.",
    "rejected": "Отклонено: {partner} остаётся «{tier}».",
    "jobs": "Последние запуски задач",
    "job": "Задача",
    "runs": "Запусков",
    "failures": "Ошибок",
    "last_success": "Последний успех",
    "last_error": "Последняя ошибка",
    "no_jobs": "В этом процессе задачи ещё не запускались (их запускает `crm-bridge run`).",
    "never": "никогда",
    "ok": "OK",
    "generated": "Данные на {when}",
    "lang_switch": "Language: EN",
}

_MONTHS_RU = (
    "январь", "февраль", "март", "апрель", "май", "июнь",
    "июль", "август", "сентябрь", "октябрь", "ноябрь", "декабрь",
)  # fmt: skip


def words(lang: str) -> dict[str, str]:
    return _RU if lang == "ru" else _EN


def pick_language(cookie: str | None, accept_language: str | None, default: str) -> str:
    """``cookie`` (the switch) wins, then the first supported language of Accept-Language by its
    q-value, then ``default`` (the config's locale)."""
    if cookie in LANGS:
        return str(cookie)
    best: tuple[float, str] | None = None
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        lang = tag.strip().lower().split("-")[0]
        if lang not in LANGS:
            continue
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if best is None or q > best[0]:
            best = (q, lang)
    if best is not None and best[0] > 0:
        return best[1]
    return default if default in LANGS else "en"


def money(value: Decimal | int | None, currency: str, lang: str) -> str:
    """``1 234 567 ₽`` / ``RUB 1,234,567``; kopecks only when there are any."""
    if value is None:
        return "—"
    amount = Decimal(value)
    places = 0 if amount == amount.to_integral_value() else 2
    text = f"{amount:,.{places}f}"
    symbol = {"RUB": "₽", "USD": "$", "EUR": "€"}.get(currency, currency)
    if lang == "ru":
        return text.replace(",", "\u202f").replace(".", ",") + f"\u00a0{symbol}"
    return f"{symbol}\u00a0{text}" if symbol in ("$", "€") else f"{text}\u00a0{symbol}"


def number(value: Decimal | int | None, lang: str) -> str:
    if value is None:
        return "—"
    amount = Decimal(value)
    places = 0 if amount == amount.to_integral_value() else 1
    text = f"{amount:,.{places}f}"
    return text.replace(",", "\u202f").replace(".", ",") if lang == "ru" else text


def percent(value: Decimal | None, lang: str) -> str:
    return "—" if value is None else number(Decimal(value).quantize(Decimal("0.1")), lang) + "\u00a0%"


def day(moment: date | datetime | None, lang: str) -> str:
    if moment is None:
        return "—"
    return f"{moment:%d.%m.%Y}" if lang == "ru" else f"{moment:%d %b %Y}"


def when(moment: datetime | None, lang: str) -> str:
    if moment is None:
        return "—"
    return f"{moment:%d.%m.%Y %H:%M}" if lang == "ru" else f"{moment:%d %b %Y, %H:%M}"


def period_name(key: str, lang: str) -> str:
    """``2026-11`` -> ``ноябрь 2026`` / ``November 2026``; other keys as they are."""
    year, _, month = key.partition("-")
    if month.isdigit() and 1 <= int(month) <= 12 and year.isdigit():
        if lang == "ru":
            return f"{_MONTHS_RU[int(month) - 1]} {year}"
        return f"{date(int(year), int(month), 1):%B %Y}"
    return key
