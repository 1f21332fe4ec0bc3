"""The words of notifications (Telegram, e-mail, CRM notifications) and of the CRM tasks crm-bridge
creates for managers and curators, and the notification subjects per event."""

from __future__ import annotations

_EN: dict[str, str] = {
    "sync_failed": (
        "Sync with the CRM failed: {error}. crm-bridge retries on schedule; until it succeeds, assignments, "
        "tiers and reports use the data of the last good sync."
    ),
    "new_partner": "New partner in the CRM: {name} (id {id}).",
    "new_partner_no_curator": " It has no curator yet.",
    "lead_assigned": "New partner lead for you: {title}. {reason}",
    "lead_task_fallback_title": "lead {id}",
    "lead_task": (
        "Partner lead from {partner}: {lead}.\n"
        "First touch due by {due} ({zone}), {hours} working hours after assignment.\n"
        "Why you: {reason}"
    ),
    "escalated": "Escalation: partner lead «{lead}» ({manager}) is overdue since {due}.",
    "escalation_task_title": "Overdue partner lead: {lead}",
    "escalation_task": (
        "The partner lead «{lead}» assigned to {manager} is untouched past its SLA "
        "(first touch was due {due}).\nAssigned because: {reason}"
    ),
    "channel_conflict": (
        "Channel conflict: {partner} registered the lead «{customer}», but {owner} registered this customer "
        "first and keeps it. The lead was created flagged for review. {reason}."
    ),
    "registration_expired": (
        "The registration of «{customer}» by {partner} lapsed after {days} days without progress; "
        "the customer is free again."
    ),
    "tier_warning": (
        "Tier warning for {partner}: {reason}. Please tell the partner; a downgrade follows if the figures "
        "do not recover."
    ),
    "tier_pending": (
        "Tier downgrade of {partner} ({old} -> {new}) awaits your approval: crm-bridge tiers approve {id} "
        "(or reject {id}). {reason}"
    ),
    "tier_changed": "Tier change: {partner} {change}. {reason}",
    "tier_task_title": "{partner}: tier {change}",
    "tier_task": "{partner}: tier {change} ({direction}).\n{reason}",
    "tier_up": "upgrade",
    "tier_down": "downgrade",
    "report_ready": "The partner report for {period} is ready: {paths}",
    "portal_invitation": (
        "{partner} is invited to the partner portal: please send this personal sign-in link to the "
        "partner's contact (it works until {until}; do not forward it elsewhere): {link}"
    ),
}

_RU: dict[str, str] = {
    "sync_failed": (
        "Синхронизация с CRM не удалась: {error}. crm-bridge повторит её по расписанию; до успешной "
        "синхронизации назначения, уровни и отчёты опираются на данные последней удачной."
    ),
    "new_partner": "Новый партнёр в CRM: {name} (№ {id}).",
    "new_partner_no_curator": " Куратор ещё не назначен.",
    "lead_assigned": "Вам новый партнёрский лид: {title}. {reason}",
    "lead_task_fallback_title": "лид {id}",
    "lead_task": (
        "Партнёрский лид от {partner}: {lead}.\n"
        "Первый контакт — до {due} ({zone}), через {hours} рабочих часов после назначения.\n"
        "Почему вам: {reason}"
    ),
    "escalated": "Эскалация: партнёрский лид «{lead}» ({manager}) просрочен с {due}.",
    "escalation_task_title": "Просроченный партнёрский лид: {lead}",
    "escalation_task": (
        "Партнёрский лид «{lead}», назначенный на {manager}, не обработан в срок "
        "(первый контакт — до {due}).\nПочему был назначен: {reason}"
    ),
    "channel_conflict": (
        "Конфликт каналов: {partner} зарегистрировал лид «{customer}», но {owner} зарегистрировал этого "
        "клиента раньше и сохраняет его. Лид создан с пометкой для проверки. {reason}."
    ),
    "registration_expired": (
        "Регистрация клиента «{customer}» партнёром {partner} истекла: {days} дн. без движения; "
        "клиент снова свободен."
    ),
    "tier_warning": (
        "Риск понижения уровня у {partner}: {reason}. Предупредите партнёра: если показатели не "
        "восстановятся, уровень будет понижен."
    ),
    "tier_pending": (
        "Понижение уровня {partner} ({old} → {new}) ждёт вашего решения: crm-bridge tiers approve {id} "
        "(или reject {id}). {reason}"
    ),
    "tier_changed": "Смена уровня: {partner} {change}. {reason}",
    "tier_task_title": "{partner}: уровень {change}",
    "tier_task": "{partner}: уровень {change} ({direction}).\n{reason}",
    "tier_up": "повышение",
    "tier_down": "понижение",
    "report_ready": "Отчёт по партнёрам за {period} готов: {paths}",
    "portal_invitation": (
        "{partner} приглашён в партнёрский портал: отправьте, пожалуйста, эту личную ссылку для входа "
        "контактному лицу партнёра (действует до {until}; никому больше не пересылайте): {link}"
    ),
}

TEXT: dict[str, dict[str, str]] = {"en": _EN, "ru": _RU}

_SUBJECTS: dict[str, dict[str, str]] = {
    "new_partner": {"ru": "Новый партнёр", "en": "New partner"},
    "lead_assigned": {"ru": "Новый партнёрский лид", "en": "New partner lead"},
    "lead_escalated": {"ru": "Просроченный партнёрский лид", "en": "Overdue partner lead"},
    "channel_conflict": {"ru": "Конфликт каналов", "en": "Channel conflict"},
    "registration_expired": {"ru": "Регистрация сделки истекла", "en": "Deal registration expired"},
    "tier_changed": {"ru": "Уровень партнёра изменён", "en": "Partner tier changed"},
    "tier_downgrade_warning": {"ru": "Риск понижения уровня", "en": "Tier downgrade warning"},
    "tier_downgrade_pending": {"ru": "Понижение уровня ждёт решения", "en": "Tier downgrade awaits approval"},
    "sync_failed": {"ru": "Ошибка синхронизации", "en": "Sync failed"},
    "report_ready": {"ru": "Отчёт готов", "en": "Report ready"},
    "prospect_scored": {"ru": "Решение по кандидату в партнёры", "en": "Prospective partner scored"},
    "partner_onboarded": {"ru": "Новый партнёр: адаптация", "en": "New partner: onboarding"},
    "plan_reminder": {"ru": "План партнёра отстаёт", "en": "Partner plan behind schedule"},
    "access_changed": {"ru": "Эксклюзивный доступ изменён", "en": "Exclusive access changed"},
}
# event -> subject, per locale
SUBJECTS: dict[str, dict[str, str]] = {
    locale: {event: names[locale] for event, names in _SUBJECTS.items()} for locale in ("en", "ru")
}
