"""The words about real-time CRM events (``events`` section), per locale (``en``, ``ru``): the line
``crm-bridge provision`` prints after subscribing, and each adapter's lines for it and for
``crm-bridge doctor`` (keys prefixed with the CRM's kind)."""

from __future__ import annotations

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "subscribed": "Events: {what}.",
        "set_in_crm": (
            "Events: {crm} subscriptions are set in the CRM (see README, 'Real-time events'); "
            "the receiver is /v1/events/<events.path_token>."
        ),
        "bitrix24_offline_bound": (
            "Bitrix24 offline events ({count} event types; fetched by the event worker)"
        ),
        "bitrix24_polling_stays": (
            "Bitrix24: polling stays the path (an inbound-webhook install without application_token)"
        ),
        "bitrix24_outgoing_setup": (
            "Bitrix24 outgoing webhook: set it up in the portal (Developer resources > Other > Outgoing "
            "webhook) for {events} to the receiver URL, and its token as application_token"
        ),
        "bitrix24_check_failed": "offline events: event.get failed: {error}",
        "bitrix24_check_unbound": "offline events not bound: {events}",
        "bitrix24_check_offline": "offline events (fetched by the event worker; no public URL needed)",
        "bitrix24_check_outgoing": (
            "the portal's outgoing webhook to /v1/events/<events.path_token> (application_token set)"
        ),
        "bitrix24_check_polling": (
            "polling stays the path: an inbound-webhook install needs the portal's outgoing webhook to a "
            "public URL (crm.bitrix24.application_token), or connect as a local application (oauth)"
        ),
        "bitrix24_check_off": "events off (events.enabled): polling on schedule.sync",
        "amocrm_no_public_url": (
            "amoCRM pushes webhooks only: set events.public_url, else polling stays the path"
        ),
        "amocrm_webhook_sent": (
            "amoCRM webhook for {count} event types sent to the receiver (events.public_url)"
        ),
    },
    "ru": {
        "subscribed": "События: {what}.",
        "set_in_crm": (
            "События: подписки {crm} настраиваются в самой CRM (см. README, «Real-time events»); "
            "приёмник — /v1/events/<events.path_token>."
        ),
        "bitrix24_offline_bound": (
            "офлайн-события Битрикс24 (типов событий: {count}; их забирает обработчик событий)"
        ),
        "bitrix24_polling_stays": (
            "Битрикс24: остаётся опрос по расписанию (входящий вебхук без application_token)"
        ),
        "bitrix24_outgoing_setup": (
            "исходящий вебхук Битрикс24: настройте его на портале (Ресурсы разработчика > Другое > "
            "Исходящий вебхук) для {events} на URL приёмника, а его токен укажите как application_token"
        ),
        "bitrix24_check_failed": "офлайн-события: вызов event.get не удался: {error}",
        "bitrix24_check_unbound": "офлайн-события не подключены: {events}",
        "bitrix24_check_offline": "офлайн-события (их забирает обработчик событий; публичный URL не нужен)",
        "bitrix24_check_outgoing": (
            "исходящий вебхук портала на /v1/events/<events.path_token> (application_token задан)"
        ),
        "bitrix24_check_polling": (
            "остаётся опрос: для входящего вебхука нужен исходящий вебхук портала на публичный URL "
            "(crm.bitrix24.application_token) или подключение как локальное приложение (oauth)"
        ),
        "bitrix24_check_off": "события выключены (events.enabled): опрос по schedule.sync",
        "amocrm_no_public_url": (
            "amoCRM только присылает вебхуки: задайте events.public_url, иначе остаётся опрос"
        ),
        "amocrm_webhook_sent": (
            "вебхук amoCRM на {count} типов событий отправлен на приёмник (events.public_url)"
        ),
    },
}
