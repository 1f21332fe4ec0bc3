"""The words this adapter says to people about real-time events, per locale (``en``, ``ru``): what
``crm-bridge provision`` prints after subscribing and what ``crm-bridge doctor`` shows (read with
``crm_bridge.texts.in_locale``)."""

from __future__ import annotations

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "offline_bound": ("Bitrix24 offline events ({count} event types; fetched by the event worker)"),
        "polling_stays": (
            "Bitrix24: polling stays the path (an inbound-webhook install without application_token)"
        ),
        "outgoing_setup": (
            "Bitrix24 outgoing webhook: set it up in the portal (Developer resources > Other "
            "> Outgoing webhook) for {events} to the receiver URL, and its token as "
            "application_token"
        ),
        "check_failed": "offline events: event.get failed: {error}",
        "check_unbound": "offline events not bound: {events}",
        "check_offline": "offline events (fetched by the event worker; no public URL needed)",
        "check_outgoing": (
            "the portal's outgoing webhook to /v1/events/<events.path_token> (application_token set)"
        ),
        "check_polling": (
            "polling stays the path: an inbound-webhook install needs the portal's outgoing "
            "webhook to a public URL (crm.bitrix24.application_token), or connect as a local "
            "application (oauth)"
        ),
        "check_off": "events off (events.enabled): polling on schedule.sync",
    },
    "ru": {
        "offline_bound": (
            "офлайн-события Битрикс24 (типов событий: {count}; их забирает обработчик событий)"
        ),
        "polling_stays": ("Битрикс24: остаётся опрос по расписанию (входящий вебхук без application_token)"),
        "outgoing_setup": (
            "исходящий вебхук Битрикс24: настройте его на портале (Ресурсы разработчика > "
            "Другое > Исходящий вебхук) для {events} на URL приёмника, а его токен укажите "
            "как application_token"
        ),
        "check_failed": "офлайн-события: вызов event.get не удался: {error}",
        "check_unbound": "офлайн-события не подключены: {events}",
        "check_offline": ("офлайн-события (их забирает обработчик событий; публичный URL не нужен)"),
        "check_outgoing": (
            "исходящий вебхук портала на /v1/events/<events.path_token> (application_token задан)"
        ),
        "check_polling": (
            "остаётся опрос: для входящего вебхука нужен исходящий вебхук портала на "
            "публичный URL (crm.bitrix24.application_token) или подключение как локальное "
            "приложение (oauth)"
        ),
        "check_off": "события выключены (events.enabled): опрос по schedule.sync",
    },
}
